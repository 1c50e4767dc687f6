// Two builds of Gatehouse side by side, as a school runs them (bench/school.ts:
// the site config's real lists, 20,000 identities, the limiter, every query
// logged), under the same fixed cache-hit load in alternating rounds (or, with
// --blocked, 2,000 names of the gambling list the pupil's group blocks; with
// --misses, names never asked before, which nsd's wildcard answers, at 10,000
// q/s unless --rate says otherwise): CPU per answered query of each, read from
// /proc. On a shared, noisy machine the
// difference between two builds measured in one run, round by round, is
// steadier than two runs of bench/cpu.ts compared afterwards.
//
//   npm run build && npx tsx bench/ab.ts --base /path/to/other/checkout [--rounds 8] [--seconds 4] [--rate 30000]
//                                        [--blocked | --misses] [--node-args "..."] [--base-node-args "..."]
//
// --node-args / --base-node-args: flags for node itself on one side (V8's GC
// flags, say); with --base naming this same checkout, they compare two ways of
// running one build.
//
// The other checkout needs its own `npm run build` (and build/ for the UDP addon).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startNsd, zone } from '../test/helpers/nsd.js';
import { dnsperf, writeQueryFile } from './dnsperf.js';
import { cpuMs } from './proc.js';
import { BENCH_NS } from './peers.js';
import { blockedSample, schoolConfig, seedIdentities, startGatehouse, stopGatehouse, type RunningGatehouse } from './school.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '4' },
    rate: { type: 'string' },
    identities: { type: 'string', default: '20000' },
    'node-args': { type: 'string', default: '' },
    'base-node-args': { type: 'string', default: '' },
    blocked: { type: 'boolean', default: false },
    misses: { type: 'boolean', default: false },
  },
});
if (!values.base) {
  console.error('usage: npx tsx bench/ab.ts --base /path/to/other/checkout [--rounds 8] [--seconds 4] [--rate 30000]');
  process.exit(2);
}
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate ?? (values.misses ? 10_000 : 30_000));
const dir = mkdtempSync(join(tmpdir(), 'gh-bench-ab-'));
const names = Array.from({ length: 2000 }, (_, i) => `host${i}.bench.test`);
const blockedNames = values.blocked ? blockedSample(2000) : [];
const what = values.blocked ? 'blocked query' : values.misses ? 'cache miss' : 'cache hit';
/** With --misses, a file of names nobody asked before, enough for `seconds` at RATE. */
const missFile = (tag: string, seconds: number) =>
  writeQueryFile(
    join(dir, `miss-${tag}.txt`),
    Array.from({ length: Math.ceil(RATE * seconds * 1.2) }, (_, i) => `${tag}-${i}.miss.bench.test`),
  );
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const nsd = await startNsd({
    'bench.test': zone(
      'bench.test',
      [...names.map((n, i) => `${n}. IN A 198.18.${(i >> 8) & 255}.${i & 255}`), '*.miss IN A 192.0.2.99'],
      300,
      BENCH_NS, // glue outside private space, as a real upstream's (cpu.ts)
    ),
  });
  const args = (flags: string) => flags.split(' ').filter((a) => a.length > 0);
  const builds: { label: string; root: string | undefined; nodeArgs: string[] }[] = [
    {
      label: `base (${values.base}${values['base-node-args'] ? ` ${values['base-node-args']}` : ''})`,
      root: values.base,
      nodeArgs: args(values['base-node-args']),
    },
    {
      label: `this checkout${values['node-args'] ? ` (${values['node-args']})` : ''}`,
      root: undefined,
      nodeArgs: args(values['node-args']),
    },
  ];
  const running: RunningGatehouse[] = [];
  try {
    for (const [i, b] of builds.entries()) {
      const dataDir = join(dir, `g${i}`);
      const leases = seedIdentities(dataDir, Number(values.identities));
      const config = schoolConfig({ dir, dataDir, upstream: nsd.port, queryLog: true, leases, fallbackBlocked: blockedNames });
      const file = join(dir, `g${i}.yaml`);
      writeFileSync(file, config.yaml);
      running.push(await startGatehouse(`g${i}`, file, dataDir, b.nodeArgs, b.root));
    }
    const hits = writeQueryFile(join(dir, 'hits.txt'), values.blocked ? blockedNames : names);
    for (const [i, g] of running.entries())
      dnsperf({ port: g.port, file: values.misses ? missFile(`w${i}`, 3) : hits, seconds: 3, rate: RATE }); // warm the caches
    const perQuery: number[][] = builds.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate who goes first, so a load change inside a round weighs on both alike.
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      const line: string[] = [];
      for (const i of order) {
        const g = running[i];
        const before = cpuMs(g.pid);
        const file = values.misses ? missFile(`r${r}g${i}`, SECONDS) : hits;
        const result = dnsperf({ port: g.port, file, seconds: SECONDS, rate: RATE });
        await new Promise((res) => setTimeout(res, 500)); // the writer commits what it was given
        const us = ((cpuMs(g.pid) - before) * 1000) / Math.max(1, result.completed);
        perQuery[i].push(us);
        line.push(`${i === 0 ? 'base' : 'this'} ${us.toFixed(2)} µs`);
      }
      console.log(`round ${r + 1}: ${line.join('  ')}  (load ${loadavg()[0].toFixed(2)})`);
    }
    const ratios = perQuery[1].map((t, r) => t / perQuery[0][r]);
    console.log(`\nCPU per ${what} at ${RATE} q/s, every query logged, ${ROUNDS} rounds of ${SECONDS} s (median, min-max):`);
    for (const [i, b] of builds.entries())
      console.log(
        `  ${b.label}: ${median(perQuery[i]).toFixed(2)} µs (${Math.min(...perQuery[i]).toFixed(2)}-${Math.max(...perQuery[i]).toFixed(2)})`,
      );
    console.log(
      `  this / base, round by round: median ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`,
    );
  } finally {
    for (const g of running) await stopGatehouse(g);
    await nsd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
