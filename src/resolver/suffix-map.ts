// A small map from domains to bit flags, looked up by walking the suffixes of a
// query name. A domain covers itself and its subdomains. The lookup hashes the
// suffixes from the right and compares in place, so it allocates nothing: it
// runs on the hot path for exceptions and the fixed circumvention names.

interface Entry {
  domain: string;
  flags: number;
}

/** Hash of `text` read right to left, the order lookup() walks a name in. */
function reverseHash(text: string): number {
  let h = 0;
  for (let i = text.length - 1; i >= 0; i--) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}

export class SuffixMap {
  private readonly buckets = new Map<number, Entry[]>();
  private count = 0;

  /** Add `flags` to `domain` (lower-case, no trailing dot). */
  add(domain: string, flags: number): void {
    const h = reverseHash(domain);
    let bucket = this.buckets.get(h);
    if (!bucket) this.buckets.set(h, (bucket = []));
    const found = bucket.find((e) => e.domain === domain);
    if (found) found.flags |= flags;
    else {
      bucket.push({ domain, flags });
      this.count++;
    }
  }

  get size(): number {
    return this.count;
  }

  /** OR of the flags of every entry that is `name` or one of its parent domains; 0 if none. */
  lookup(name: string): number {
    if (this.count === 0) return 0;
    let flags = 0;
    let h = 0;
    for (let i = name.length - 1; i >= 0; i--) {
      h = (Math.imul(h, 31) + name.charCodeAt(i)) | 0;
      // A suffix starts at the beginning of the name or just after a dot.
      if (i === 0 || name.charCodeAt(i - 1) === 46) {
        const bucket = this.buckets.get(h);
        if (bucket !== undefined) {
          const len = name.length - i;
          for (let j = 0; j < bucket.length; j++) {
            const e = bucket[j];
            if (e.domain.length === len && name.endsWith(e.domain)) flags |= e.flags;
          }
        }
      }
    }
    return flags;
  }
}
