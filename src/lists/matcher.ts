// The compact domain matcher: millions of names, each with what it does per
// category, in a few typed arrays (about 12 bytes per name).
//
// Layout (built by builder.ts, usually in a worker, then transferred):
//   entries  per name three int32s: [hi, lo, combo]. hi/lo are the two halves
//            of the name's 64-bit hash (hash.ts); entries are grouped in
//            buckets by the top bits of hi and sorted by hi within a bucket
//            (so sorted by hi as an unsigned number overall). The three sit
//            side by side so a probe touches one cache line.
//   dir      bucket b holds entries dir[b] .. dir[b+1]-1 (about 16-32 each,
//            so `dir` stays small enough to live in the CPU cache)
//   combo    entries that are in the same lists with the same flags share one
//   comboMasks  per combo [blockApex, blockSub, exceptApex, exceptSub] as
//            category bitmasks (bit i = config.categories[i])
//   comboStart/comboTags  per combo, the (list index << 4 | flags) it came
//            from, only for explain()
//
// lookup() walks the suffixes of the name from the top-level domain down. At a
// parent of the name the "sub" masks apply, at the name itself the "apex"
// masks: result = (result | block) & ~except. So the most specific entry wins,
// and an exception clears its category for the name and below unless a more
// specific entry blocks again. (builder.ts has already dropped exception bits
// where another list of the same category still blocks: an exception is
// per list.)
import { SEED_A, SEED_B, suffixHashes } from './hash.js';
import { BLOCK_APEX, BLOCK_SUB, EXCEPT_APEX, EXCEPT_SUB } from './formats/types.js';

const SEED_A_LOCAL = SEED_A;
const SEED_B_LOCAL = SEED_B;
const DOT = 0x2e;
/** Suffix levels the shared scratch array holds; a DNS name has at most 127 labels. */
const MAX_LEVELS = 128;

export interface DomainMatcher {
  /** OR of the category bits that block this lower-case name (no trailing dot); 0 when none. */
  lookup(name: string): number;
  /** Distinct names held. */
  readonly size: number;
  /**
   * Which lists decide this name (slow path, for the UI and checks). Never
   * returns entry text, only list ids and categories.
   */
  explain(name: string): MatchExplanation[];
}

export interface MatchExplanation {
  listId: string;
  category: string;
  /** `block`: the list blocks the name; `exception`: the list's exception lets it through. */
  effect: 'block' | 'exception';
}

/** The arrays a matcher is made of; all transferable between threads. */
export interface MatcherData {
  shift: number;
  dir: Int32Array;
  /** [hi, lo, combo] per name. */
  entries: Int32Array;
  comboMasks: Int32Array;
  comboStart: Int32Array;
  comboTags: Int32Array;
}

/** The lists a matcher was built from, by list index (the `>> 4` of a combo tag). */
export interface MatcherList {
  id: string;
  category: string;
  /** Index of the category in config.categories: its bit in lookup() results. */
  bit: number;
}

export class CompactMatcher implements DomainMatcher {
  private readonly shift: number;
  /** Bits of `hi` used for the bucket (32 - shift). */
  private readonly bits: number;
  private readonly dir: Int32Array;
  private readonly entries: Int32Array;
  private readonly masks: Int32Array;
  /** Per suffix level: [hi, unfinished lo, guessed slot]. One per matcher; lookups are synchronous. */
  private readonly scratch = new Int32Array(MAX_LEVELS * 3);
  /** Written so the prefetching reads in lookup() are not optimised away. */
  private touched = 0;
  readonly size: number;

  constructor(
    private readonly data: MatcherData,
    private readonly lists: readonly MatcherList[],
  ) {
    this.shift = data.shift;
    this.bits = 32 - data.shift;
    this.dir = data.dir;
    this.entries = data.entries;
    this.masks = data.comboMasks;
    this.size = data.entries.length / 3;
  }

  /** Every buffer, for a transfer list or for memory accounting. */
  buffers(): ArrayBuffer[] {
    return matcherBuffers(this.data);
  }

  /**
   * The arrays of a matcher that holds only the entries touching `mask` (the
   * illegal categories, say), every combo mask cut to it. Bits are
   * independent in lookup(), so its lookup(name) is this one's & mask; the
   * result is small (the IWF list, not five million names) and is copied, so
   * it can be sent to another thread. It has no list tags (explain() is empty).
   */
  restrictedTo(mask: number): MatcherData {
    const { shift, dir, entries } = this.data;
    const comboMasks = this.masks.map((m) => m & mask);
    const keep: number[] = [];
    const kept = new Int32Array(dir.length);
    for (let b = 0; b + 1 < dir.length; b++) {
      for (let j = dir[b]; j < dir[b + 1]; j++) {
        const c = entries[j * 3 + 2] << 2;
        if ((comboMasks[c] | comboMasks[c + 1] | comboMasks[c + 2] | comboMasks[c + 3]) !== 0) keep.push(j);
      }
      kept[b + 1] = keep.length;
    }
    const out = new Int32Array(keep.length * 3);
    keep.forEach((j, i) => out.set(entries.subarray(j * 3, j * 3 + 3), i * 3));
    return {
      shift,
      dir: kept,
      entries: out,
      comboMasks,
      comboStart: new Int32Array(comboMasks.length / 4 + 1),
      comboTags: new Int32Array(0),
    };
  }

  lookup(name: string): number {
    if (this.size === 0) return 0;
    // Pass 1: the hash of every suffix, shortest first. hash.ts's
    // stepA/stepB/finish are written out: calls across modules are not always
    // inlined (under tsx they go through export getters), and this is the hot
    // path. The matcher tests check the two agree.
    // A name has at most one level per character (real names: at most 127).
    const h = name.length < MAX_LEVELS ? this.scratch : new Int32Array((name.length + 1) * 3);
    let levels = 0;
    let a = SEED_A_LOCAL;
    let b = SEED_B_LOCAL;
    for (let i = name.length - 1; i >= -1; i--) {
      const c = i >= 0 ? name.charCodeAt(i) : DOT;
      if (c === DOT && i < name.length - 1) {
        let hi = a ^ (a >>> 16);
        hi = Math.imul(hi, 0x85ebca6b);
        hi ^= hi >>> 13;
        hi = Math.imul(hi, 0xc2b2ae35);
        h[levels * 3] = hi ^ (hi >>> 16);
        h[levels * 3 + 1] = b;
        levels++;
      }
      a = Math.imul(a ^ c, 0x01000193);
      const x = Math.imul(b ^ c, 0x5bd1e995);
      b = x ^ (x >>> 15);
    }
    // Pass 2: each level's guessed slot. The loads do not depend on one
    // another, so the CPU overlaps their cache misses.
    const e = this.entries;
    const dir = this.dir;
    let touched = 0;
    for (let k = 0; k < levels; k++) {
      const hi = h[k * 3];
      const bucket = hi >>> this.shift;
      const start = dir[bucket];
      const end = dir[bucket + 1];
      const guess = start === end ? -1 : (start + (((hi << this.bits) >>> 0) * (end - start)) / 4294967296) | 0;
      h[k * 3 + 2] = guess;
      // Reading the guessed slot here starts its cache miss early (a prefetch).
      if (guess >= 0) touched ^= e[guess * 3];
    }
    this.touched = touched;
    // Pass 3: settle each level from its guess, most general first.
    let result = 0;
    for (let k = 0; k < levels; k++) {
      let j = h[k * 3 + 2];
      if (j < 0) continue;
      const hi = h[k * 3];
      const bucket = hi >>> this.shift;
      const start = dir[bucket];
      const end = dir[bucket + 1];
      if (e[j * 3] < hi) {
        do j++;
        while (j < end && e[j * 3] < hi);
      } else {
        while (j > start && e[(j - 1) * 3] >= hi) j--;
      }
      if (j === end || e[j * 3] !== hi) continue;
      let lo = h[k * 3 + 1];
      lo ^= lo >>> 16;
      lo = Math.imul(lo, 0x85ebca6b);
      lo ^= lo >>> 13;
      lo = Math.imul(lo, 0xc2b2ae35);
      lo ^= lo >>> 16;
      for (; j < end && e[j * 3] === hi; j++) {
        if (e[j * 3 + 1] !== lo) continue;
        const m = e[j * 3 + 2] << 2;
        if (k === levels - 1) result = (result | this.masks[m]) & ~this.masks[m + 2];
        else result = (result | this.masks[m + 1]) & ~this.masks[m + 3];
        break;
      }
    }
    return result >>> 0;
  }

  /**
   * Offset in `entries` of the name with this hash, or -1. Hashes are
   * uniform, so the entry's place inside its bucket is guessed from the
   * hash's low bits and found within a step or two of the guess: usually one
   * cache miss for the whole probe.
   */
  private find(hi: number, lo: number): number {
    const e = this.entries;
    const bucket = hi >>> this.shift;
    const start = this.dir[bucket];
    const end = this.dir[bucket + 1];
    if (start === end) return -1;
    let j = (start + (((hi << this.bits) >>> 0) * (end - start)) / 4294967296) | 0;
    if (e[j * 3] < hi) {
      do j++;
      while (j < end && e[j * 3] < hi);
    } else {
      while (j > start && e[(j - 1) * 3] >= hi) j--;
    }
    for (; j < end && e[j * 3] === hi; j++) if (e[j * 3 + 1] === lo) return j * 3;
    return -1;
  }

  explain(name: string): MatchExplanation[] {
    if (this.size === 0) return [];
    const bits = this.lookup(name);
    const out = new Map<string, MatchExplanation>();
    for (const s of suffixHashes(name)) {
      const j = this.find(s.hi, s.lo);
      if (j < 0) continue;
      const combo = this.entries[j + 2];
      const apex = s.start === 0;
      for (let t = this.data.comboStart[combo]; t < this.data.comboStart[combo + 1]; t++) {
        const tag = this.data.comboTags[t];
        const list = this.lists[tag >> 4];
        const bit = (1 << list.bit) >>> 0;
        const blocks = tag & (apex ? BLOCK_APEX : BLOCK_SUB);
        const excepts = tag & (apex ? EXCEPT_APEX : EXCEPT_SUB);
        if (blocks && (bits & bit) !== 0) out.set(list.id, { listId: list.id, category: list.category, effect: 'block' });
        else if (excepts && (bits & bit) === 0) out.set(list.id, { listId: list.id, category: list.category, effect: 'exception' });
      }
    }
    return [...out.values()];
  }
}

export function matcherBuffers(d: MatcherData): ArrayBuffer[] {
  return [d.dir, d.entries, d.comboMasks, d.comboStart, d.comboTags].map((a) => a.buffer as ArrayBuffer);
}

/** The matcher before any list has loaded: matches nothing. */
export function emptyMatcher(): DomainMatcher {
  return {
    lookup: () => 0,
    size: 0,
    explain: () => [],
  };
}
