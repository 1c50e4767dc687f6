// The answer cache, as dnsdist's packet cache: upstream answers are stored in
// wire format and a hit copies the bytes, sets the flags for this client and
// ages the TTLs in place. No decode, no encode. The client's ID and letter
// case are written by the server's last step (wire.ts finishResponse).
//
// Keys: name, type, class, DO and CD bits (as CoreDNS). The LRU is keyed by
// the name alone, each name holding its entries by kind (type, class and bits:
// kindOf): a fresh name string from the packet is hashed once per query (the
// policy's look-ups hash it first and the hash stays in the string), where a
// joined key would be a new string to flatten and hash again. In-flight
// queries are keyed by cacheKey, unambiguous whatever bytes a label holds
// (RFC 2181 §11). Negative
// answers, also behind a CNAME, are cached for min(SOA TTL, SOA MINIMUM)
// (RFC 2308 §5); truncated answers and server failures never are. Identical
// questions in flight share one upstream query; entries hit often are
// refreshed before they expire (prefetch hides the satellite link's latency);
// expired entries are kept a while longer and served, marked with EDE 3, when
// no link answers (serve-stale, RFC 8767). ANY over UDP gets one RRset
// (minimal-any.ts).
import { isDeepStrictEqual } from 'node:util';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.js';
import type { Answer, AnswerSource, Handler, Next, Query } from './types.js';
import { leadingRRset, type AnyCut } from './minimal-any.js';
import { edeOptions, validationFailed } from './ede.js';
import {
  EDE,
  FLAG_CD,
  FLAG_RA,
  RCODE,
  TYPE_ANY,
  edeOption,
  isServerFailure,
  optSize,
  readResponseLayout,
  wantsAuthenticData,
  writeOpt,
} from './wire.js';

export interface CacheEntry {
  /** The answer without its OPT record. */
  wire: Buffer;
  questionEnd: number;
  ttlOffsets: number[];
  ttls: number[];
  storedAt: number;
  expiresAt: number;
  staleUntil: number;
  ttl: number;
  rcode: number;
  cnames: string[] | undefined;
  link: string | undefined;
  /** 'error' for the SERVFAIL the forward link makes when no link answers. */
  source: 'upstream' | 'error';
  /**
   * The links gave no usable answer (SERVFAIL or REFUSED, never cached): a
   * stale answer is served instead when there is one. A validator's DNSSEC
   * verdict is an answer, not a failure (ede.ts).
   */
  failed: boolean;
  /** The Extended DNS Errors of an error answer (never cached), encoded, passed on to each client (ede.ts). */
  ede: Buffer | undefined;
  /** For ANY: where to cut the answer for UDP clients, and how many TTLs that keeps. */
  anyCut: (AnyCut & { ttlCount: number }) | undefined;
  hits: number;
  prefetching: boolean;
}

/** The entries of one name, by kind (kindOf): a name has a few (A, AAAA, HTTPS; DO or not), so a scan beats a map. */
interface NameEntries {
  kinds: number[];
  entries: CacheEntry[];
}

export interface CacheStats {
  entries: number;
  hits: number;
  misses: number;
  stale: number;
  prefetches: number;
}

type CacheConfig = Config['cache'];

/** RFC 8914 EDE 3 on every stale answer to a client that speaks EDNS. */
const STALE_EDE = edeOption({ code: EDE.STALE_ANSWER, text: 'no internet link answered in time' });

export class CacheHandler implements Handler {
  /** By name; each name's size is its number of entries, so `cache.maxEntries` bounds entries, not names. */
  private lru: LRUCache<string, NameEntries> | undefined;
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  private settings!: CacheConfig;
  private rebindProtection?: Config['dns']['rebindProtection'];
  private udpSize = 1232;
  readonly stats: CacheStats = { entries: 0, hits: 0, misses: 0, stale: 0, prefetches: 0 };

  constructor(
    config: Config,
    private readonly now: () => number = Date.now,
  ) {
    this.configure(config);
  }

  /** New settings (SIGHUP). The entries survive unless the size or the rebinding rules change (they were filtered under the old ones). */
  configure(config: Config): void {
    const size = config.cache.maxEntries;
    if (!this.lru || this.settings.maxEntries !== size) this.lru = size > 0 ? new LRUCache({ max: size, maxSize: size }) : undefined;
    else if (!isDeepStrictEqual(config.dns.rebindProtection, this.rebindProtection)) this.lru.clear();
    this.rebindProtection = config.dns.rebindProtection;
    this.settings = config.cache;
    this.udpSize = config.dns.udpSize;
  }

  clear(): void {
    this.lru?.clear();
  }

  /** Entries held (fresh and stale). */
  get size(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  resolve(q: Query, next: Next): Answer | Promise<Answer> {
    const entry = this.lookup(q);
    const now = this.now();
    if (entry !== undefined && now < entry.expiresAt) {
      this.stats.hits++;
      if (this.settings.prefetch && ++entry.hits >= this.settings.prefetchMinHits) this.maybePrefetch(entry, q, next, now);
      return this.answerFrom(entry, q, now, 'cache');
    }
    this.stats.misses++;
    return this.miss(q, cacheKey(q), entry, next);
  }

  private lookup(q: Query): CacheEntry | undefined {
    const named = this.lru?.get(q.name);
    if (named === undefined) return undefined;
    const i = named.kinds.indexOf(kindOf(q));
    return i < 0 ? undefined : named.entries[i];
  }

  private store(q: Query, entry: CacheEntry): void {
    if (this.lru === undefined) return;
    const kind = kindOf(q);
    const named = this.lru.get(q.name);
    if (named === undefined) return void this.lru.set(q.name, { kinds: [kind], entries: [entry] }, { size: 1 });
    const i = named.kinds.indexOf(kind);
    if (i >= 0) return void (named.entries[i] = entry);
    // A new object: lru-cache takes a new size only with a new value. May evict the least recent names.
    const grown = { kinds: [...named.kinds, kind], entries: [...named.entries, entry] };
    this.lru.set(q.name, grown, { size: grown.kinds.length });
  }

  private async miss(q: Query, key: string, stale: CacheEntry | undefined, next: Next): Promise<Answer> {
    const fresh = this.fetch(q, key, next);
    const usableStale = stale !== undefined && this.now() < stale.staleUntil ? stale : undefined;
    if (!usableStale) return this.answerFrom(await fresh, q, this.now(), 'upstream');
    // RFC 8767's client response timer: with stale data in hand, wait no
    // longer than staleAnswerAfterMs for the links before answering with it,
    // and answer with it too when they fail.
    const entry = await raceTimer(fresh, this.settings.staleAnswerAfterMs).catch(() => undefined);
    if (entry !== undefined && !entry.failed) return this.answerFrom(entry, q, this.now(), 'upstream');
    this.stats.stale++;
    return this.answerFrom(usableStale, q, this.now(), 'stale');
  }

  /** One upstream query per key at a time; the answer is stored if it may be. */
  private fetch(q: Query, key: string, next: Next): Promise<CacheEntry> {
    let pending = this.inflight.get(key);
    if (pending) return pending;
    pending = Promise.resolve(next(q))
      .then((answer) => {
        const entry = this.entryFrom(answer, q);
        if (entry.expiresAt > entry.storedAt) this.store(q, entry);
        return entry;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, pending);
    return pending;
  }

  private maybePrefetch(entry: CacheEntry, q: Query, next: Next, now: number): void {
    // Refresh in the last tenth of the TTL (at least the last second), once.
    if (entry.prefetching || entry.ttl < 2 || entry.expiresAt - now > Math.max(1000, entry.ttl * 100)) return;
    entry.prefetching = true;
    this.stats.prefetches++;
    // A refresh that failed leaves the entry to be tried again on a later hit.
    const again = () => void (entry.prefetching = false);
    this.fetch(q, cacheKey(q), next).then((fresh) => {
      if (fresh.failed) again();
    }, again);
  }

  /** Turn an answer from the links into an entry: strip OPT, clamp TTLs, work out the lifetime. */
  private entryFrom(answer: Answer, q: Query): CacheEntry {
    const raw = answer.wire;
    const { questionEnd } = q;
    const layout = readResponseLayout(raw, questionEnd);
    const now = this.now();
    if (!layout) throw new MalformedAnswerError();
    let wire: Buffer;
    const { ttlOffsets, ttls, rcode, answerCount } = layout;
    // An error answer's reasons (the upstream's own EDEs, or the forward link's EDE 22) go on to the client.
    const serverFailure = isServerFailure(rcode);
    const ede = !serverFailure
      ? undefined
      : answer.ede !== undefined
        ? edeOption(answer.ede)
        : edeOptions(raw, layout.optStart, layout.optEnd);
    if (layout.optStart >= 0) {
      const cut = layout.optEnd - layout.optStart;
      wire = ownedCopy(raw.subarray(0, layout.optStart), raw.subarray(layout.optEnd));
      wire.writeUInt16BE(wire.readUInt16BE(10) - 1, 10);
      for (let i = 0; i < ttlOffsets.length; i++) if (ttlOffsets[i] > layout.optStart) ttlOffsets[i] -= cut;
    } else {
      wire = ownedCopy(raw);
    }
    const s = this.settings;
    const negative = rcode === RCODE.NXDOMAIN || (rcode === RCODE.NOERROR && layout.answersOfType === 0);
    let ttl = -1; // -1: not cacheable
    if (!layout.truncated && negative) {
      // RFC 2308 §5: the SOA's negative TTL, also behind a CNAME chain, which
      // an entry must not outlive either. No SOA: not cached (§5, last paragraph).
      ttl = layout.negativeTtl < 0 ? -1 : Math.min(layout.negativeTtl, minOf(ttls, answerCount, layout.negativeTtl));
    } else if (!layout.truncated && rcode === RCODE.NOERROR) {
      ttl = minOf(ttls, answerCount, 0);
    }
    if (ttl >= 0) {
      ttl = negative ? Math.min(ttl, s.negativeMaxTtl) : Math.min(Math.max(ttl, s.minTtl), s.maxTtl);
      for (let i = 0; i < ttls.length; i++) ttls[i] = negative ? Math.min(ttls[i], ttl) : Math.min(Math.max(ttls[i], s.minTtl), s.maxTtl);
    }
    const cut = q.type === TYPE_ANY ? leadingRRset(wire, questionEnd, answerCount) : null;
    const expiresAt = now + Math.max(ttl, 0) * 1000;
    return {
      wire,
      questionEnd,
      ttlOffsets,
      ttls,
      storedAt: now,
      expiresAt,
      staleUntil: ttl > 0 ? expiresAt + s.serveStaleSeconds * 1000 : expiresAt,
      ttl: Math.max(ttl, 0),
      rcode,
      cnames: layout.cnames,
      link: answer.link,
      source: answer.source === 'error' ? 'error' : 'upstream',
      failed: serverFailure && !(ede !== undefined && validationFailed(ede)),
      ede,
      anyCut: cut === null ? undefined : { ...cut, ttlCount: ttlOffsets.filter((o) => o < cut.end).length },
      hits: 0,
      prefetching: false,
    };
  }

  /**
   * This client's copy of an entry: its flags, aged TTLs, its OPT record.
   * Header: QR, opcode QUERY, AA and TC clear, RD as asked; RA, CD as asked,
   * the upstream's rcode, and its AD only for a client that asked for it.
   */
  private answerFrom(entry: CacheEntry, q: Query, now: number, source: 'cache' | 'upstream' | 'stale'): Answer {
    const stale = source === 'stale';
    const src = entry.wire;
    const cut = q.transport === 'udp' ? entry.anyCut : undefined;
    const length = cut === undefined ? src.length : cut.end;
    const option = stale ? STALE_EDE : entry.ede;
    const out = Buffer.allocUnsafe(length + (q.edns ? optSize(option) : 0));
    out.set(length === src.length ? src : src.subarray(0, length));
    out[2] = 0x80 | (q.recursionDesired ? 0x01 : 0);
    out[3] = FLAG_RA | (src[3] & (wantsAuthenticData(q) ? 0x2f : 0x0f)) | (q.checkingDisabled ? FLAG_CD : 0);
    if (cut !== undefined) {
      out.writeUInt16BE(cut.count, 6);
      out.writeUInt32BE(0, 8); // no authority, no additional records
    }
    const elapsed = ((now - entry.storedAt) / 1000) | 0;
    const { ttlOffsets, ttls } = entry;
    const ttlCount = cut === undefined ? ttlOffsets.length : cut.ttlCount;
    for (let i = 0; i < ttlCount; i++) {
      const left = stale ? this.settings.staleTtl : ttls[i] - elapsed;
      out.writeUInt32BE(left > 0 ? left : 0, ttlOffsets[i]);
    }
    if (q.edns) {
      writeOpt(out, length, this.udpSize, q.dnssecOk, option);
      out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
    }
    const answerSource: AnswerSource = source === 'upstream' && entry.source === 'error' ? 'error' : source;
    return { wire: out, rcode: entry.rcode, source: answerSource, link: entry.link, cnames: entry.cnames };
  }
}

/** A link handed over an answer that cannot be walked (links.ts checks every answer, so this is a bug). */
export class MalformedAnswerError extends Error {
  readonly code = 'GH_ERR_MALFORMED_ANSWER';
  constructor() {
    super('malformed answer from upstream');
  }
}

const keySuffixes = new Map<number, string>();

/**
 * The in-flight key (the cache itself holds names, then kinds): the
 * question's name as parseQuery read it, then NUL, then type, class and the
 * DO/CD bits as five fixed-width characters. Unambiguous whatever bytes a
 * label holds (RFC 2181 §11): the name is lower-cased and escaped RFC
 * 1035-style (wire.ts readName), which is one-to-one and turns every byte up
 * to 0x20 into \DDD, so a name never holds NUL and the first NUL ends it.
 */
export function cacheKey(q: Query): string {
  const id = kindOf(q);
  let suffix = keySuffixes.get(id);
  if (suffix === undefined) {
    suffix = String.fromCharCode(0, q.type >> 8, q.type & 0xff, q.klass >> 8, q.klass & 0xff, id & 3);
    if (keySuffixes.size < 4096) keySuffixes.set(id, suffix);
  }
  return q.name + suffix;
}

/** What, besides the name, tells one cache entry from another: type, class, DO and CD, as one number. */
export function kindOf(q: Query): number {
  return (q.klass * 0x10000 + q.type) * 4 + (q.dnssecOk ? 1 : 0) + (q.checkingDisabled ? 2 : 0);
}

/**
 * The parts, joined, in memory of their own. An entry outlives the answers
 * made around it, and Buffer.from or Buffer.concat would give it a slice of
 * Node's shared 8 KiB pool, which then stays alive as long as the entry does:
 * about 8 KiB held for an answer of a hundred bytes, per entry.
 */
function ownedCopy(...parts: Uint8Array[]): Buffer {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The lowest of the first `count` values, or `none` when there are none. */
function minOf(values: number[], count: number, none: number): number {
  let min = Infinity;
  for (let i = 0; i < count; i++) if (values[i] < min) min = values[i];
  return min === Infinity ? none : min;
}

/** Resolves with the promise's value, or undefined if it takes longer than `ms`. */
function raceTimer<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
