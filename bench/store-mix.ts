// A realistic-looking day of school DNS traffic for the store benchmarks:
// names drawn with a Zipf law from real list domains (../shared/lists/ut1) plus
// synthetic CDN and telemetry names, clients with uneven activity, the usual
// query-type mix, a few percent blocked, about half served from the cache.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newBatch, putStrings, type Batch } from '../src/store/batch.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cumulative(weights: number[]): Float64Array {
  const c = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, i) => (c[i] = sum += w));
  for (let i = 0; i < c.length; i++) c[i] /= sum;
  return c;
}

function pick(c: Float64Array, r: number): number {
  let lo = 0;
  let hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c[mid] < r) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface MixOptions {
  seed?: number;
  names?: number;
  clients?: number;
  listDir?: string;
}

export class TrafficMix {
  readonly names: string[];
  readonly clients: string[];
  private readonly nameCum: Float64Array;
  private readonly clientCum: Float64Array;
  private readonly random: () => number;

  constructor(opts: MixOptions = {}) {
    this.random = rng(opts.seed ?? 42);
    const r = this.random;
    const want = opts.names ?? 200_000;
    const real = loadListDomains(opts.listDir ?? join(import.meta.dirname, '../../shared/lists/ut1'), Math.floor(want * 0.6));
    const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
    const popular = [
      'www.google.com',
      'clients4.google.com',
      'outlook.office365.com',
      'login.microsoftonline.com',
      'graph.microsoft.com',
      'www.youtube.com',
      'i.ytimg.com',
      'teams.microsoft.com',
      'api.apple.com',
      'gateway.icloud.com',
      'www.bbc.co.uk',
      'fonts.gstatic.com',
      'connectivitycheck.gstatic.com',
      'ocsp.digicert.com',
      'edge.microsoft.com',
      'classroom.google.com',
    ];
    const synthetic: string[] = [];
    while (real.length + synthetic.length + popular.length < want) {
      const k = synthetic.length % 5;
      if (k === 0) synthetic.push(`rr${1 + Math.floor(r() * 8)}---sn-${hex(8)}.googlevideo.com`);
      else if (k === 1) synthetic.push(`${hex(14)}.cloudfront.net`);
      else if (k === 2) synthetic.push(`e${Math.floor(r() * 99999)}.dscx.akamaiedge.net`);
      else if (k === 3) synthetic.push(`${hex(8)}-${hex(4)}.telemetry.example-app.com`);
      else synthetic.push(`img${Math.floor(r() * 9999)}.cdn.school-site${Math.floor(r() * 999)}.org.uk`);
    }
    // Popular names first, then shuffled real and synthetic names: rank = Zipf weight.
    const rest = [...real, ...synthetic];
    for (let i = rest.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [rest[i], rest[j]] = [rest[j], rest[i]];
    }
    this.names = [...new Set([...popular, ...rest])];
    this.nameCum = cumulative(this.names.map((_, i) => 1 / Math.pow(i + 1, 1.05)));
    const nClients = opts.clients ?? 1500;
    this.clients = Array.from({ length: nClients }, (_, i) => `10.${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
    this.clientCum = cumulative(this.clients.map(() => 0.2 + r() * r() * 3));
  }

  private nameIds: Map<string, number> | undefined;

  name(): string {
    return this.names[pick(this.nameCum, this.random())];
  }

  /** 1-based position of a name in `names` (the id the bulk builder gives it). */
  nameIdOf(name: string): number {
    this.nameIds ??= new Map(this.names.map((n, i) => [n, i + 1]));
    return this.nameIds.get(name)!;
  }

  /** Index of a client; clients map to groups by their index (staff, pupils, guests). */
  clientIndex(): number {
    return pick(this.clientCum, this.random());
  }

  /** `n` timestamps in one UTC day, school hours heavy, sorted. */
  dayTimes(day: number, n: number): Float64Array {
    const r = this.random;
    const start = day * 86_400_000;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const school = r() < 0.85;
      const ms = school ? (7.5 + r() * 9) * 3_600_000 : r() * 86_400_000;
      out[i] = start + Math.floor(ms);
    }
    return out.sort();
  }

  /** A batch of rows for the given (sorted) times. */
  batch(times: Float64Array, from: number, to: number): Batch {
    const r = this.random;
    const b = newBatch(to - from);
    for (let i = from; i < to; i++) {
      const j = b.n++;
      const c = this.clientIndex();
      const u = r();
      b.ts[j] = times[i];
      b.group[j] = c % 10 === 0 ? 0 : c % 10 === 1 ? 2 : 1;
      putStrings(b, j, this.clients[c], this.name());
      b.qtype[j] = u < 0.55 ? 1 : u < 0.85 ? 28 : u < 0.95 ? 65 : u < 0.97 ? 12 : u < 0.99 ? 16 : 33;
      const a = r();
      b.action[j] = a < 0.03 ? 1 : a < 0.035 ? 2 : 0;
      b.category[j] = b.action[j] === 1 ? Math.floor(r() * 8) : -1;
      const cached = b.action[j] === 0 && r() < 0.5;
      b.cached[j] = cached ? 1 : 0;
      b.link[j] = b.action[j] !== 0 || cached ? -1 : r() < 0.95 ? 0 : 1;
      b.rcode[j] = r() < 0.04 ? 3 : 0;
      b.latencyUs[j] = cached || b.action[j] !== 0 ? 15 + Math.floor(r() * 150) : 2_000 + Math.floor(r() * r() * 80_000);
    }
    return b;
  }
}

function loadListDomains(dir: string, max: number): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith('.domains'))
    .sort()) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const d = line.trim().toLowerCase();
      if (d && !d.startsWith('#') && !/^\d+\.\d+\.\d+\.\d+$/.test(d)) out.push(d);
      if (out.length >= max) return out;
    }
  }
  return out;
}
