// What the admission check (allow-list + per-client rate limit, src/resolver/admission.ts)
// costs per query, in-process: nanoseconds and bytes allocated per check, over
// a school's worth of client addresses. `npx tsx bench/admission.ts`, or part
// of `npm run bench`.
import { parseConfig } from '../src/config.js';
import { Admission } from '../src/resolver/admission.js';

export function measureAdmission(opts: { clients?: number; checks?: number } = {}): {
  clients: number;
  nsPerCheck: number;
  allocatedBytesPerCheck: number;
} {
  const clients = opts.clients ?? 2000;
  const checks = opts.checks ?? 5_000_000;
  const config = parseConfig(
    'links: [{ name: p, upstreams: ["udp://127.0.0.1:9"] }]\ngroups: [{ name: everyone, default: true }]\n' +
      'dns: { rateLimit: { qps: 100000000, burst: 100000000, networkQps: 100000000, networkBurst: 100000000 } }',
  );
  const admission = new Admission(config);
  const addresses = Array.from({ length: clients }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.${(i % 200) + 1}`);
  let now = performance.now();
  for (const a of addresses) admission.check(a, true, now); // first sight: the records are made
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = process.hrtime.bigint();
  let admitted = 0;
  for (let i = 0; i < checks; i++) {
    if ((i & 1023) === 0) now = performance.now();
    if (admission.check(addresses[i % clients], true, now) === 0) admitted++;
  }
  const ns = Number(process.hrtime.bigint() - started);
  const heapAfter = process.memoryUsage().heapUsed;
  if (admitted !== checks) throw new Error(`the benchmark limit was reached (${checks - admitted} limited)`);
  return { clients, nsPerCheck: ns / checks, allocatedBytesPerCheck: Math.max(0, heapAfter - heapBefore) / checks };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = measureAdmission();
  console.log(
    `admission check: ${r.nsPerCheck.toFixed(1)} ns per query over ${r.clients} clients, ${r.allocatedBytesPerCheck.toFixed(3)} bytes allocated per check`,
  );
}
