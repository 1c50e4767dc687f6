// Answers the policy makes up: blocks, NXDOMAIN and NODATA, and the frame for
// safe-search rewrites. The client's question is copied byte for byte from its
// packet (so 0x20 letter case survives) and records for the question's name
// point back at it (0xC00C). Record data and the OPT record are encoded with
// dns-packet; the fixed records for a config are encoded once.
import dnsPacket from 'dns-packet';
import type { Config } from '../config.js';
import type { Query } from './types.js';

export const RCODE_NOERROR = 0;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const HEADER = 12;

/** Extended DNS Error info codes we use (RFC 8914). */
export const EDE_FORGED = 4;
export const EDE_BLOCKED = 15;
export const EDE_FILTERED = 17;

export interface Ede {
  code: number;
  text: string;
}

// dns-packet's per-record codec; its type declarations leave it out.
const recordCodec = (dnsPacket as unknown as { answer: { encode(rr: dnsPacket.Answer): Buffer } }).answer;

/** One resource record in wire form, names uncompressed. */
export function encodeRecord(rr: dnsPacket.Answer): Buffer {
  return recordCodec.encode(rr);
}

/** A record whose owner is the question name: encoded with a root owner, which is then swapped for a pointer. */
export function encodeAtQuestion(rr: dnsPacket.Answer): Buffer {
  const plain = encodeRecord({ ...rr, name: '.' } as dnsPacket.Answer);
  const out = Buffer.allocUnsafe(plain.length + 1);
  out[0] = 0xc0;
  out[1] = HEADER;
  plain.copy(out, 2, 1);
  return out;
}

export class AnswerBuilder {
  private readonly ttl: number;
  private readonly mode: Config['dns']['block']['mode'];
  private readonly aRecord: Buffer | null;
  private readonly aaaaRecord: Buffer | null;
  private readonly udpSize: number;
  private readonly opts = new Map<Ede, Buffer>();
  private readonly optsDo = new Map<Ede, Buffer>();

  constructor(dns: Config['dns']) {
    const { mode, ttl } = dns.block;
    this.mode = mode;
    this.ttl = ttl;
    this.udpSize = dns.udpSize;
    const a = mode === 'null' ? '0.0.0.0' : dns.block.a;
    const aaaa = mode === 'null' ? '::' : dns.block.aaaa;
    this.aRecord = mode === 'nxdomain' ? null : encodeAtQuestion({ type: 'A', name: '.', ttl, data: a });
    this.aaaaRecord = mode === 'nxdomain' ? null : encodeAtQuestion({ type: 'AAAA', name: '.', ttl, data: aaaa });
  }

  get blockTtl(): number {
    return this.ttl;
  }

  /** The configured block response: block page / null address, NODATA for other types, or NXDOMAIN. */
  block(q: Query, ede: Ede): { wire: Buffer; rcode: number } {
    if (this.mode === 'nxdomain') return this.nxdomain(q, ede);
    let record: Buffer | null = null;
    if (q.klass === CLASS_IN) record = q.type === TYPE_A ? this.aRecord : q.type === TYPE_AAAA ? this.aaaaRecord : null;
    return { wire: this.respond(q, RCODE_NOERROR, record ? [record] : [], ede), rcode: RCODE_NOERROR };
  }

  nxdomain(q: Query, ede?: Ede): { wire: Buffer; rcode: number } {
    return { wire: this.respond(q, RCODE_NXDOMAIN, [], ede), rcode: RCODE_NXDOMAIN };
  }

  nodata(q: Query, ede?: Ede): { wire: Buffer; rcode: number } {
    return { wire: this.respond(q, RCODE_NOERROR, [], ede), rcode: RCODE_NOERROR };
  }

  /**
   * A response to `q`: header with the client's ID, RD and CD copied, QR and
   * RA set; the client's question bytes; `records` (already encoded) in the
   * answer section; an OPT record only if the query had EDNS.
   */
  respond(q: Query, rcode: number, records: readonly Buffer[], ede?: Ede): Buffer {
    const question = q.questionEnd - HEADER;
    const opt = q.edns ? this.opt(q.dnssecOk, ede) : null;
    let size = HEADER + question + (opt ? opt.length : 0);
    for (const r of records) size += r.length;
    const out = Buffer.allocUnsafe(size);
    out.writeUInt16BE(q.id, 0);
    // QR, the client's opcode, RD as sent; RA, CD as sent, rcode.
    out[2] = 0x80 | (q.wire[2] & 0x78) | (q.recursionDesired ? 0x01 : 0);
    out[3] = 0x80 | (q.checkingDisabled ? 0x10 : 0) | (rcode & 0x0f);
    out.writeUInt16BE(question > 0 ? q.wire.readUInt16BE(4) : 0, 4);
    out.writeUInt16BE(records.length, 6);
    out.writeUInt16BE(0, 8);
    out.writeUInt16BE(opt ? 1 : 0, 10);
    q.wire.copy(out, HEADER, HEADER, q.questionEnd);
    let at = q.questionEnd;
    for (const r of records) at += r.copy(out, at);
    if (opt) opt.copy(out, at);
    return out;
  }

  /** OPT record advertising our UDP size, echoing DO, with an EDE option; cached per EDE object. */
  private opt(dnssecOk: boolean, ede?: Ede): Buffer {
    const cache = dnssecOk ? this.optsDo : this.opts;
    const key = ede ?? NO_EDE;
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const opt = encodeRecord({
      type: 'OPT',
      name: '.',
      udpPayloadSize: this.udpSize,
      extendedRcode: 0,
      ednsVersion: 0,
      flags: dnssecOk ? dnsPacket.DNSSEC_OK : 0,
      flag_do: dnssecOk,
      options: ede ? [{ code: 15, data: edeData(ede) }] : [],
    } as unknown as dnsPacket.Answer);
    // Callers pass constant EDE objects (one per category and reason); the bound guards against surprises.
    if (cache.size < 1024) cache.set(key, opt);
    return opt;
  }
}

const NO_EDE: Ede = { code: 0, text: '' };

/** EDE option data: INFO-CODE then UTF-8 EXTRA-TEXT (RFC 8914 section 2). */
function edeData(ede: Ede): Buffer {
  const text = Buffer.from(ede.text, 'utf8');
  const data = Buffer.allocUnsafe(2 + text.length);
  data.writeUInt16BE(ede.code, 0);
  text.copy(data, 2);
  return data;
}
