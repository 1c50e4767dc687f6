// Answers the policy makes up: blocks, NXDOMAIN and NODATA, and the frame for
// safe-search rewrites. The client's question is copied byte for byte from its
// packet (so 0x20 letter case survives) and records for the question's name
// point back at it (0xC00C). Record data is encoded with dns-packet, once per
// config for the fixed records; the OPT record is ours (wire.ts). The server's
// last step writes the client's ID.
import dnsPacket from 'dns-packet';
import type { Config } from '../config.js';
import type { Query } from './types.js';
import { CLASS_IN, FLAG_CD, FLAG_RA, HEADER_SIZE, RCODE, TYPE_A, TYPE_AAAA, edeOption, optSize, writeOpt, type Ede } from './wire.js';

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
  out[1] = HEADER_SIZE;
  plain.copy(out, 2, 1);
  return out;
}

export class AnswerBuilder {
  private readonly ttl: number;
  private readonly mode: Config['dns']['block']['mode'];
  private readonly aRecord: Buffer | null;
  private readonly aaaaRecord: Buffer | null;
  private readonly udpSize: number;

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
    return { wire: this.respond(q, RCODE.NOERROR, record ? [record] : [], ede), rcode: RCODE.NOERROR };
  }

  nxdomain(q: Query, ede?: Ede): { wire: Buffer; rcode: number } {
    return { wire: this.respond(q, RCODE.NXDOMAIN, [], ede), rcode: RCODE.NXDOMAIN };
  }

  nodata(q: Query, ede?: Ede): { wire: Buffer; rcode: number } {
    return { wire: this.respond(q, RCODE.NOERROR, [], ede), rcode: RCODE.NOERROR };
  }

  /**
   * A response to `q`: header with the client's opcode, RD and CD copied, QR
   * and RA set (AD clear: the answer is ours, not validated data); the
   * client's question bytes; `records` (already encoded) in the answer
   * section; our OPT record, with the EDE, only if the query had EDNS.
   */
  respond(q: Query, rcode: number, records: readonly Buffer[], ede?: Ede): Buffer {
    const option = q.edns && ede !== undefined ? edeOption(ede) : undefined;
    let size = q.questionEnd + (q.edns ? optSize(option) : 0);
    for (const r of records) size += r.length;
    const out = Buffer.allocUnsafe(size);
    out.writeUInt16BE(0, 0); // the ID: the server's last step writes the client's
    out[2] = 0x80 | (q.wire[2] & 0x78) | (q.recursionDesired ? 0x01 : 0);
    out[3] = FLAG_RA | (q.checkingDisabled ? FLAG_CD : 0) | (rcode & 0x0f);
    out.writeUInt16BE(q.questionEnd > HEADER_SIZE ? q.wire.readUInt16BE(4) : 0, 4);
    out.writeUInt16BE(records.length, 6);
    out.writeUInt16BE(0, 8);
    out.writeUInt16BE(q.edns ? 1 : 0, 10);
    q.wire.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
    let at = q.questionEnd;
    for (const r of records) at += r.copy(out, at);
    if (q.edns) writeOpt(out, at, this.udpSize, q.dnssecOk, option);
    return out;
  }
}
