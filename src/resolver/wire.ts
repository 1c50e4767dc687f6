// Wire helpers for the hot path. Only the header and the question of a query
// are decoded; answers are built by copying bytes and patching them in place.
// Answers we make up (blocks, safe search) are built with dns-packet elsewhere.

export const HEADER_SIZE = 12;
export const TYPE_OPT = 41;
export const TYPE_CNAME = 5;
export const TYPE_SOA = 6;
export const CLASS_IN = 1;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Extended DNS Error info-codes we use (RFC 8914). */
export const EDE = { STALE_ANSWER: 3, BLOCKED: 15, FILTERED: 17, NOT_SUPPORTED: 21, NO_REACHABLE_AUTHORITY: 22 } as const;

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
 * query should not contain (answers, trailing bytes, bad names) is FORMERR;
 * responses and packets too short to answer are dropped.
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
  if (pos !== buf.length) return 'formerr'; // trailing garbage
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

/** Length of our OPT record: root name, type, class, ttl, rdlength. */
export const OPT_SIZE = 11;

/** Write an OPT record with no options at `offset`; returns the offset after it. */
export function writeOpt(buf: Buffer, offset: number, udpSize: number, dnssecOk: boolean, extendedRcode = 0): number {
  buf[offset] = 0;
  buf.writeUInt16BE(TYPE_OPT, offset + 1);
  buf.writeUInt16BE(udpSize, offset + 3);
  buf[offset + 5] = extendedRcode;
  buf[offset + 6] = 0; // version 0
  buf[offset + 7] = dnssecOk ? 0x80 : 0;
  buf[offset + 8] = 0;
  buf.writeUInt16BE(0, offset + 9);
  return offset + OPT_SIZE;
}

/**
 * A header-only (plus question, when there is one) response for errors made
 * here: FORMERR, NOTIMP, SERVFAIL, REFUSED, BADVERS. An Extended DNS Error
 * can be attached when the client speaks EDNS.
 */
export function errorResponse(
  query: Buffer,
  rcode: number,
  opts: {
    questionEnd?: number;
    edns?: boolean;
    udpSize?: number;
    dnssecOk?: boolean;
    ede?: { code: number; text: string };
    extendedRcode?: number;
  } = {},
): Buffer {
  const questionEnd = opts.questionEnd ?? HEADER_SIZE;
  const edeText = opts.ede ? Buffer.from(opts.ede.text, 'utf8') : undefined;
  const optLen = opts.edns ? OPT_SIZE + (opts.ede ? 4 + 2 + edeText!.length : 0) : 0;
  const out = Buffer.allocUnsafe(questionEnd + optLen);
  query.copy(out, 0, 0, questionEnd);
  out[2] = 0x80 | (query[2] & 0x79); // QR, keep opcode and RD; clear AA and TC
  out[3] = 0x80 | (query[3] & 0x10) | (rcode & 0x0f); // RA, keep CD
  out.writeUInt16BE(questionEnd > HEADER_SIZE ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(opts.edns ? 1 : 0, 10);
  if (opts.edns) {
    const p = writeOpt(out, questionEnd, opts.udpSize ?? 1232, opts.dnssecOk ?? false, opts.extendedRcode ?? 0);
    if (opts.ede) {
      out.writeUInt16BE(4 + 2 + edeText!.length, p - 2); // rdlength
      out.writeUInt16BE(15, p); // option code: Extended DNS Error
      out.writeUInt16BE(2 + edeText!.length, p + 2);
      out.writeUInt16BE(opts.ede.code, p + 4);
      edeText!.copy(out, p + 6);
    }
  }
  return out;
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
  if (buf.length < HEADER_SIZE) return null;
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  const layout: ResponseLayout = {
    rcode: buf[3] & 0x0f,
    truncated: (buf[2] & 0x02) !== 0,
    answerCount: an,
    ttlOffsets: [],
    ttls: [],
    optStart: -1,
    optEnd: -1,
    negativeTtl: -1,
    cnames: undefined,
  };
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
