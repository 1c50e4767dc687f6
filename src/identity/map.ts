// The address → identity map the identify link reads on every query. The
// sources write records here off the query path; each write re-merges that
// one address (merge.ts) into a frozen ClientIdentity, so a lookup is one Map
// get of the address string the DNS server already has. IPv6 prefixes
// (RADIUS Framed-IPv6-Prefix) are kept apart and only tried, after an exact
// miss, when any exist; IPv4-mapped IPv6 (a dual-stack listener's "::ffff:a.b.c.d")
// is tried as IPv4. Expiry is swept by a timer, not checked per query.
import ipaddr from 'ipaddr.js';
import { mergeIdentity, type MergeContext, type RecordSet } from './merge.js';
import type { ClientIdentity, SourceName, SourceRecord } from './types.js';

const MEMO_LIMIT = 65_536;

export class IdentityMap {
  /** Every source's record, by address (or prefix/len). */
  private readonly records = new Map<string, RecordSet>();
  /** Merged identities of plain addresses: what lookup() reads. */
  private readonly exact = new Map<string, ClientIdentity>();
  /** Merged identities of IPv6 prefixes, by prefix length, then by the masked prefix's text. */
  private readonly prefixes = new Map<number, Map<string, ClientIdentity>>();
  private prefixCount = 0;
  /** Prefix-match results per address (undefined cached as null), cleared when a prefix changes. */
  private prefixMemo = new Map<string, ClientIdentity | null>();
  private nextExpiry = Infinity;

  constructor(private readonly ctx: MergeContext) {}

  /** Who and what is at an address now. The query path's only call: memory only. */
  lookup(address: string): ClientIdentity | undefined {
    const hit = this.exact.get(address);
    if (hit !== undefined) return hit;
    if (address.charCodeAt(0) === 58 /* ':' */ && address.startsWith('::ffff:') && address.includes('.'))
      return this.exact.get(address.slice(7));
    if (this.prefixCount === 0 || !address.includes(':')) return undefined;
    return this.prefixLookup(address);
  }

  private prefixLookup(address: string): ClientIdentity | undefined {
    const memo = this.prefixMemo.get(address);
    if (memo !== undefined) return memo ?? undefined;
    let found: ClientIdentity | undefined;
    try {
      const ip = ipaddr.IPv6.parse(address.replace(/%.*$/, ''));
      // Longest prefix first.
      for (const len of [...this.prefixes.keys()].sort((a, b) => b - a)) {
        found = this.prefixes.get(len)!.get(maskedKey(ip, len));
        if (found) break;
      }
    } catch {
      found = undefined;
    }
    if (this.prefixMemo.size >= MEMO_LIMIT) this.prefixMemo.clear();
    this.prefixMemo.set(address, found ?? null);
    return found;
  }

  /** Set (or replace) one source's record for its address. */
  set(record: SourceRecord): void {
    let set = this.records.get(record.address);
    if (!set) this.records.set(record.address, (set = {}));
    set[record.source] = record;
    if (record.expiresAt < this.nextExpiry) this.nextExpiry = record.expiresAt;
    this.remerge(record.address);
  }

  /** Forget one source's record for an address; returns it. */
  delete(source: SourceName, address: string): SourceRecord | undefined {
    const set = this.records.get(address);
    const had = set?.[source];
    if (!set || !had) return undefined;
    delete set[source];
    if (Object.keys(set).length === 0) this.records.delete(address);
    this.remerge(address);
    return had;
  }

  get(source: SourceName, address: string): SourceRecord | undefined {
    return this.records.get(address)?.[source];
  }

  /** Every record of one source (a lease file's diff, persistence). */
  *all(source?: SourceName): Generator<SourceRecord> {
    for (const set of this.records.values()) {
      for (const r of Object.values(set)) if (r && (source === undefined || r.source === source)) yield r;
    }
  }

  /** Remove records whose time is over; returns them (so their stored rows go too). */
  sweep(now: number): SourceRecord[] {
    if (now < this.nextExpiry) return [];
    const expired: SourceRecord[] = [];
    let next = Infinity;
    for (const set of this.records.values()) {
      for (const r of Object.values(set)) {
        if (!r) continue;
        if (r.expiresAt <= now) expired.push(r);
        else if (r.expiresAt < next) next = r.expiresAt;
      }
    }
    for (const r of expired) this.delete(r.source, r.address);
    this.nextExpiry = next;
    return expired;
  }

  /** Re-merge every address (the roster, the devices list or the group mapping changed). */
  remergeAll(): void {
    for (const address of this.records.keys()) this.remerge(address);
  }

  /** Addresses and prefixes with at least one record. */
  get size(): number {
    return this.records.size;
  }

  clear(): void {
    this.records.clear();
    this.exact.clear();
    this.prefixes.clear();
    this.prefixCount = 0;
    this.prefixMemo = new Map();
    this.nextExpiry = Infinity;
  }

  private remerge(address: string): void {
    const set = this.records.get(address);
    const merged = set ? mergeIdentity(address, set, this.ctx) : undefined;
    const slash = address.indexOf('/');
    if (slash < 0) {
      if (merged) this.exact.set(address, merged);
      else this.exact.delete(address);
      return;
    }
    const len = Number(address.slice(slash + 1));
    const key = address.slice(0, slash);
    let byLen = this.prefixes.get(len);
    if (merged) {
      if (!byLen) this.prefixes.set(len, (byLen = new Map()));
      if (!byLen.has(key)) this.prefixCount++;
      byLen.set(key, merged);
    } else if (byLen?.delete(key)) {
      this.prefixCount--;
      if (byLen.size === 0) this.prefixes.delete(len);
    }
    this.prefixMemo = new Map();
  }
}

/** The text of an address's first `len` bits, zero-filled: the key a prefix is stored under. */
export function maskedKey(ip: ipaddr.IPv6, len: number): string {
  const bytes = ip.toByteArray();
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, len - i * 8));
    bytes[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** "2001:db8:1:2::/64" in the map's normal form, or undefined when it is not an IPv6 prefix. */
export function normalisePrefix(text: string): string | undefined {
  try {
    const [ip, len] = ipaddr.parseCIDR(text);
    if (ip.kind() !== 'ipv6') return undefined;
    return `${maskedKey(ip as ipaddr.IPv6, len)}/${len}`;
  } catch {
    return undefined;
  }
}
