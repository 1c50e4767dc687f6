// Extended DNS Errors (RFC 8914) in upstream answers. A validating recursor
// (unbound on the appliance: docs/operations.md) answers a name whose DNSSEC
// signatures do not verify with SERVFAIL and an EDE saying why (6 DNSSEC Bogus,
// 7 Signature Expired, …). That answer is the recursor's verdict on the name,
// not a fault of the link that carried it, so:
// - links.ts takes it as the link's answer: no failure is counted and the
//   question is not asked again on another link, whose resolver might not
//   validate and would hand out the very data that failed (a downgrade);
// - the cache passes the EDE options of an error answer on to the client (RFC
//   8914 §3 lets a forwarder do so), in our OPT record (wire.ts writeOpt);
//   error answers are never cached, so an EDE is never replayed after the
//   fact, and a verdict is not a failure that a stale answer could stand in for.
import { HEADER_SIZE, OPTION_EDE, RCODE, readResponseLayout, skipName } from './wire.js';

/**
 * Info-codes by which a validator says the data failed DNSSEC: 1 and 2
 * (unsupported algorithm, digest), 6 (bogus), 7 and 8 (signature expired, not
 * yet valid), 9 (DNSKEY missing: unbound also gives it for a DNSKEY set that
 * does not verify, as in a zone whose signatures have all expired), 10
 * (RRSIGs missing), 11 (no zone key bit), 12 (NSEC missing). Left out: 5
 * (indeterminate), which says no verdict was reached.
 */
const VALIDATION_FAILURES = new Set([1, 2, 6, 7, 8, 9, 10, 11, 12]);

/**
 * The EDE options (code, length, info-code, text: each as on the wire) of the
 * OPT record at [optStart, optEnd) of a message, concatenated; undefined when
 * it has none, or when the record is malformed.
 */
export function edeOptions(wire: Buffer, optStart: number, optEnd: number): Buffer | undefined {
  if (optStart < 0) return undefined;
  const nameEnd = skipName(wire, optStart);
  if (nameEnd < 0 || nameEnd + 10 > optEnd) return undefined;
  const found: Buffer[] = [];
  for (let pos = nameEnd + 10; pos + 4 <= optEnd;) {
    const length = wire.readUInt16BE(pos + 2);
    const end = pos + 4 + length;
    if (end > optEnd) return undefined;
    if (wire.readUInt16BE(pos) === OPTION_EDE && length >= 2) found.push(wire.subarray(pos, end));
    pos = end;
  }
  return found.length === 0 ? undefined : Buffer.concat(found);
}

/** The info-codes of options returned by edeOptions(), in order. */
export function edeInfoCodes(options: Buffer): number[] {
  const codes: number[] = [];
  for (let pos = 0; pos + 6 <= options.length; pos += 4 + options.readUInt16BE(pos + 2)) codes.push(options.readUInt16BE(pos + 4));
  return codes;
}

/** Whether EDE options (from edeOptions) say that the data failed DNSSEC validation. */
export function validationFailed(options: Buffer): boolean {
  return edeInfoCodes(options).some((code) => VALIDATION_FAILURES.has(code));
}

/**
 * True when an upstream answer to a question of `questionLength` bytes is a
 * SERVFAIL whose EDE says that validation failed: the validator's verdict,
 * which no other link should be asked to overrule.
 */
export function isValidationFailure(wire: Buffer, questionLength: number): boolean {
  if (wire.length < HEADER_SIZE || (wire[3] & 0x0f) !== RCODE.SERVFAIL || wire.readUInt16BE(10) === 0) return false;
  const layout = readResponseLayout(wire, HEADER_SIZE + questionLength);
  const options = layout ? edeOptions(wire, layout.optStart, layout.optEnd) : undefined;
  return options !== undefined && validationFailed(options);
}
