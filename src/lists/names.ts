// Domain-name checks: the one normaliser, shared by every list format, the
// exceptions and the admin UI. Names are stored as lower-case presentation
// names without the trailing dot, exactly the form the resolver hands to the
// matcher, so the two hash the same bytes.
import { domainToASCII } from 'node:url';

const MAX_NAME = 253;
const MAX_LABEL = 63;

export type NameCheck = string | 'ip' | null;

/**
 * Normalise one name from a list: lower-case it, drop one trailing dot and one
 * leading dot (squidGuard's ".example.com"), turn Unicode into punycode, and
 * check label lengths and characters. Returns the name, 'ip' for an IPv4
 * literal (never a DNS name), or null when it is not a usable name.
 * Underscores are accepted: real lists carry them (`_dmarc`, tripod.com users).
 */
export function normalizeName(raw: string): NameCheck {
  let name = raw;
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.startsWith('.')) name = name.slice(1);
  if (name.length === 0 || name.length > MAX_NAME) return null;
  let labelLength = 0;
  let allDigitsOrDots = true;
  let upper = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      if (labelLength === 0) return null;
      labelLength = 0;
      continue;
    }
    if (++labelLength > MAX_LABEL) return null;
    if (c >= 0x30 && c <= 0x39) continue;
    allDigitsOrDots = false;
    if ((c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f) continue;
    if (c >= 0x41 && c <= 0x5a) {
      upper = true;
      continue;
    }
    if (c > 0x7f) return fromUnicode(name);
    return null;
  }
  if (labelLength === 0) return null;
  if (allDigitsOrDots) return isIPv4(name) ? 'ip' : null;
  return upper ? name.toLowerCase() : name;
}

/**
 * A domain a person typed (an allow or deny exception, the host on the block
 * page): trimmed, then the rules above, and at least two labels, so that no
 * exception can cover a whole top-level domain. Null for anything else (a
 * URL, a wildcard, an IP address). The admin UI validates with this and the
 * policy compiles with it, so the two always agree on what a domain is.
 */
export function normaliseDomain(text: string): string | null {
  const name = normalizeName(text.trim());
  return name !== null && name !== 'ip' && name.includes('.') ? name : null;
}

/** An internationalised name written in Unicode: its punycode (xn--) form, checked again. */
function fromUnicode(name: string): NameCheck {
  const ascii = domainToASCII(name);
  if (!ascii || /[^\x00-\x7f]/.test(ascii)) return null;
  const again = normalizeName(ascii);
  return again === 'ip' ? null : again;
}

export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** An IPv6 literal, bracketed or not (hosts files and URL lists carry them). */
export function isIPv6(text: string): boolean {
  const t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return t.includes(':') && /^[0-9a-fA-F:.]+$/.test(t);
}

/** Names a hosts file maps for the machine itself; never list entries. */
export const LOCAL_HOST_NAMES: ReadonlySet<string> = new Set([
  'localhost',
  'localhost.localdomain',
  'local',
  'broadcasthost',
  'ip6-localhost',
  'ip6-loopback',
  'ip6-localnet',
  'ip6-mcastprefix',
  'ip6-allnodes',
  'ip6-allrouters',
  'ip6-allhosts',
  '0.0.0.0',
]);
