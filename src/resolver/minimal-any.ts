// Minimal answers to ANY over UDP (RFC 8482 §4.1): a 38-byte ANY query must
// not draw a kilobyte back to a spoofed address. Over UDP the client gets one
// RRset of the answer (with the signatures over it); over TCP, where a spoofed
// source cannot be amplified, the whole answer, which RFC 8482 leaves to the
// operator. nsd cuts ANY to one RRset for its own zones in the same way.
//
// The RRset kept is the one the answer section starts with, so the short
// answer is a prefix of the full one: every compression pointer in it still
// points where it did, and the cache needs no second copy, only where to cut.
import { TYPE_RRSIG, skipName } from './wire.js';

/** Where to cut a stored ANY answer for UDP. */
export interface AnyCut {
  /** Offset just past the kept RRset. */
  end: number;
  /** Records kept in the answer section. */
  count: number;
}

/**
 * The leading RRset of an answer section and the RRSIGs over it that follow
 * it, or null when there is nothing to cut (a single RRset, no answer) or the
 * section is malformed.
 */
export function leadingRRset(wire: Buffer, questionEnd: number, answerCount: number): AnyCut | null {
  let pos = questionEnd;
  let kept = -1; // the type of the RRset kept
  let count = 0;
  for (; count < answerCount; count++) {
    const nameEnd = skipName(wire, pos);
    if (nameEnd < 0 || nameEnd + 10 > wire.length) return null;
    const type = wire.readUInt16BE(nameEnd);
    const rdlength = wire.readUInt16BE(nameEnd + 8);
    // An RRSIG belongs to the RRset of the type it covers (RFC 4034 §3.1: the first rdata field).
    const rrset = type === TYPE_RRSIG && rdlength >= 2 ? wire.readUInt16BE(nameEnd + 10) : type;
    if (kept < 0) kept = rrset;
    else if (rrset !== kept) break;
    pos = nameEnd + 10 + rdlength;
    if (pos > wire.length) return null;
  }
  return count > 0 && count < answerCount ? { end: pos, count } : null;
}
