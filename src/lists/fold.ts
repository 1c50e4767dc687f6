// Folding of domain names for matching: punycode labels decoded, Unicode
// normalised (NFKC, lower case, Latin/Greek/Cyrillic accents dropped) and
// look-alike letters mapped to the Latin letter they imitate, so that
// "pоrn" with a Cyrillic о, "ｐｏｒｎ" in fullwidth and "pörn" all give "porn".
// Leetspeak (p0rn) is folded separately, for keyword rules only: digits are
// real in domain lists ("4chan.org") but a disguise in keywords.
import { domainToASCII } from 'node:url';

// Look-alikes, as pairs "<look-alike><latin>", after NFKC and lower-casing.
// A compact subset of Unicode's confusables (UTS #39) for the scripts that are
// used to imitate Latin names: Cyrillic, Greek, Armenian and Latin variants.
const CONFUSABLE_PAIRS = [
  // Cyrillic
  'аa',
  'вb',
  'гr',
  'еe',
  'ёe',
  'һh',
  'іi',
  'їi',
  'јj',
  'кk',
  'мm',
  'нh',
  'оo',
  'пn',
  'рp',
  'сc',
  'тt',
  'уy',
  'ўy',
  'хx',
  'ьb',
  'ѕs',
  'ԁd',
  'ԛq',
  'ԝw',
  'ѡw',
  'үy',
  'ӏl',
  'ѵv',
  'ҝk',
  'ӄk',
  'ԍg',
  'ԓl',
  // Greek
  'αa',
  'βb',
  'γy',
  'εe',
  'ηn',
  'ιi',
  'κk',
  'νv',
  'οo',
  'ρp',
  'ςc',
  'τt',
  'υu',
  'χx',
  'ωw',
  'ϲc',
  'ϳj',
  'ϱp',
  // Armenian
  'օo',
  'սu',
  'ոn',
  'հh',
  'զq',
  'ցg',
  'աw',
  // Latin variants and small capitals
  'ɡg',
  'ıi',
  'ɩi',
  'ɪi',
  'łl',
  'ƚl',
  'ɫl',
  'ǀl',
  'ɑa',
  'ʏy',
  'ᴄc',
  'ᴏo',
  'ᴜu',
  'ᴠv',
  'ᴡw',
  'ᴢz',
  'ʀr',
  'ɴn',
  'ʜh',
  'ᴋk',
  'ᴍm',
  'ᴛt',
  'øo',
  'đd',
  'ħh',
  'ŧt',
  'ƅb',
  'ȷj',
  'ßss',
  'æae',
  'œoe',
];

const CONFUSABLES = new Map<number, string>(CONFUSABLE_PAIRS.map((p) => [p.codePointAt(0)!, p.slice(1)]));

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };

/** What a name needs before matching; nameKind() tells, in one pass over it. */
export const PLAIN_NAME = 0; // ASCII letters and separators: read as it is
export const DIGITS_NAME = 1; // ASCII with digits, @ or $: keyword rules also read it as leetspeak
export const INTERNATIONAL_NAME = 2; // punycode or non-ASCII: fold to the skeleton first
export type NameKind = typeof PLAIN_NAME | typeof DIGITS_NAME | typeof INTERNATIONAL_NAME;

export function nameKind(name: string): NameKind {
  let kind: NameKind = PLAIN_NAME;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 127) return INTERNATIONAL_NAME;
    if ((c >= 48 && c <= 57) || c === 64 || c === 36) kind = DIGITS_NAME;
  }
  return name.includes('xn--') ? INTERNATIONAL_NAME : kind;
}

/** True when the name has an `xn--` label or a non-ASCII character. */
export function isInternational(name: string): boolean {
  return nameKind(name) === INTERNATIONAL_NAME;
}

/**
 * The confusable skeleton of a name: punycode decoded, NFKC, lower case,
 * accents removed, look-alikes mapped. Plain ASCII names come back unchanged.
 */
export function skeleton(name: string): string {
  // The policy folds the same name twice in a row (list lookup, then keywords): remember the last one.
  if (name === lastName) return lastSkeleton;
  const result = computeSkeleton(name);
  lastName = name;
  lastSkeleton = result;
  return result;
}

let lastName = '';
let lastSkeleton = '';

function computeSkeleton(name: string): string {
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    if (labels[i].startsWith('xn--')) {
      const decoded = decodePunycode(labels[i].slice(4));
      if (decoded !== null) labels[i] = decoded;
    }
  }
  const text = labels
    .join('.')
    .normalize('NFKC')
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, ''); // combining accents of Latin, Greek and Cyrillic letters
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    out += cp < 128 ? ch : (CONFUSABLES.get(cp) ?? ch);
  }
  return out.normalize('NFC');
}

/**
 * The skeleton in the ASCII form lists are written in (punycode for what is
 * still non-ASCII), or null when it cannot be encoded.
 */
export function asciiSkeleton(name: string): string | null {
  const s = skeleton(name);
  if (/^[\x00-\x7f]*$/.test(s)) return s;
  return domainToASCII(s) || null;
}

/** Leetspeak folded: 0→o, 1→i, 3→e, 4→a, 5→s, 7→t, @→a, $→s. */
export function foldLeet(text: string): string {
  return text.replace(/[013457@$]/g, (c) => LEET[c]);
}

// RFC 3492 punycode decoding. Our own, rather than url.domainToUnicode, because
// that rejects labels that break IDNA rules, and a label under an attacker's own
// zone can break them and still resolve: we must still see what it spells.
const BASE = 36;
const TMIN = 1;
const TMAX = 26;
const SKEW = 38;
const DAMP = 700;

function adapt(delta: number, points: number, first: boolean): number {
  delta = first ? Math.floor(delta / DAMP) : delta >> 1;
  delta += Math.floor(delta / points);
  let k = 0;
  while (delta > ((BASE - TMIN) * TMAX) >> 1) {
    delta = Math.floor(delta / (BASE - TMIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - TMIN + 1) * delta) / (delta + SKEW));
}

function digitOf(c: number): number {
  if (c >= 48 && c <= 57) return c - 22; // 0-9 → 26-35
  if (c >= 65 && c <= 90) return c - 65; // A-Z
  if (c >= 97 && c <= 122) return c - 97; // a-z
  return BASE;
}

/** Decode the part of a label after `xn--`; null when it is not valid punycode. */
export function decodePunycode(input: string): string | null {
  if (input.length === 0 || input.length > 252) return null;
  const out: number[] = [];
  const basic = Math.max(input.lastIndexOf('-'), 0);
  for (let j = 0; j < basic; j++) {
    const c = input.charCodeAt(j);
    if (c >= 0x80) return null;
    out.push(c);
  }
  let n = 128;
  let bias = 72;
  let i = 0;
  for (let pos = basic > 0 ? basic + 1 : 0; pos < input.length;) {
    const oldI = i;
    let w = 1;
    for (let k = BASE; ; k += BASE) {
      if (pos >= input.length) return null;
      const digit = digitOf(input.charCodeAt(pos++));
      if (digit >= BASE) return null;
      i += digit * w;
      const t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
      if (digit < t) break;
      w *= BASE - t;
      if (i > 0x10ffff * 256 || w > 0x10ffff * 256) return null; // garbage, not a label
    }
    const points = out.length + 1;
    bias = adapt(i - oldI, points, oldI === 0);
    n += Math.floor(i / points);
    i %= points;
    if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return null;
    out.splice(i++, 0, n);
  }
  return String.fromCodePoint(...out);
}
