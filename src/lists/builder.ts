// Builds the arrays of a CompactMatcher (matcher.ts) from list entries. Runs
// in the build worker; memory peaks near 24 bytes per raw entry (the raw
// chunks are released while they are sorted into place, and the sorted array
// becomes the matcher's).
import { BLOCK_APEX, BLOCK_SUB, EXCEPT_APEX, EXCEPT_SUB } from './formats/types.js';
import { hashName, suffixHashes } from './hash.js';
import type { MatcherData } from './matcher.js';

const CHUNK = 1 << 20;
/** Entries per bucket: few enough buckets that `dir` stays in the CPU cache (matcher.ts guesses within a bucket). */
const PER_BUCKET = 16;
const MAX_BUCKET_BITS = 18;

interface Chunk {
  hi: Int32Array;
  lo: Int32Array;
  tag: Int32Array;
}

/** The sorted, merged entries while exceptions are resolved. */
interface Table {
  shift: number;
  dir: Int32Array;
  entries: Int32Array;
}

interface Combo {
  tags: number[];
  masks: [number, number, number, number];
}

export class MatcherBuilder {
  private chunks: Chunk[] = [];
  private used = CHUNK;
  private count = 0;
  /** Names that carry an exception, with their list: few, kept to resolve them per list. */
  private readonly exceptionNames = new Set<string>();
  private readonly hash = new Int32Array(2);

  /** @param listBits for each list index, the category bit index of its category. */
  constructor(private readonly listBits: readonly number[]) {}

  get rawEntries(): number {
    return this.count;
  }

  add(listIndex: number, name: string, flags: number): void {
    if (this.used === CHUNK) {
      this.chunks.push({ hi: new Int32Array(CHUNK), lo: new Int32Array(CHUNK), tag: new Int32Array(CHUNK) });
      this.used = 0;
    }
    const chunk = this.chunks[this.chunks.length - 1];
    hashName(name, this.hash);
    chunk.hi[this.used] = this.hash[0];
    chunk.lo[this.used] = this.hash[1];
    chunk.tag[this.used] = (listIndex << 4) | flags;
    this.used++;
    this.count++;
    if (flags & (EXCEPT_APEX | EXCEPT_SUB)) this.exceptionNames.add(name);
  }

  /** A point to roll back to if the list being added turns out to be broken. */
  mark(): number {
    return this.count;
  }

  rollback(mark: number): void {
    while (this.count > mark) {
      const drop = Math.min(this.count - mark, this.used);
      this.used -= drop;
      this.count -= drop;
      if (this.used === 0 && this.count > mark) {
        this.chunks.pop();
        this.used = CHUNK;
      }
    }
    if (this.used === 0 && this.chunks.length > 0) {
      this.chunks.pop();
      this.used = CHUNK;
    }
  }

  build(): MatcherData {
    const n = this.count;
    const bucketBits = Math.max(1, Math.min(MAX_BUCKET_BITS, Math.ceil(Math.log2(Math.max(2, n / PER_BUCKET)))));
    const shift = 32 - bucketBits;
    const buckets = 1 << bucketBits;
    const dir = new Int32Array(buckets + 1);
    for (const c of this.chunks) {
      const len = c === this.chunks[this.chunks.length - 1] ? this.used : CHUNK;
      for (let i = 0; i < len; i++) dir[(c.hi[i] >>> shift) + 1]++;
    }
    for (let b = 0; b < buckets; b++) dir[b + 1] += dir[b];

    // Scatter [hi, lo, tag] triples into bucket order, dropping each raw chunk
    // once it is placed; the same array then becomes the matcher's entries.
    let entries = new Int32Array(n * 3);
    const next = dir.slice(0, buckets);
    while (this.chunks.length > 0) {
      const c = this.chunks.shift()!;
      const len = this.chunks.length === 0 ? this.used : CHUNK;
      for (let i = 0; i < len; i++) {
        const p = next[c.hi[i] >>> shift]++ * 3;
        entries[p] = c.hi[i];
        entries[p + 1] = c.lo[i];
        entries[p + 2] = c.tag[i];
      }
    }
    this.used = CHUNK;
    this.count = 0;

    // Sort each bucket, then merge equal hashes into one [hi, lo, combo] entry,
    // in place (the write position never passes the read position).
    const combos: Combo[] = [];
    const comboByKey = new Map<string, number>();
    const single = new Map<number, number>();
    const comboFor = (groupTags: number[]): number => {
      if (groupTags.length === 1) {
        let id = single.get(groupTags[0]);
        if (id === undefined) {
          id = combos.push(this.combo([groupTags[0]])) - 1;
          single.set(groupTags[0], id);
        }
        return id;
      }
      const merged = mergeTags(groupTags);
      const key = merged.join(',');
      let id = comboByKey.get(key);
      if (id === undefined) {
        id = combos.push(this.combo(merged)) - 1;
        comboByKey.set(key, id);
      }
      return id;
    };
    let w = 0;
    const group: number[] = [];
    for (let b = 0; b < buckets; b++) {
      const start = dir[b];
      const end = dir[b + 1];
      sortBucket(entries, start, end);
      dir[b] = w;
      for (let r = start; r < end;) {
        const hi = entries[r * 3];
        const lo = entries[r * 3 + 1];
        group.length = 0;
        while (r < end && entries[r * 3] === hi && entries[r * 3 + 1] === lo) group.push(entries[r++ * 3 + 2]);
        entries[w * 3] = hi;
        entries[w * 3 + 1] = lo;
        entries[w * 3 + 2] = comboFor(group);
        w++;
      }
    }
    dir[buckets] = w;
    // Names listed more than once leave a tail; copy only when it is worth the memory.
    entries = w < n * 0.9 ? entries.slice(0, w * 3) : entries.subarray(0, w * 3);

    this.resolveExceptions({ shift, dir, entries }, combos, comboByKey);
    this.exceptionNames.clear();
    const data: MatcherData = {
      shift,
      dir,
      entries,
      comboMasks: new Int32Array(combos.length * 4),
      comboStart: new Int32Array(combos.length + 1),
      comboTags: new Int32Array(combos.reduce((s, c) => s + c.tags.length, 0)),
    };
    combos.forEach((c, i) => {
      data.comboMasks.set(c.masks, i * 4);
      data.comboStart[i + 1] = data.comboStart[i] + c.tags.length;
      data.comboTags.set(c.tags, data.comboStart[i]);
    });
    return data;
  }

  private combo(tags: number[]): Combo {
    const masks: [number, number, number, number] = [0, 0, 0, 0];
    for (const tag of tags) {
      const bit = 1 << this.listBits[tag >> 4];
      if (tag & BLOCK_APEX) masks[0] |= bit;
      if (tag & BLOCK_SUB) masks[1] |= bit;
      if (tag & EXCEPT_APEX) masks[2] |= bit;
      if (tag & EXCEPT_SUB) masks[3] |= bit;
    }
    return { tags, masks };
  }

  /**
   * An exception is per list: it lifts its own list's block, not another
   * list's block in the same category. For each excepted name, find which
   * lists still block it (from a parent down to the name, each list's own
   * exceptions applied) and drop those categories from the entry's exception
   * masks, with a combo of its own.
   */
  private resolveExceptions(table: Table, combos: Combo[], comboByKey: Map<string, number>): void {
    const { shift, dir, entries } = table;
    /** Offset in `entries` of the name with this hash, or -1. */
    const find = (hi: number, lo: number): number => {
      const bucket = hi >>> shift;
      for (let j = dir[bucket]; j < dir[bucket + 1]; j++) if (entries[j * 3] === hi && entries[j * 3 + 1] === lo) return j * 3;
      return -1;
    };
    for (const name of this.exceptionNames) {
      const levels = suffixHashes(name);
      const self = levels.pop()!;
      const entry = find(self.hi, self.lo);
      if (entry < 0) continue;
      const covered = new Map<number, boolean>();
      for (const level of levels) {
        const j = find(level.hi, level.lo);
        if (j < 0) continue;
        for (const tag of combos[entries[j + 2]].tags) {
          if (tag & BLOCK_SUB) covered.set(tag >> 4, true);
          if (tag & EXCEPT_SUB) covered.set(tag >> 4, false);
        }
      }
      const old = combos[entries[entry + 2]];
      const own = new Map<number, number>();
      for (const tag of old.tags) own.set(tag >> 4, tag & 15);
      let stillApex = 0;
      let stillSub = 0;
      for (const list of new Set([...covered.keys(), ...own.keys()])) {
        const flags = own.get(list) ?? 0;
        const fromAbove = covered.get(list) === true;
        const bit = 1 << this.listBits[list];
        if ((fromAbove || flags & BLOCK_APEX) && !(flags & EXCEPT_APEX)) stillApex |= bit;
        if ((fromAbove || flags & BLOCK_SUB) && !(flags & EXCEPT_SUB)) stillSub |= bit;
      }
      const masks: Combo['masks'] = [old.masks[0], old.masks[1], old.masks[2] & ~stillApex, old.masks[3] & ~stillSub];
      if (masks[2] === old.masks[2] && masks[3] === old.masks[3]) continue;
      const key = `${old.tags.join(',')}|${masks[2]},${masks[3]}`;
      let id = comboByKey.get(key);
      if (id === undefined) {
        id = combos.push({ tags: old.tags, masks }) - 1;
        comboByKey.set(key, id);
      }
      entries[entry + 2] = id;
    }
  }
}

/** Tags of one name, sorted: one tag per list with its flags ORed together. */
function mergeTags(sorted: number[]): number[] {
  const out: number[] = [];
  for (const tag of sorted) {
    const last = out.length - 1;
    if (last >= 0 && out[last] >> 4 === tag >> 4) out[last] |= tag;
    else out.push(tag);
  }
  return out;
}

/** Sort entries start..end-1 ([hi, lo, tag] triples) by hi, lo, tag; signed: within a bucket the top bits agree. */
function sortBucket(e: Int32Array, start: number, end: number): void {
  const len = end - start;
  if (len < 2) return;
  if (len <= 32) {
    for (let i = start + 1; i < end; i++) {
      const h = e[i * 3];
      const l = e[i * 3 + 1];
      const t = e[i * 3 + 2];
      let j = i - 1;
      while (j >= start && (e[j * 3] > h || (e[j * 3] === h && (e[j * 3 + 1] > l || (e[j * 3 + 1] === l && e[j * 3 + 2] > t))))) {
        e.copyWithin((j + 1) * 3, j * 3, j * 3 + 3);
        j--;
      }
      e[(j + 1) * 3] = h;
      e[(j + 1) * 3 + 1] = l;
      e[(j + 1) * 3 + 2] = t;
    }
    return;
  }
  // A crowded bucket (one name repeated many times): an O(n log n) sort.
  const rows = Array.from({ length: len }, (_, i) => [e[(start + i) * 3], e[(start + i) * 3 + 1], e[(start + i) * 3 + 2]]);
  rows.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
  rows.forEach((row, i) => e.set(row, (start + i) * 3));
}
