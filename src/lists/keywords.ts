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
// Spam names glue words together ("freeporn-videos", "hotsex", "sexcam",
// "onlinecasino"), which whole-word matching misses, and a star in front
// ("*porn*") would catch innocent compounds ("cheapornaments" is
// cheap + ornaments). So a token is also read as a compound of a keyword and
// the short words that spam names glue to one (COMPOUND_PREFIXES before it,
// COMPOUND_SUFFIXES after it): "freeporn" is free + porn, "freesexchat" is
// free + sex + chat. A false positive then needs an innocent word that is
// exactly such a word plus a keyword, which the false-positive corpus in
// test/lists/keywords.test.ts checks ("expertsexchange", "therapist" and
// "rapeseed" stay open).
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

/**
 * Words that spam names put before a keyword (free + porn) and after one
 * (sex + cam). Kept short and reviewed: each one widens what a keyword
 * matches. Never a single letter or a word that begins or ends common
 * innocent words ("the" + rapist, "a" + betting, rape + "seed", cock + "tail").
 */
export const COMPOUND_PREFIXES = ['free', 'hot', 'best', 'top', 'real', 'live', 'sexy', 'teen', 'online', 'cheap', 'big', 'new', 'my'];
export const COMPOUND_SUFFIXES = [
  'cam',
  'cams',
  'chat',
  'tube',
  'videos',
  'video',
  'vids',
  'pics',
  'club',
  'online',
  'hub',
  'live',
  'shop',
  'free',
];

/** Words by their first character code (an array for ASCII, the common case), for the compound reading. */
class ByFirst<T> {
  private readonly ascii: (T[] | undefined)[] = new Array(128).fill(undefined);
  private readonly other = new Map<number, T[]>();

  constructor(items: readonly T[], word: (t: T) => string) {
    for (const t of items) {
      const c = word(t).charCodeAt(0);
      let list = this.get(c);
      if (!list) {
        list = [];
        if (c < 128) this.ascii[c] = list;
        else this.other.set(c, list);
      }
      list.push(t);
    }
  }

  get(c: number): T[] | undefined {
    return c >= 0 && c < 128 ? this.ascii[c] : this.other.get(c);
  }
}

function byFirst<T>(items: readonly T[], word: (t: T) => string): ByFirst<T> {
  return new ByFirst(items, word);
}

const PREFIXES = byFirst(COMPOUND_PREFIXES, (w) => w);
const SUFFIXES = byFirst(COMPOUND_SUFFIXES, (w) => w);
const MIN_PREFIX = Math.min(...COMPOUND_PREFIXES.map((w) => w.length));
const MIN_SUFFIX = Math.min(...COMPOUND_SUFFIXES.map((w) => w.length));

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
  /** Word-start affixes ("porn*") by first character, word-end ones ("*bet") by last: a word is compared only with those it could be. */
  private readonly startByFirst: ByFirst<Affix>;
  private readonly endByLast: ByFirst<Affix>;
  /** "*word*": searched for inside every word. */
  private readonly insides: Affix[];
  /** Exact keywords by first character, for the compound reading. */
  private readonly exactByFirst: ByFirst<Word>;
  /** By ASCII code: 1 where an exact keyword or a glue prefix begins with it, so the compound reading can start there. */
  private readonly compoundStart = new Uint8Array(128);
  private minLen = Infinity;
  private maxLen = 0;
  /** The shortest word the compound reading can match in. */
  private readonly minCompound: number;

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
    const exact = [...this.exact.values()].flat();
    const starts = this.affixes.filter((a) => a.atStart && !a.atEnd);
    this.exactByFirst = byFirst(exact, (w) => w.word);
    this.startByFirst = byFirst(starts, (a) => a.word);
    this.endByLast = byFirst(
      this.affixes.filter((a) => !a.atStart && a.atEnd),
      (a) => a.word.slice(-1),
    );
    this.insides = this.affixes.filter((a) => !a.atStart && !a.atEnd);
    for (const w of [...exact.map((e) => e.word), ...COMPOUND_PREFIXES]) {
      const c = w.charCodeAt(0);
      if (c < 128) this.compoundStart[c] = 1;
    }
    const shortest = Math.min(...exact.map((w) => w.word.length), ...starts.map((a) => a.word.length));
    this.minCompound = shortest + Math.min(MIN_PREFIX, MIN_SUFFIX);
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
        const first = read(text.charCodeAt(start), mode);
        const starts = this.startByFirst.get(first);
        if (starts !== undefined) {
          for (let j = 0; j < starts.length; j++) {
            const a = starts[j];
            if (len >= a.word.length && sameAt(text, start, a.word, mode)) found |= a.mask;
          }
        }
        const ends = this.endByLast.get(read(text.charCodeAt(i - 1), mode));
        if (ends !== undefined) {
          for (let j = 0; j < ends.length; j++) {
            const a = ends[j];
            if (len >= a.word.length && sameAt(text, i - a.word.length, a.word, mode)) found |= a.mask;
          }
        }
        for (let j = 0; j < this.insides.length; j++) {
          const a = this.insides[j];
          if ((found & a.mask) === 0 && contains(text, start, i, a.word, mode)) found |= a.mask;
        }
        if (len >= this.minCompound && (first >= 128 || this.compoundStart[first] === 1)) found |= this.compound(text, start, i, mode);
      }
      start = i + 1;
      h = 0;
    }
    return found;
  }

  /**
   * The compound reading of the word text[start, end): a keyword after up to
   * two glue prefixes ("freehotporn"), and an exact keyword followed by one
   * glue suffix ("sexcam", "freesexchat"). In place, no allocation.
   */
  private compound(text: string, start: number, end: number, mode: Reading): number {
    let found = this.keywordAt(text, start, end, mode, false);
    let at = start;
    for (let round = 0; round < 2; round++) {
      const glue = prefixAt(text, at, end - this.minLen, mode);
      if (glue === 0) break;
      at += glue;
      found |= this.keywordAt(text, at, end, mode, true);
    }
    return found;
  }

  /**
   * Keywords that begin at `at` of the word ending at `end`: an exact one that
   * ends the word (after a prefix) or is followed by a glue suffix, and, after
   * a prefix, a word-start one ("porn*").
   */
  private keywordAt(text: string, at: number, end: number, mode: Reading, afterPrefix: boolean): number {
    const first = read(text.charCodeAt(at), mode);
    let found = 0;
    const exact = this.exactByFirst.get(first);
    if (exact !== undefined) {
      for (let j = 0; j < exact.length; j++) {
        const w = exact[j];
        const after = at + w.word.length;
        if (after > end || !sameAt(text, at, w.word, mode)) continue;
        if (after === end ? afterPrefix : isSuffix(text, after, end, mode)) found |= w.mask;
      }
    }
    if (afterPrefix) {
      const starts = this.startByFirst.get(first);
      if (starts !== undefined) {
        for (let j = 0; j < starts.length; j++) {
          const a = starts[j];
          if (at + a.word.length <= end && sameAt(text, at, a.word, mode)) found |= a.mask;
        }
      }
    }
    return found;
  }
}

/** The length of a glue prefix at `at` that ends by `limit`, or 0. */
function prefixAt(text: string, at: number, limit: number, mode: Reading): number {
  const list = PREFIXES.get(read(text.charCodeAt(at), mode));
  if (list === undefined) return 0;
  for (let j = 0; j < list.length; j++) {
    const w = list[j];
    if (at + w.length <= limit && sameAt(text, at, w, mode)) return w.length;
  }
  return 0;
}

/** Whether text[at, end) is one glue suffix. */
function isSuffix(text: string, at: number, end: number, mode: Reading): boolean {
  const list = SUFFIXES.get(read(text.charCodeAt(at), mode));
  if (list === undefined) return false;
  for (let j = 0; j < list.length; j++) if (list[j].length === end - at && sameAt(text, at, list[j], mode)) return true;
  return false;
}

/** Whether `word` is at `at` in `text`, as `mode` reads it. */
function sameAt(text: string, at: number, word: string, mode: Reading): boolean {
  for (let k = 0; k < word.length; k++) if (read(text.charCodeAt(at + k), mode) !== word.charCodeAt(k)) return false;
  return true;
}

/** Whether the word text[start, end) contains `word`. */
function contains(text: string, start: number, end: number, word: string, mode: Reading): boolean {
  for (let at = start; at <= end - word.length; at++) if (sameAt(text, at, word, mode)) return true;
  return false;
}
