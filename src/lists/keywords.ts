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
// Names with digits, @, $, punycode or non-ASCII letters are folded first
// (see fold.ts) and checked twice: with digits as separators ("sex4free" →
// sex, free) and with leetspeak folded ("p0rn" → porn). Plain ASCII names,
// nearly every query, take a fast path that hashes tokens in place and
// allocates nothing.
import { foldLeet, skeleton } from './fold.js';

interface Word {
  word: string;
  mask: number;
}

interface Affix extends Word {
  atStart: boolean;
  atEnd: boolean;
}

function isSeparator(c: number): boolean {
  // ASCII that is not a letter or digit; non-ASCII letters are word characters.
  return c < 128 && !((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90));
}

/** True when the name needs folding before keyword matching. */
function needsFolding(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 127 || (c >= 48 && c <= 57) || c === 64 || c === 36) return true;
  }
  return name.includes('xn--');
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
    const h = hashRange(word, 0, word.length);
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
    if (!needsFolding(name)) return this.scan(name);
    const folded = skeleton(name);
    // Digits as separators, then leetspeak folded: "porn4free" and "p0rn" both match porn.
    const split = folded.replace(/[^\p{L}\p{M}]+/gu, '.');
    const leet = foldLeet(folded).replace(/[^\p{L}\p{M}\p{N}]+/gu, '.');
    return this.scan(split) | this.scan(leet);
  }

  private scan(text: string): number {
    let found = 0;
    if (this.maxLen > 0) {
      let start = 0;
      let h = 0;
      for (let i = 0; i <= text.length; i++) {
        const c = i < text.length ? text.charCodeAt(i) : 46;
        if (!isSeparator(c)) {
          h = (Math.imul(h, 31) + c) | 0;
          continue;
        }
        const len = i - start;
        if (len >= this.minLen && len <= this.maxLen) {
          const bucket = this.exact.get(h);
          if (bucket !== undefined) {
            for (let j = 0; j < bucket.length; j++) {
              const w = bucket[j];
              if (w.word.length === len && text.startsWith(w.word, start)) found |= w.mask;
            }
          }
        }
        start = i + 1;
        h = 0;
      }
    }
    for (let j = 0; j < this.affixes.length; j++) {
      const a = this.affixes[j];
      if ((found & a.mask) === 0 && this.hasAffix(text, a)) found |= a.mask;
    }
    return found;
  }

  private hasAffix(text: string, a: Affix): boolean {
    for (let at = text.indexOf(a.word); at !== -1; at = text.indexOf(a.word, at + 1)) {
      const end = at + a.word.length;
      const startOk = !a.atStart || at === 0 || isSeparator(text.charCodeAt(at - 1));
      const endOk = !a.atEnd || end === text.length || isSeparator(text.charCodeAt(end));
      if (startOk && endOk) return true;
    }
    return false;
  }
}

function hashRange(text: string, from: number, to: number): number {
  let h = 0;
  for (let i = from; i < to; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}
