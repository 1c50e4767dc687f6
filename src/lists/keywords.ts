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
import { DIGITS_NAME, PLAIN_NAME, foldLeet, nameKind, skeleton, type NameKind } from './fold.js';

interface Word {
  word: string;
  mask: number;
}

interface Affix extends Word {
  atStart: boolean;
  atEnd: boolean;
}

// How scan() reads the characters of a name: a table per reading, from ASCII
// code to the letter it counts as, or -1 for a separator. Non-ASCII characters
// (only in folded skeletons) are letters.
type Reading = Int16Array;

function reading(build: (c: number) => number): Reading {
  const table = new Int16Array(128);
  for (let c = 0; c < 128; c++) table[c] = build(c);
  return table;
}

const isLetter = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
const isDigit = (c: number) => c >= 48 && c <= 57;
const LEET_MAP: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's' };

/** As written: letters and digits make words. */
const PLAIN = reading((c) => (isLetter(c) || isDigit(c) ? c : -1));
/** Digits separate words: "sex4free" → sex, free. */
const SPLIT = reading((c) => (isLetter(c) ? c : -1));
/** Leetspeak folded: "p0rn" → porn, "c@$ino" → casino. */
const LEET = reading((c) => {
  const to = LEET_MAP[String.fromCharCode(c)];
  return to !== undefined ? to.charCodeAt(0) : PLAIN[c];
});

function read(c: number, table: Reading): number {
  return c < 128 ? table[c] : c;
}

function isSeparator(c: number): boolean {
  return read(c, PLAIN) === -1;
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
  match(name: string, kind: NameKind = nameKind(name)): number {
    if (this.mask === 0) return 0;
    if (kind === PLAIN_NAME) return this.scan(name, PLAIN);
    // ASCII is its own skeleton: read it twice in place, allocating nothing.
    if (kind === DIGITS_NAME) return this.scan(name, SPLIT) | this.scan(name, LEET);
    // Rare: fold to the skeleton, and make any non-ASCII punctuation a plain separator.
    const folded = skeleton(name).replace(/[^\p{L}\p{M}\p{N}@$]+/gu, '.');
    return this.scan(folded, SPLIT) | this.scan(folded, LEET);
  }

  /** Every word of `text` as `mode` reads it, against the exact keywords and the starred ones. */
  private scan(text: string, mode: Reading): number {
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
function sameAt(text: string, at: number, word: string, mode: Reading): boolean {
  for (let k = 0; k < word.length; k++) if (read(text.charCodeAt(at + k), mode) !== word.charCodeAt(k)) return false;
  return true;
}

/** Whether the word text[start, end) begins with, ends with or contains the starred keyword. */
function hasAffix(text: string, start: number, end: number, a: Affix, mode: Reading): boolean {
  const last = end - a.word.length;
  if (last < start) return false;
  if (a.atStart) return sameAt(text, start, a.word, mode);
  if (a.atEnd) return sameAt(text, last, a.word, mode);
  for (let at = start; at <= last; at++) if (sameAt(text, at, a.word, mode)) return true;
  return false;
}
