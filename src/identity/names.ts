// One place for the rules on identity values that come from outside: lease
// files, RADIUS packets, roster and device CSVs. Host names are chosen by the
// device (a pupil can call a laptop anything), so a value with control
// characters or of absurd length is dropped, never stored; other text is kept
// as written and made safe where it is shown (the html template escapes it,
// the CLI prints control characters as \xNN, CSV export defuses =+-@).
import ipaddr from 'ipaddr.js';

/** C0 and C1 control characters and DEL: never part of a name anyone typed. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Longest text field we keep (names, org units, asset tags). */
export const MAX_TEXT = 256;

/** A DHCP host name or PTR name: trimmed, trailing dot dropped; undefined if unusable. */
export function cleanHostName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const name = raw.trim().replace(/\.$/, '');
  if (name === '' || name === '*' || name.length > 253 || CONTROL.test(name)) return undefined;
  return name;
}

/** Free text from a roster or device list: trimmed; undefined when empty; an error string when unusable. */
export function cleanText(raw: string | undefined, max = MAX_TEXT): string | undefined | { error: string } {
  if (raw === undefined) return undefined;
  const text = raw.normalize('NFC').trim();
  if (text === '') return undefined;
  if (CONTROL.test(text)) return { error: 'control characters' };
  if (text.length > max) return { error: `longer than ${max} characters` };
  return text;
}

/** A MAC address in any usual spelling (aa:bb:…, aa-bb-…, aabb.ccdd.eeff, aabbccddeeff, 0:c:29:…) → aa:bb:cc:dd:ee:ff. */
export function normaliseMac(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim().toLowerCase();
  let hex: string;
  if (/^[0-9a-f]{1,2}([:-][0-9a-f]{1,2}){5}$/.test(text)) {
    hex = text
      .split(/[:-]/)
      .map((o) => o.padStart(2, '0'))
      .join('');
  } else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(text) || /^[0-9a-f]{12}$/.test(text)) {
    hex = text.replace(/\./g, '');
  } else {
    return undefined;
  }
  return hex.match(/../g)!.join(':');
}

/**
 * An IP address in the form the DNS server hands the identify link (Node's
 * formatting: dotted quad, RFC 5952 IPv6), so the map's keys match it exactly.
 * IPv4-mapped IPv6 becomes IPv4. Undefined when it is not an address.
 */
export function normaliseAddress(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (!ipaddr.isValid(text)) return undefined;
  // ipaddr.js accepts shorthand IPv4 such as "10.1"; lease files never write it.
  if (!text.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return ipaddr.process(text).toString();
}

/** Terminal-safe text: control characters shown as \xNN (names can hold anything). */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
