// A small map from domains to bit flags, looked up by walking the suffixes of a
// query name. A domain covers itself and its subdomains. The lookup hashes the
// suffixes from the right and compares in place, so it allocates nothing: it
// runs on the hot path for every query (help services) and for exceptions.
// The hashes sit in an open-addressing table of typed arrays (linear probing,
// kept at most half full), which costs a few nanoseconds a probe where a Map
// lookup costs tens; the walk stops at the longest domain held.

/** Hash of `text` read right to left, the order lookup() walks a name in. */
function reverseHash(text: string): number {
  let h = 0;
  for (let i = text.length - 1; i >= 0; i--) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}

/** The table slot a hash starts probing at. */
function slotOf(h: number, mask: number): number {
  return (h ^ (h >>> 15)) & mask;
}

export class SuffixMap {
  private readonly domains: string[] = [];
  private readonly flags: number[] = [];
  private readonly hashes: number[] = [];
  /** Entry index + 1 per slot; 0 is an empty slot. */
  private slots = new Int32Array(16);
  /** Shortest and longest domain: lookup() looks no further than these. */
  private minLen = Infinity;
  private maxLen = 0;

  /** Add `flags` to `domain` (lower-case, no trailing dot). */
  add(domain: string, flags: number): void {
    const h = reverseHash(domain);
    const found = this.find(h, domain);
    if (found >= 0) {
      this.flags[found] |= flags;
      return;
    }
    this.domains.push(domain);
    this.flags.push(flags);
    this.hashes.push(h);
    this.minLen = Math.min(this.minLen, domain.length);
    this.maxLen = Math.max(this.maxLen, domain.length);
    if (this.domains.length * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(this.domains.length - 1);
  }

  get size(): number {
    return this.domains.length;
  }

  /** OR of the flags of every entry that is `name` or one of its parent domains; 0 if none. */
  lookup(name: string): number {
    if (this.domains.length === 0) return 0;
    const { slots, hashes, domains } = this;
    const mask = slots.length - 1;
    let flags = 0;
    let h = 0;
    const stop = Math.max(0, name.length - this.maxLen);
    const from = name.length - this.minLen;
    for (let i = name.length - 1; i >= stop; i--) {
      h = (Math.imul(h, 31) + name.charCodeAt(i)) | 0;
      // A suffix starts at the beginning of the name or just after a dot.
      if (i <= from && (i === 0 || name.charCodeAt(i - 1) === 46)) {
        const len = name.length - i;
        for (let s = slotOf(h, mask); slots[s] !== 0; s = (s + 1) & mask) {
          const e = slots[s] - 1;
          if (hashes[e] === h && domains[e].length === len && name.endsWith(domains[e])) flags |= this.flags[e];
        }
      }
    }
    return flags;
  }

  private find(h: number, domain: string): number {
    const mask = this.slots.length - 1;
    for (let s = slotOf(h, mask); this.slots[s] !== 0; s = (s + 1) & mask) {
      const e = this.slots[s] - 1;
      if (this.hashes[e] === h && this.domains[e] === domain) return e;
    }
    return -1;
  }

  private place(entry: number): void {
    const mask = this.slots.length - 1;
    let s = slotOf(this.hashes[entry], mask);
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = entry + 1;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let e = 0; e < this.domains.length; e++) this.place(e);
  }
}
