// A fixed-window counter per key (client address, user name) for the login
// form. Memory is bounded: the map is cleared of old windows as it grows.
export class RateLimiter {
  private readonly hits = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Counts one attempt; false when the key is over its limit in this window. */
  take(key: string, now: number): boolean {
    let entry = this.hits.get(key);
    if (!entry || now - entry.start >= this.windowMs) {
      if (this.hits.size >= this.maxKeys) this.sweep(now);
      entry = { start: now, count: 0 };
      this.hits.set(key, entry);
    }
    entry.count++;
    return entry.count <= this.limit;
  }

  private sweep(now: number): void {
    for (const [k, e] of this.hits) if (now - e.start >= this.windowMs) this.hits.delete(k);
    // Still full (an attack from many keys): start again rather than grow.
    if (this.hits.size >= this.maxKeys) this.hits.clear();
  }
}
