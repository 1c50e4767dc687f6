// Keyword rules: words that block a name in a category even when no list has
// it. To avoid the Scunthorpe problem a keyword matches a whole token of the
// name, never any substring: tokens are the runs of letters and digits between
// dots, hyphens, underscores and other punctuation. So "sex" blocks
// "sex.example" and "free-sex.example" but not "essex.ac.uk" or
// "sussex.police.uk". A keyword written with a star matches a token part:
// "porn*" matches tokens that begin with "porn" (pornhub), "*porn" tokens that
// end with it, "*porn*" anywhere inside a token. Use stars only for words that
// do not hide inside innocent words.
//
// Names with digits, @ or $ are read twice: with digits as separators
// ("sex4free" → sex, free) and with leetspeak folded ("p0rn" → porn).
// Punycode and non-ASCII names are first folded to their confusable skeleton
// (fold.ts). ASCII names, nearly every query, are read in place, hashing each
// word as it goes: no allocation.
import { foldLeet, skeleton } from './fold.js';

interface Word {
  word: string;
  mask: number;
}

interface Affix extends Word {
  atStart: boolean;
  atEnd: boolean;
}

// How scan() reads the characters of a name.
const PLAIN = 0; // as they are: letters and digits make words
const SPLIT = 1; // digits separate words: "sex4free" → sex, free
const LEET = 2; // leetspeak folded: "p0rn" → porn, "c@$ino" → casino
type Mode = typeof PLAIN | typeof SPLIT | typeof LEET;

// Leetspeak by character code: 0→o, 1→i, 3→e, 4→a, 5→s, 7→t, @→a, $→s.
const LEET_CODES = new Int32Array(128);
for (const [from, to] of Object.entries({ '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' })) {
  LEET_CODES[from.charCodeAt(0)] = to.charCodeAt(0);
}

function isSeparator(c: number): boolean {
  // ASCII that is not a letter or digit; non-ASCII letters are word characters.
  return c < 128 && !((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90));
}

/** The character as `mode` reads it, or -1 for a separator. */
function read(c: number, mode: Mode): number {
  if (mode === LEET && c < 128 && LEET_CODES[c] !== 0) return LEET_CODES[c];
  if (isSeparator(c) || (mode === SPLIT && c >= 48 && c <= 57)) return -1;
  return c;
}

/** Whether the name needs more than the plain reading: digits, @ or $ (leetspeak), or punycode / non-ASCII (folding). */
function kindOf(name: string): 'plain' | 'digits' | 'international' {
  let digits = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 127) return 'international';
    if ((c >= 48 && c <= 57) || c === 64 || c === 36) digits = true;
  }
  if (name.includes('xn--')) return 'international';
  return digits ? 'digits' : 'plain';
}

export class KeywordMatcher {
  /** OR of the category bits that have at least one keyword. */
  readonly mask: number;
  private readonly exact = new Map<number, Word[]>();
  private readonly affixes: Affix[] = [];
  private minLen = Infinity;
  private maxLen = 0;

  /** `keywords[i]` are the keywords of category bit i. Throws on a keyword that is not one token. */
  constructor(keywords: readonly (readonly string[])[]) {
    let mask = 0;
    keywords.forEach((words, bit) => {
      for (const raw of words) {
        const atStart = !raw.startsWith('*');
        const atEnd = !raw.endsWith('*');
        const word = foldLeet(skeleton(raw.replace(/^\*|\*$/g, '')));
        if (word.length < 2 || [...word].some((ch) => isSeparator(ch.charCodeAt(0)))) {
          throw new Error(`keyword "${raw}" must be one word of letters and digits, with an optional * at either end`);
        }
        mask |= 1 << bit;
        if (atStart && atEnd) this.addExact(word, 1 << bit);
        else this.affixes.push({ word, mask: 1 << bit, atStart, atEnd });
      }
    });
    this.mask = mask;
  }

  private addExact(word: string, mask: number): void {
    let h = 0;
    for (let i = 0; i < word.length; i++) h = (Math.imul(h, 31) + word.charCodeAt(i)) | 0;
    let bucket = this.exact.get(h);
    if (!bucket) this.exact.set(h, (bucket = []));
    const found = bucket.find((w) => w.word === word);
    if (found) found.mask |= mask;
    else bucket.push({ word, mask });
    this.minLen = Math.min(this.minLen, word.length);
    this.maxLen = Math.max(this.maxLen, word.length);
  }

  /** OR of the category bits whose keywords match the name (lower-case presentation form). */
  match(name: string): number {
    if (this.mask === 0) return 0;
    switch (kindOf(name)) {
      case 'plain':
        return this.scan(name, PLAIN);
      case 'digits':
        // ASCII is its own skeleton: read it twice, allocating nothing.
        return this.scan(name, SPLIT) | this.scan(name, LEET);
      default: {
        // Rare: fold to the skeleton, and make any non-ASCII punctuation a plain separator.
        const folded = skeleton(name).replace(/[^\p{L}\p{M}\p{N}@$]+/gu, '.');
        return this.scan(folded, SPLIT) | this.scan(folded, LEET);
      }
    }
  }

  /** Every word of `text` as `mode` reads it, against the exact keywords and the starred ones. */
  private scan(text: string, mode: Mode): number {
    let found = 0;
    let start = 0;
    let h = 0;
    for (let i = 0; i <= text.length; i++) {
      const c = i < text.length ? read(text.charCodeAt(i), mode) : -1;
      if (c !== -1) {
        h = (Math.imul(h, 31) + c) | 0;
        continue;
      }
      const len = i - start;
      if (len > 0) {
        if (len >= this.minLen && len <= this.maxLen) {
          const bucket = this.exact.get(h);
          if (bucket !== undefined) {
            for (let j = 0; j < bucket.length; j++) {
              const w = bucket[j];
              if (w.word.length === len && sameAt(text, start, w.word, mode)) found |= w.mask;
            }
          }
        }
        for (let j = 0; j < this.affixes.length; j++) {
          const a = this.affixes[j];
          if ((found & a.mask) === 0 && hasAffix(text, start, i, a, mode)) found |= a.mask;
        }
      }
      start = i + 1;
      h = 0;
    }
    return found;
  }
}

/** Whether `word` is at `at` in `text`, as `mode` reads it. */
function sameAt(text: string, at: number, word: string, mode: Mode): boolean {
  for (let k = 0; k < word.length; k++) if (read(text.charCodeAt(at + k), mode) !== word.charCodeAt(k)) return false;
  return true;
}

/** Whether the word text[start, end) begins with, ends with or contains the starred keyword. */
function hasAffix(text: string, start: number, end: number, a: Affix, mode: Mode): boolean {
  const last = end - a.word.length;
  if (last < start) return false;
  if (a.atStart) return sameAt(text, start, a.word, mode);
  if (a.atEnd) return sameAt(text, last, a.word, mode);
  for (let at = start; at <= last; at++) if (sameAt(text, at, a.word, mode)) return true;
  return false;
}
