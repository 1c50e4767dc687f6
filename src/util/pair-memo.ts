// A memo keyed by two strings (group and category, client and category, …),
// held as a Map of Maps: a look-up is two gets of strings whose hashes V8
// keeps in the strings themselves, where a key joined on every look-up would
// be a new string to flatten and hash each time (profiled on the blocked-query
// path). Bounded: past `limit` pairs it starts again.
export class PairMemo<V> {
  private maps = new Map<string, Map<string, V>>();
  private pairs = 0;

  constructor(private readonly limit: number) {}

  get(a: string, b: string): V | undefined {
    return this.maps.get(a)?.get(b);
  }

  /** Remember `value` for (a, b), which get() did not find; returns it. */
  set(a: string, b: string, value: V): V {
    if (this.pairs >= this.limit) this.clear();
    let byB = this.maps.get(a);
    if (byB === undefined) this.maps.set(a, (byB = new Map()));
    byB.set(b, value);
    this.pairs++;
    return value;
  }

  clear(): void {
    this.maps = new Map();
    this.pairs = 0;
  }
}
