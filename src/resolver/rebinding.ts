// DNS rebinding protection: private, loopback and link-local addresses are
// removed from upstream answers for public names, as unbound's
// `private-address` and dnsmasq's `--stop-dns-rebind` do. A page on an
// attacker's site whose name suddenly resolves to 10.0.0.5 or 127.0.0.1 turns
// a pupil's (or a member of staff's) browser into a proxy into the school
// network, the admin UI included. Names under `dns.rebindProtection.allowDomains`
// (the school's Active Directory domain, say) and `localhost` keep them.
//
// This link sits between the cache and the internet links, so it sees only
// upstream answers (block answers Gatehouse makes itself, with 127.0.0.1,
// never pass here) and the cache keeps the answer as filtered: a cache hit
// costs nothing. On a miss the answer's records are walked once on the wire
// (no decoding) to look for A/AAAA data in those ranges; only an answer that
// has some is decoded and encoded again with dns-packet (rare by design).
//
// What is left: as unbound (NLnetLabs/unbound#822), the offending records go
// and the rest stays, so an answer with nothing else becomes NODATA (NOERROR,
// no address) rather than an error; the client sees the name as having no
// address. Each removal is counted (/metrics) and logged with the reason.
import dnsPacket from 'dns-packet';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { isPromise } from './maybe-async.js';
import { SuffixMap } from './suffix-map.js';
import type { Answer, Handler, Next, Query } from './types.js';
import { errorResponse, readName, skipName, RCODE, TYPE_A, TYPE_AAAA } from './wire.js';

export interface RebindingStats {
  /** Upstream answers that had private addresses removed. */
  answers: number;
  /** Address records removed. */
  records: number;
}

/** Log lines per minute about removals; past it they are only counted. */
const LOG_PER_MINUTE = 20;

/** Whether the A (4 bytes) or AAAA (16 bytes) data at `at` is private, loopback, link-local or unspecified. */
export function isPrivateAddress(buf: Buffer, at: number, length: number): boolean {
  if (length === 4) return isPrivate4(buf[at], buf[at + 1]);
  if (length !== 16) return false;
  const first = buf[at];
  if (first === 0xfe && (buf[at + 1] & 0xc0) === 0x80) return true; // fe80::/10 link-local
  if ((first & 0xfe) === 0xfc) return true; // fc00::/7 unique local (ULA)
  for (let i = 0; i < 10; i++) if (buf[at + i] !== 0) return false;
  if (buf[at + 10] === 0xff && buf[at + 11] === 0xff) return isPrivate4(buf[at + 12], buf[at + 13]); // ::ffff:a.b.c.d
  if (buf[at + 10] !== 0 || buf[at + 11] !== 0) return false;
  for (let i = 12; i < 15; i++) if (buf[at + i] !== 0) return false;
  return buf[at + 15] <= 1; // :: and ::1
}

function isPrivate4(a: number, b: number): boolean {
  return (
    a === 10 || // RFC 1918
    a === 127 || // loopback
    a === 0 || // "this network": 0.0.0.0 reaches local services on most systems
    (a === 172 && (b & 0xf0) === 16) || // RFC 1918
    (a === 192 && b === 168) || // RFC 1918
    (a === 169 && b === 254) // link-local
  );
}

/** Byte offsets of every private A/AAAA record's start in a response (one walk, no decoding); empty for none. */
export function privateRecords(buf: Buffer, questionEnd: number): number[] {
  const found: number[] = [];
  if (buf.length < 12) return found;
  const total = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  let pos = questionEnd;
  for (let i = 0; i < total; i++) {
    const nameEnd = skipName(buf, pos);
    if (nameEnd < 0 || nameEnd + 10 > buf.length) break;
    const type = buf.readUInt16BE(nameEnd);
    const rdlen = buf.readUInt16BE(nameEnd + 8);
    if ((type === TYPE_A || type === TYPE_AAAA) && buf.readUInt16BE(nameEnd + 2) === 1 && isPrivateAddress(buf, nameEnd + 10, rdlen))
      found.push(pos);
    pos = nameEnd + 10 + rdlen;
  }
  return found;
}

export class RebindingHandler implements Handler {
  private enabled = true;
  private allowed = new SuffixMap();
  private logged = 0;
  private logWindowStart = 0;
  private unlogged = 0;
  readonly stats: RebindingStats = { answers: 0, records: 0 };

  constructor(
    config: Config,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.configure(config);
  }

  configure(config: Config): void {
    const { enabled, allowDomains } = config.dns.rebindProtection;
    this.enabled = enabled;
    const allowed = new SuffixMap();
    // localhost is ours by RFC 6761, whatever the upstream says.
    for (const d of ['localhost', ...allowDomains]) allowed.add(d.toLowerCase().replace(/\.$/, ''), 1);
    this.allowed = allowed;
  }

  resolve(q: Query, next: Next): Answer | Promise<Answer> {
    // Disabled, or a name allowed to hold private addresses: nothing to do (and nothing spent).
    if (!this.enabled || this.allowed.lookup(q.name) !== 0) return next(q);
    const answer = next(q);
    return isPromise(answer) ? answer.then((a) => this.filter(q, a)) : this.filter(q, answer);
  }

  private filter(q: Query, answer: Answer): Answer {
    const wire = answer.wire;
    if (answer.source !== 'upstream' || (wire[3] & 0x0f) !== RCODE.NOERROR) return answer;
    const offsets = privateRecords(wire, q.questionEnd);
    if (offsets.length === 0) return answer;
    const bad = this.outsideAllowed(wire, offsets);
    if (bad.length === 0) return answer;
    this.stats.answers++;
    this.stats.records += bad.length;
    this.log(q, bad.length);
    return { ...answer, wire: this.without(wire, q) };
  }

  /** Records owned by an allowed name (a public CNAME to the school's own domain) stay; the others go. */
  private outsideAllowed(wire: Buffer, offsets: number[]): number[] {
    const owner = { name: '' };
    return offsets.filter((at) => readName(wire, at, owner) < 0 || this.allowed.lookup(owner.name) === 0);
  }

  /** The answer re-encoded without its private address records (outside allowed names). */
  private without(wire: Buffer, q: Query): Buffer {
    try {
      const packet = dnsPacket.decode(wire);
      const keep = (r: dnsPacket.Answer) =>
        !(
          (r.type === 'A' || r.type === 'AAAA') &&
          isPrivateText(String(r.data)) &&
          this.allowed.lookup(r.name.toLowerCase().replace(/\.$/, '')) === 0
        );
      packet.answers = (packet.answers ?? []).filter(keep);
      packet.additionals = (packet.additionals ?? []).filter(keep);
      const out = dnsPacket.encode(packet);
      if (this.outsideAllowed(out, privateRecords(out, q.questionEnd)).length === 0) return out;
    } catch {
      /* a record dns-packet cannot round-trip: fall through to an empty answer */
    }
    // Could not rewrite it faithfully: an answer with no records at all (NODATA) is the safe side.
    return errorResponse(wire, RCODE.NOERROR, { questionEnd: q.questionEnd });
  }

  private log(q: Query, removed: number): void {
    const now = this.now();
    if (now - this.logWindowStart >= 60_000) {
      if (this.unlogged > 0)
        this.logger.warn({ answers: this.unlogged }, 'DNS rebinding protection: further answers filtered (not logged one by one)');
      this.logWindowStart = now;
      this.logged = 0;
      this.unlogged = 0;
    }
    if (this.logged >= LOG_PER_MINUTE) {
      this.unlogged++;
      return;
    }
    this.logged++;
    this.logger.warn(
      { name: q.name, type: q.type, client: q.client.address, removed, reason: 'private address in an answer for a public name' },
      'DNS rebinding protection removed addresses from an upstream answer',
    );
  }
}

/** isPrivateAddress for the text form dns-packet decodes to. */
function isPrivateText(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const bytes = Buffer.from(ipaddr.parse(address).toByteArray());
  return isPrivateAddress(bytes, 0, bytes.length);
}
