// Wire helpers for the hot path, and the one home of the DNS constants. Only
// the header and the question of a query are decoded; answers are built by
// copying bytes and patching them in place. The record data of answers we make
// up (blocks, safe search) is encoded with dns-packet elsewhere.

export const HEADER_SIZE = 12;
export const TYPE_A = 1;
export const TYPE_CNAME = 5;
export const TYPE_SOA = 6;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const TYPE_RRSIG = 46;
export const TYPE_IXFR = 251;
export const TYPE_AXFR = 252;
export const TYPE_ANY = 255;
export const CLASS_IN = 1;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Header flag bits in byte 3 (RFC 1035 §4.1.1, RFC 4035 §3.2). */
export const FLAG_RA = 0x80;
export const FLAG_AD = 0x20;
export const FLAG_CD = 0x10;

/** The EDNS option code of an Extended DNS Error (RFC 8914 §2). */
export const OPTION_EDE = 15;

/** Extended DNS Error info-codes we use or read (RFC 8914 §4). */
export const EDE = {
  FORGED_ANSWER: 4,
  STALE_ANSWER: 3,
  BLOCKED: 15,
  CENSORED: 16,
  FILTERED: 17,
  PROHIBITED: 18,
  NOT_SUPPORTED: 21,
  NO_REACHABLE_AUTHORITY: 22,
} as const;

/** An upstream answer that counts as a failure of its link: never cached, and the next link is tried. */
export function isServerFailure(rcode: number): boolean {
  return rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED;
}

/**
 * May the answer to `q` carry the AD bit? Only for a client that showed it
 * understands it: DO set (RFC 4035 §3.2.3), or AD set in the query (RFC 6840 §5.7).
 */
export function wantsAuthenticData(q: { wire: Buffer; dnssecOk: boolean }): boolean {
  return q.dnssecOk || (q.wire[3] & FLAG_AD) !== 0;
}

export type ParseFailure = 'drop' | 'formerr' | 'notimp' | 'badvers';

/** Header fields and question of a query, decoded without allocating more than the name. */
export interface ParsedQuery {
  id: number;
  /** Lower-case presentation form without the trailing dot ("" for the root); unusual bytes escaped. */
  name: string;
  type: number;
  klass: number;
  /** Offset just past the question section: bytes 0..questionEnd are header and question. */
  questionEnd: number;
  /** The client sent an OPT record; `udpSize` is then its buffer size (at least 512), else 512. */
  edns: boolean;
  udpSize: number;
  dnssecOk: boolean;
  /** Checking Disabled bit: part of the cache key, as in CoreDNS. */
  checkingDisabled: boolean;
  recursionDesired: boolean;
}

// One scratch buffer for building names: the hot path runs on one thread.
const nameScratch = Buffer.allocUnsafe(1024);

/**
 * Decode the name at `offset` of a message into lower-case presentation form
 * (no trailing dot, "" for the root). Pointers are followed backwards only, so
 * loops are impossible. Returns the offset just past the name in the original
 * position, or -1 when the name is malformed.
 *
 * The form is one-to-one (a "." or "\" inside a label is escaped) and never
 * holds a byte up to 0x20 (those become \DDD): the cache key relies on both.
 */
export function readName(buf: Buffer, offset: number, out: { name: string }): number {
  let pos = offset;
  let end = -1; // where parsing resumes after the first pointer
  let n = 0; // bytes written to scratch
  let wireLength = 1;
  let simple = true;
  for (let hops = 0; ;) {
    if (pos >= buf.length) return -1;
    const len = buf[pos];
    if (len === 0) {
      pos += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return -1;
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (end < 0) end = pos + 2;
      // A pointer must point strictly backwards: this rules out loops.
      if (target >= pos || ++hops > 127) return -1;
      pos = target;
      continue;
    }
    if (len > 63) return -1; // 0x40 and 0x80 label types are obsolete or unused
    if (pos + 1 + len > buf.length) return -1;
    wireLength += len + 1;
    if (wireLength > 255) return -1;
    if (n > 0) nameScratch[n++] = 0x2e;
    for (let i = pos + 1, stop = pos + 1 + len; i < stop; i++) {
      let c = buf[i];
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f)) simple = false;
      nameScratch[n++] = c;
    }
    pos += 1 + len;
  }
  out.name = simple ? nameScratch.toString('latin1', 0, n) : readNameEscaped(buf, offset);
  return end >= 0 ? end : pos;
}

/** Slow path for names with unusual bytes: RFC 1035 escapes (\. \\ \DDD). */
function readNameEscaped(buf: Buffer, offset: number): string {
  const labels: string[] = [];
  let pos = offset;
  for (;;) {
    const len = buf[pos];
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      pos = ((len & 0x3f) << 8) | buf[pos + 1];
      continue;
    }
    let label = '';
    for (let i = pos + 1; i <= pos + len; i++) {
      let c = buf[i];
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c === 0x2e || c === 0x5c) label += '\\' + String.fromCharCode(c);
      else if (c <= 0x20 || c >= 0x7f) label += '\\' + String(c).padStart(3, '0');
      else label += String.fromCharCode(c);
    }
    labels.push(label);
    pos += len + 1;
  }
  return labels.join('.');
}

/** Skip a (possibly compressed) name; returns the offset after it, or -1. */
export function skipName(buf: Buffer, offset: number): number {
  let pos = offset;
  for (;;) {
    if (pos >= buf.length) return -1;
    const len = buf[pos];
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2 <= buf.length ? pos + 2 : -1;
    if (len > 63) return -1;
    pos += len + 1;
  }
}

const nameOut = { name: '' };

/**
 * Decode a query's header and question, and find its OPT record. Anything a
 * query should not contain (answers, bad names, two OPT records) is FORMERR;
 * responses and packets too short to answer are dropped. Bytes after the last
 * record are ignored, as unbound and dnsdist do: they are no reason to refuse
 * a question that reads correctly.
 */
export function parseQuery(buf: Buffer): ParsedQuery | ParseFailure {
  if (buf.length < HEADER_SIZE) return 'drop';
  const flags1 = buf[2];
  if (flags1 & 0x80) return 'drop'; // a response: never answer it (reflection loops)
  if ((flags1 >> 3) & 0x0f) return 'notimp'; // opcode other than QUERY
  const qdcount = buf.readUInt16BE(4);
  if (qdcount !== 1 || buf[6] !== 0 || buf[7] !== 0 || buf[8] !== 0 || buf[9] !== 0) return 'formerr';
  let pos = readName(buf, HEADER_SIZE, nameOut);
  if (pos < 0 || pos + 4 > buf.length) return 'formerr';
  const type = buf.readUInt16BE(pos);
  const klass = buf.readUInt16BE(pos + 2);
  pos += 4;
  const questionEnd = pos;
  let edns = false;
  let udpSize = 512;
  let dnssecOk = false;
  let badVersion = false;
  const arcount = buf.readUInt16BE(10);
  for (let i = 0; i < arcount; i++) {
    const nameEnd = skipName(buf, pos);
    if (nameEnd < 0 || nameEnd + 10 > buf.length) return 'formerr';
    const rrType = buf.readUInt16BE(nameEnd);
    const rdlen = buf.readUInt16BE(nameEnd + 8);
    if (nameEnd + 10 + rdlen > buf.length) return 'formerr';
    if (rrType === TYPE_OPT) {
      if (edns || buf[pos] !== 0) return 'formerr'; // one OPT, owned by the root
      edns = true;
      udpSize = Math.max(512, buf.readUInt16BE(nameEnd + 2));
      badVersion = buf[nameEnd + 5] !== 0;
      dnssecOk = (buf[nameEnd + 6] & 0x80) !== 0;
    }
    pos = nameEnd + 10 + rdlen;
  }
  if (badVersion) return 'badvers';
  return {
    id: buf.readUInt16BE(0),
    name: nameOut.name,
    type,
    klass,
    questionEnd,
    edns,
    udpSize,
    dnssecOk,
    checkingDisabled: (buf[3] & 0x10) !== 0,
    recursionDesired: (flags1 & 0x01) !== 0,
  };
}

/** Length of our OPT record without options: root name, type, class, ttl, rdlength. */
export const OPT_SIZE = 11;

/** An Extended DNS Error (RFC 8914): an INFO-CODE and a short text for people. */
export interface Ede {
  code: number;
  text: string;
}

const encodedEde = new WeakMap<Ede, Buffer>();

/**
 * The EDE option (RFC 8914 §2: OPTION-CODE 15, OPTION-LENGTH, INFO-CODE,
 * EXTRA-TEXT in UTF-8), encoded once per Ede object: callers keep constants.
 */
export function edeOption(ede: Ede): Buffer {
  let option = encodedEde.get(ede);
  if (option === undefined) {
    const text = Buffer.from(ede.text, 'utf8');
    option = Buffer.allocUnsafe(6 + text.length);
    option.writeUInt16BE(OPTION_EDE, 0);
    option.writeUInt16BE(2 + text.length, 2);
    option.writeUInt16BE(ede.code, 4);
    text.copy(option, 6);
    encodedEde.set(ede, option);
  }
  return option;
}

/** The size of our OPT record carrying `option` (already encoded, header included), or none. */
export function optSize(option?: Buffer): number {
  return OPT_SIZE + (option === undefined ? 0 : option.length);
}

/**
 * Write our OPT record at `offset`: our UDP size, version 0, the client's DO
 * echoed (RFC 3225), and at most one option. Returns the offset after it.
 */
export function writeOpt(buf: Buffer, offset: number, udpSize: number, dnssecOk: boolean, option?: Buffer, extendedRcode = 0): number {
  buf[offset] = 0;
  buf.writeUInt16BE(TYPE_OPT, offset + 1);
  buf.writeUInt16BE(udpSize, offset + 3);
  buf[offset + 5] = extendedRcode;
  buf[offset + 6] = 0; // version 0
  buf[offset + 7] = dnssecOk ? 0x80 : 0;
  buf[offset + 8] = 0;
  if (option === undefined) {
    buf.writeUInt16BE(0, offset + 9);
    return offset + OPT_SIZE;
  }
  buf.writeUInt16BE(option.length, offset + 9);
  return offset + OPT_SIZE + option.copy(buf, offset + OPT_SIZE);
}

/**
 * A response for errors made here: FORMERR, NOTIMP, SERVFAIL, REFUSED,
 * BADVERS. Header, the question up to `questionEnd` (none by default), and our
 * OPT record when the client speaks EDNS, with an Extended DNS Error if given.
 * RA is set and CD kept, as for any answer to a QUERY; ID and letter case are
 * the client's, copied from its packet.
 */
export function errorResponse(
  query: Buffer,
  rcode: number,
  opts: {
    questionEnd?: number;
    edns?: boolean;
    udpSize?: number;
    dnssecOk?: boolean;
    ede?: Ede;
    extendedRcode?: number;
  } = {},
): Buffer {
  const questionEnd = opts.questionEnd ?? HEADER_SIZE;
  const option = opts.edns && opts.ede ? edeOption(opts.ede) : undefined;
  const out = Buffer.allocUnsafe(questionEnd + (opts.edns ? optSize(option) : 0));
  query.copy(out, 0, 0, questionEnd);
  out[2] = 0x80 | (query[2] & 0x79); // QR, keep opcode and RD; clear AA and TC
  out[3] = FLAG_RA | (query[3] & FLAG_CD) | (rcode & 0x0f); // RA, keep CD; AD clear
  out.writeUInt16BE(questionEnd > HEADER_SIZE ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(opts.edns ? 1 : 0, 10);
  if (opts.edns) writeOpt(out, questionEnd, opts.udpSize ?? 1232, opts.dnssecOk ?? false, option, opts.extendedRcode ?? 0);
  return out;
}

/**
 * The answer to a packet parseQuery refused ('drop' gets none): FORMERR,
 * NOTIMP or BADVERS. The question is echoed when there is exactly one that
 * reads, and our OPT record is added when the query carried one (RFC 6891
 * §6.1.1: a query with OPT gets OPT back, errors included). To an opcode other
 * than QUERY, RA and CD mean nothing (RFC 6895 §2), so they stay clear.
 */
export function parseFailureResponse(packet: Buffer, failure: Exclude<ParseFailure, 'drop'>, udpSize: number): Buffer {
  const qdcount = packet.readUInt16BE(4);
  let pos = HEADER_SIZE;
  let questionEnd = HEADER_SIZE;
  for (let i = 0; i < qdcount && pos >= 0; i++) {
    pos = readName(packet, pos, nameOut);
    pos = pos >= 0 && pos + 4 <= packet.length ? pos + 4 : -1;
    if (i === 0 && qdcount === 1 && pos >= 0) questionEnd = pos;
  }
  const opt = pos >= 0 ? findQueryOpt(packet, pos) : null;
  const badvers = failure === 'badvers';
  const out = errorResponse(packet, failure === 'notimp' ? RCODE.NOTIMP : badvers ? 0 : RCODE.FORMERR, {
    questionEnd,
    edns: opt !== null,
    udpSize,
    dnssecOk: opt?.dnssecOk,
    extendedRcode: badvers ? 1 : 0, // BADVERS is 16: extended RCODE 1, header RCODE 0
  });
  if (failure === 'notimp') out[3] &= 0x0f;
  return out;
}

/** The OPT record among the records after `pos` (answer, authority, additional), or null. */
function findQueryOpt(buf: Buffer, pos: number): { dnssecOk: boolean } | null {
  const records = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  for (let i = 0; i < records; i++) {
    const nameEnd = skipName(buf, pos);
    if (nameEnd < 0 || nameEnd + 10 > buf.length) return null;
    if (buf.readUInt16BE(nameEnd) === TYPE_OPT) return { dnssecOk: (buf[nameEnd + 6] & 0x80) !== 0 };
    pos = nameEnd + 10 + buf.readUInt16BE(nameEnd + 8);
  }
  return null;
}

/**
 * The one final step every answer takes before it leaves (server.ts): the
 * client's ID, and the client's bytes of the question, so its letter case
 * (0x20 randomisation) comes back as sent. The question is only copied over
 * one that matches it ignoring case, so an answer can never be given a
 * question it does not answer. `answer` must be the client's own copy.
 */
export function finishResponse(answer: Buffer, q: { id: number; questionEnd: number; wire: Buffer }): void {
  answer[0] = q.id >> 8;
  answer[1] = q.id & 0xff;
  const end = q.questionEnd;
  if (end > answer.length) return;
  const wire = q.wire;
  const typeAt = end - 4;
  let caseDiffers = false;
  // sameQuestion, inlined: most answers hold the client's bytes already, and then nothing is copied.
  for (let i = HEADER_SIZE; i < end; i++) {
    const x = answer[i];
    const y = wire[i];
    if (x === y) continue;
    const lower = x | 0x20;
    if (i >= typeAt || lower !== (y | 0x20) || lower < 0x61 || lower > 0x7a) return;
    caseDiffers = true;
  }
  if (caseDiffers) wire.copy(answer, HEADER_SIZE, HEADER_SIZE, end);
}

/**
 * Cut an answer that does not fit the client's UDP buffer down to header,
 * question and OPT, with TC set, so the client retries over TCP (RFC 7766).
 */
export function truncate(answer: Buffer, questionEnd: number, edns: boolean, udpSize: number, dnssecOk: boolean): Buffer {
  const out = Buffer.allocUnsafe(questionEnd + (edns ? OPT_SIZE : 0));
  answer.copy(out, 0, 0, questionEnd);
  out[2] |= 0x02; // TC
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(edns ? 1 : 0, 10);
  if (edns) writeOpt(out, questionEnd, udpSize, dnssecOk);
  return out;
}

/**
 * Compare two question sections (name, then type and class) ignoring ASCII
 * case in the name only. `length` covers the name and the 4 type/class bytes.
 */
export function sameQuestion(a: Buffer, aStart: number, b: Buffer, bStart: number, length: number): boolean {
  if (aStart + length > a.length || bStart + length > b.length) return false;
  const nameLength = length - 4;
  for (let i = 0; i < length; i++) {
    let x = a[aStart + i];
    let y = b[bStart + i];
    if (x === y) continue;
    if (i >= nameLength) return false;
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/** What the cache needs to know about an upstream response, found in one walk. */
export interface ResponseLayout {
  rcode: number;
  truncated: boolean;
  answerCount: number;
  /**
   * Answer records of the question's type (any type for ANY). NOERROR with
   * none is NODATA, also behind a CNAME chain (RFC 2308 §2.2, §5).
   */
  answersOfType: number;
  /** Offsets of the TTL field of every record except OPT, and their values. */
  ttlOffsets: number[];
  ttls: number[];
  /** Byte range of the OPT record, or -1. */
  optStart: number;
  optEnd: number;
  /** Negative-caching TTL from the authority SOA: min(SOA TTL, MINIMUM), or -1. */
  negativeTtl: number;
  /** Lower-case CNAME targets in the answer section, in order. */
  cnames: string[] | undefined;
}

/** Walk every record of a response; null when it is malformed. */
export function readResponseLayout(buf: Buffer, questionEnd: number): ResponseLayout | null {
  // At least a header and a question (a root name, type and class).
  if (questionEnd < HEADER_SIZE + 5 || questionEnd > buf.length) return null;
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  const layout: ResponseLayout = {
    rcode: buf[3] & 0x0f,
    truncated: (buf[2] & 0x02) !== 0,
    answerCount: an,
    answersOfType: 0,
    ttlOffsets: [],
    ttls: [],
    optStart: -1,
    optEnd: -1,
    negativeTtl: -1,
    cnames: undefined,
  };
  const qtype = buf.readUInt16BE(questionEnd - 4);
  let pos = questionEnd;
  const total = an + ns + ar;
  for (let i = 0; i < total; i++) {
    const start = pos;
    const nameEnd = skipName(buf, pos);
    if (nameEnd < 0 || nameEnd + 10 > buf.length) return null;
    const type = buf.readUInt16BE(nameEnd);
    const rdlen = buf.readUInt16BE(nameEnd + 8);
    const rdata = nameEnd + 10;
    if (rdata + rdlen > buf.length) return null;
    if (type === TYPE_OPT) {
      if (i < an + ns) return null;
      layout.optStart = start;
      layout.optEnd = rdata + rdlen;
    } else {
      const ttl = buf.readUInt32BE(nameEnd + 4);
      layout.ttlOffsets.push(nameEnd + 4);
      layout.ttls.push(ttl > 0x7fffffff ? 0 : ttl); // RFC 2181: treat the top bit as zero TTL
      if (i < an && (type === qtype || qtype === TYPE_ANY)) layout.answersOfType++;
      if (type === TYPE_CNAME && i < an) {
        if (readName(buf, rdata, nameOut) < 0) return null;
        (layout.cnames ??= []).push(nameOut.name);
      } else if (type === TYPE_SOA && i >= an && i < an + ns) {
        const mname = skipName(buf, rdata);
        const rname = mname < 0 ? -1 : skipName(buf, mname);
        if (rname < 0 || rname + 20 > rdata + rdlen) return null;
        layout.negativeTtl = Math.min(ttl, buf.readUInt32BE(rname + 16));
      }
    }
    pos = rdata + rdlen;
  }
  return layout;
}
