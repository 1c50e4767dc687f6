// Matcher benchmark: 5 million names (the real lists in ../shared/lists plus
// synthetic ones), built in the worker as in production. Prints build time,
// resident memory per name in steady state and at the peak of a rebuild (the
// old matcher still serving), and single-thread lookup rate.
//   npx tsx bench/matcher.ts [totalNames]
// The measuring runs in a fresh child process, so the garbage left by
// preparing the inputs does not blur the memory figures.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { buildInWorker } from '../src/lists/build.js';
import type { BuildListInput } from '../src/lists/build-job.js';
import { PARSERS, type ListFormat } from '../src/lists/formats/index.js';
import { readLines } from '../src/lists/lines.js';
import { CompactMatcher } from '../src/lists/matcher.js';

const SHARED = resolve(import.meta.dirname, '../../shared/lists');
const TLDS = ['com', 'net', 'org', 'co.uk', 'info', 'xyz', 'de', 'fr', 'io', 'ru'];

interface Plan {
  inputs: BuildListInput[];
  synthetic: number;
  realUnique: number;
  samplePath: string;
}

/** The real lists, each with its format, when ../shared/lists is present. */
function realLists(): { path: string; format: ListFormat }[] {
  if (!existsSync(SHARED)) return [];
  const out: { path: string; format: ListFormat }[] = [];
  const add = (dir: string, ext: string, format: ListFormat) => {
    for (const f of readdirSync(join(SHARED, dir))) if (f.endsWith(ext)) out.push({ path: join(SHARED, dir, f), format });
  };
  add('ut1', '.domains', 'domains');
  add('ut1', '.urls', 'urls');
  add('blocklistproject', '.hosts', 'hosts');
  out.push({ path: join(SHARED, 'hagezi/domains-doh-vpn-proxy-bypass.txt'), format: 'domains' });
  out.push({ path: join(SHARED, 'hagezi/domains-nosafesearch.txt'), format: 'domains' });
  out.push({ path: join(SHARED, 'hagezi/adblock-doh-vpn-proxy-bypass.txt'), format: 'adblock' });
  return out;
}

function syntheticName(i: number): string {
  // Distinct by construction: base-36 counter, then a '-' (never in base 36).
  return `s${i.toString(36)}-${((i * 7919) % 100_003).toString(36)}.${TLDS[i % TLDS.length]}`;
}

async function writeSynthetic(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < count; i += 10_000) {
    let chunk = '';
    for (let j = i; j < Math.min(count, i + 10_000); j++) chunk += syntheticName(j) + '\n';
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Parent: write the inputs, run the measuring child, clean up. */
async function prepareAndRun(total: number): Promise<void> {
  const real = realLists();
  const realNames = new Set<string>();
  for (const l of real) for (const e of PARSERS[l.format](readLines(l.path))) if (e.type === 'entry') realNames.add(e.name);
  const synthetic = Math.max(0, total - realNames.size);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  try {
    const synthPath = join(dir, 'synthetic.domains');
    await writeSynthetic(synthPath, synthetic);
    const samplePath = join(dir, 'real-sample.txt');
    writeFileSync(samplePath, [...realNames].slice(0, 100_000).join('\n'));
    const plan: Plan = {
      inputs: [
        ...real.map((l, i): BuildListInput => ({
          id: `real-${i}`,
          category: `c${i % 30}`,
          bit: i % 30,
          format: l.format,
          candidate: l.path,
        })),
        { id: 'synthetic', category: 'c31', bit: 31, format: 'domains', candidate: synthPath },
      ],
      synthetic,
      realUnique: realNames.size,
      samplePath,
    };
    console.log(
      `inputs: ${real.length} real lists (${real.length ? SHARED : 'absent'}, ${realNames.size.toLocaleString()} distinct names) + ${synthetic.toLocaleString()} synthetic names`,
    );
    realNames.clear();
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify(plan));
    const child = fork(process.argv[1], ['--measure', planPath], { execArgv: process.execArgv, stdio: 'inherit' });
    const [code] = await once(child, 'exit');
    if (code !== 0) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Child: a clean process that builds, rebuilds and looks up. */
async function measure(plan: Plan): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = (globalThis.gc ?? vm.runInNewContext('gc')) as () => void;
  const settle = async () => {
    gc();
    await new Promise((r) => setTimeout(r, 300));
    gc();
  };
  const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
  const meta = plan.inputs.map((i) => ({ id: i.id, category: i.category, bit: i.bit }));

  await settle();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  let t0 = performance.now();
  const cpuBuild0 = process.cpuUsage();
  const first = await buildInWorker(plan.inputs);
  const firstWall = performance.now() - t0;
  const firstCpu = process.cpuUsage(cpuBuild0);
  clearInterval(sampler);
  const firstPeak = peak - base;
  let matcher = new CompactMatcher(first.data, meta);
  first.data = undefined as never; // the matcher holds the arrays now
  await settle();
  const steady = process.memoryUsage().rss - base;
  const dataBytes = matcher.buffers().reduce((s, b) => s + b.byteLength, 0);
  const n = matcher.size;

  // Rebuild while the first matcher still serves lookups on this thread.
  const sample = readFileSync(plan.samplePath, 'utf8').split('\n').filter(Boolean);
  const probe = sample[0] ?? syntheticName(1);
  peak = process.memoryUsage().rss;
  let servedDuringRebuild = 0;
  const rebuildSampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    for (let i = 0; i < 1000; i++) if (matcher.lookup(probe) !== 0) servedDuringRebuild++;
  }, 10);
  t0 = performance.now();
  const second = await buildInWorker(plan.inputs);
  const rebuildWall = performance.now() - t0;
  clearInterval(rebuildSampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  matcher = new CompactMatcher(second.data, meta);
  second.data = undefined as never;
  await settle();
  const afterSwap = process.memoryUsage().rss - base;

  // Lookups: half names in the lists (an eighth as subdomains), half not; flat
  // strings, as the resolver's wire decoding produces.
  const flat = (s: string) => Buffer.from(s, 'latin1').toString('latin1');
  const queries: string[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    const k = (i * 2654435761) >>> 0;
    if (i % 2 === 0) {
      const name = sample.length && i % 4 === 0 ? sample[k % sample.length] : syntheticName(k % Math.max(1, plan.synthetic));
      queries.push(flat(i % 8 === 0 ? `www.${name}` : name));
    } else queries.push(flat(`miss${k.toString(36)}.example${i % 7}.com`));
  }
  let hits = 0;
  for (let i = 0; i < 200_000; i++) if (matcher.lookup(queries[i]) !== 0) hits++; // warm up
  let lookups = 0;
  hits = 0;
  t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - t0 < 3000) {
    for (let i = 0; i < queries.length; i++) if (matcher.lookup(queries[i]) !== 0) hits++;
    lookups += queries.length;
  }
  const rate = lookups / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(cpu0);
  // Per CPU-second too: on a shared machine the wall-clock figure includes time the thread was not running.
  const cpuRate = lookups / ((cpu.user + cpu.system) / 1e6);

  // Synthetic names are distinct from each other and from the real ones, so any shortfall is a collision.
  const expected = plan.synthetic + plan.realUnique;
  const perName = (bytes: number) => `${(bytes / n).toFixed(1)} bytes/name`;
  console.log(`names in matcher:      ${n.toLocaleString()} (raw entries ${first.rawEntries.toLocaleString()})`);
  console.log(`hash collisions:       ${expected - n} (${expected.toLocaleString()} distinct names in, ${n.toLocaleString()} entries out)`);
  console.log(
    `build (first):         ${(firstWall / 1000).toFixed(2)} s wall, ${(first.buildMs / 1000).toFixed(2)} s in worker, ${((firstCpu.user + firstCpu.system) / 1e6).toFixed(2)} CPU-s (all threads)`,
  );
  console.log(
    `build (rebuild):       ${(rebuildWall / 1000).toFixed(2)} s wall; ${servedDuringRebuild.toLocaleString()} lookups answered meanwhile`,
  );
  console.log(`matcher arrays:        ${mb(dataBytes)} = ${perName(dataBytes)}`);
  console.log(
    `RSS steady:            +${mb(steady)} = ${perName(steady)} (after a rebuild and swap: +${mb(afterSwap)} = ${perName(afterSwap)})`,
  );
  console.log(`RSS peak, first build: +${mb(firstPeak)} = ${perName(firstPeak)}`);
  console.log(`RSS peak, rebuild:     +${mb(peak - base)} = ${perName(peak - base)} (old matcher serving + worker building)`);
  console.log(
    `lookups:               ${(rate / 1e6).toFixed(2)} M/s wall, ${(cpuRate / 1e6).toFixed(2)} M per CPU-second, one thread (${((hits / lookups) * 100).toFixed(0)}% blocked)`,
  );
  console.log(`machine load:          ${os.loadavg()[0].toFixed(1)} (1-min average) on ${os.cpus().length} CPUs`);
}

const at = process.argv.indexOf('--measure');
if (at >= 0) await measure(JSON.parse(readFileSync(process.argv[at + 1], 'utf8')) as Plan);
else await prepareAndRun(Number(process.argv[2] ?? 5_000_000));
