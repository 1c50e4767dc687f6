// The 64-bit name hash the matcher is keyed on, as two 32-bit halves. It is
// computed right to left, one character at a time, so one pass over a query
// name yields the hash of every suffix (com, example.com, www.example.com)
// with no substring allocated. Half `a` is FNV-1a, half `b` a murmur-style
// multiply-xorshift; each is finished with murmur3's fmix32.
//
// Collisions: with n entries, the chance that a given query suffix matches an
// entry it is not equal to is about n / 2^64 (5 million entries: ~3e-13), and
// bench/matcher.ts checks that 5 million distinct names give 5 million
// distinct hashes. The hash is not keyed: someone who crafted a colliding
// name could only get their own name blocked.

export const SEED_A = 0x811c9dc5 | 0;
export const SEED_B = 0x9747b28c | 0;

export function stepA(a: number, c: number): number {
  return Math.imul(a ^ c, 0x01000193);
}

export function stepB(b: number, c: number): number {
  const x = Math.imul(b ^ c, 0x5bd1e995);
  return x ^ (x >>> 15);
}

export function finish(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/** Both halves of one whole name's hash (the builder's side). */
export function hashName(name: string, out: Int32Array): void {
  let a = SEED_A;
  let b = SEED_B;
  for (let i = name.length - 1; i >= 0; i--) {
    const c = name.charCodeAt(i);
    a = stepA(a, c);
    b = stepB(b, c);
  }
  out[0] = finish(a);
  out[1] = finish(b);
}

/** The hashes of every suffix of a name, shortest first: [hi, lo, startIndex] triples. */
export function suffixHashes(name: string): { hi: number; lo: number; start: number }[] {
  const out: { hi: number; lo: number; start: number }[] = [];
  let a = SEED_A;
  let b = SEED_B;
  for (let i = name.length - 1; i >= 0; i--) {
    const c = name.charCodeAt(i);
    a = stepA(a, c);
    b = stepB(b, c);
    if (i === 0 || name.charCodeAt(i - 1) === 0x2e) out.push({ hi: finish(a), lo: finish(b), start: i });
  }
  return out;
}
