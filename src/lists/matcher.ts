// The compact domain matcher: millions of names, each with what it does per
// category, in a handful of typed arrays (about 10 bytes per name).
//
// Layout (built by builder.ts, usually in a worker, then transferred):
//   his/los  the two 32-bit halves of each name's hash (hash.ts), grouped in
//            buckets by the top bits of `hi` and sorted within a bucket (so
//            sorted by `hi` as an unsigned number overall)
//   dir      bucket b holds entries dir[b] .. dir[b+1]-1 (about 16-32 each,
//            so `dir` stays small enough to live in the CPU cache)
//   ids      per entry, a "combo" id: entries that are in the same lists with
//            the same flags share one combo
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
  his: Int32Array;
  los: Int32Array;
  ids: Uint16Array | Uint32Array;
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
  private readonly his: Int32Array;
  private readonly los: Int32Array;
  private readonly ids: Uint16Array | Uint32Array;
  private readonly masks: Int32Array;

  constructor(
    private readonly data: MatcherData,
    private readonly lists: readonly MatcherList[],
  ) {
    this.shift = data.shift;
    this.bits = 32 - data.shift;
    this.dir = data.dir;
    this.his = data.his;
    this.los = data.los;
    this.ids = data.ids;
    this.masks = data.comboMasks;
  }

  get size(): number {
    return this.his.length;
  }

  /** Every buffer, for a transfer list or for memory accounting. */
  buffers(): ArrayBuffer[] {
    const d = this.data;
    return [d.dir, d.his, d.los, d.ids, d.comboMasks, d.comboStart, d.comboTags].map((a) => a.buffer as ArrayBuffer);
  }

  lookup(name: string): number {
    const his = this.his;
    if (his.length === 0) return 0;
    const los = this.los;
    const dir = this.dir;
    const shift = this.shift;
    const bits = this.bits;
    // hash.ts's stepA/stepB/finish, written out: calls across modules are not
    // always inlined (under tsx they go through export getters), and this is
    // the hot path. test/lists/matcher.test.ts checks the two agree.
    let a = SEED_A_LOCAL;
    let b = SEED_B_LOCAL;
    let result = 0;
    for (let i = name.length - 1; i >= 0; i--) {
      const c = name.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      const x = Math.imul(b ^ c, 0x5bd1e995);
      b = x ^ (x >>> 15);
      if (i !== 0 && name.charCodeAt(i - 1) !== 0x2e) continue;
      // A suffix is complete: find its entry (inlined find(), the hot path).
      let hi = a ^ (a >>> 16);
      hi = Math.imul(hi, 0x85ebca6b);
      hi ^= hi >>> 13;
      hi = Math.imul(hi, 0xc2b2ae35);
      hi ^= hi >>> 16;
      const bucket = hi >>> shift;
      const start = dir[bucket];
      const end = dir[bucket + 1];
      if (start === end) continue;
      let j = start + ((((hi << bits) >>> 0) * (end - start)) / 4294967296) | 0;
      if (his[j] < hi) {
        do j++;
        while (j < end && his[j] < hi);
      } else {
        while (j > start && his[j - 1] >= hi) j--;
      }
      if (j === end || his[j] !== hi) continue;
      let lo = b ^ (b >>> 16);
      lo = Math.imul(lo, 0x85ebca6b);
      lo ^= lo >>> 13;
      lo = Math.imul(lo, 0xc2b2ae35);
      lo ^= lo >>> 16;
      for (; j < end && his[j] === hi; j++) {
        if (los[j] !== lo) continue;
        const m = this.ids[j] << 2;
        if (i === 0) result = (result | this.masks[m]) & ~this.masks[m + 2];
        else result = (result | this.masks[m + 1]) & ~this.masks[m + 3];
        break;
      }
    }
    return result >>> 0;
  }

  /**
   * Index of the entry with this hash, or -1. Hashes are uniform, so the
   * entry's place inside its bucket is guessed from the hash's low bits and
   * found within a step or two of the guess: usually one cache miss.
   */
  private find(hi: number, lo: number): number {
    const bucket = hi >>> this.shift;
    const his = this.his;
    const start = this.dir[bucket];
    const end = this.dir[bucket + 1];
    let j = start + Math.floor((((hi << this.bits) >>> 0) * (end - start)) / 4294967296);
    if (j < end && his[j] < hi) {
      do j++;
      while (j < end && his[j] < hi);
    } else {
      while (j > start && his[j - 1] >= hi) j--;
    }
    for (; j < end && his[j] === hi; j++) if (this.los[j] === lo) return j;
    return -1;
  }

  explain(name: string): MatchExplanation[] {
    if (this.his.length === 0) return [];
    const bits = this.lookup(name);
    const out = new Map<string, MatchExplanation>();
    for (const s of suffixHashes(name)) {
      const j = this.find(s.hi, s.lo);
      if (j < 0) continue;
      const combo = this.ids[j];
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

/** The matcher before any list has loaded: matches nothing. */
export function emptyMatcher(): DomainMatcher {
  return {
    lookup: () => 0,
    size: 0,
    explain: () => [],
  };
}
