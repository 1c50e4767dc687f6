// Profile Gatehouse as a school runs it (bench/school.ts: the site config's
// real lists, 20,000 identities, the rate limiter on, every query logged) under
// a fixed cache-hit load, to see where its CPU per query goes:
//
//   1. node --cpu-prof (the main thread and every worker thread write a
//      profile at exit): a load window at --rate q/s, summarised per stage of
//      the query path and of the query-log writer (profile-summary.ts). V8's
//      profiler samples wall-clock time and sees only JavaScript (native code
//      and system calls outside it count as idle), so it gives shares;
//   2. perf record -g (if perf works here) on a second service, under the same
//      load, with --perf-basic-prof so JIT frames have names: CPU time, per
//      thread and per stage, native frames too (the UDP addon's system calls,
//      libuv, V8's GC, SQLite). Two services, because V8's profiler thread
//      would be in perf's figures.
//
//   npm run build && npx tsx bench/profile.ts [--seconds 10] [--rate 30000] [--out DIR] [--misses | --blocked]
//
// --blocked: 2,000 names of the real gambling list the pupil's group blocks
// instead of cache hits.
// --misses: cache misses instead of hits (names never asked before, which
// nsd's wildcard answers); --rate then defaults to 10,000 q/s, as in cpu.ts.
//
// The profiles stay in --out (default: a new directory under /tmp) for a
// closer look: Chrome DevTools opens .cpuprofile files; `perf report -i`.
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startNsd, zone } from '../test/helpers/nsd.js';
import { findProgram } from '../test/helpers/programs.js';
import { dnsperf, writeQueryFile } from './dnsperf.js';
import { cpuMs, splitThreads, threadCpuMs } from './proc.js';
import { formatSummary, selfTimes, summarise, summarisePerf, type CpuProfile } from './profile-summary.js';
import { BENCH_NS } from './peers.js';
import { blockedSample, schoolConfig, seedIdentities, startGatehouse, stopGatehouse } from './school.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string' },
    out: { type: 'string' },
    identities: { type: 'string', default: '20000' },
    misses: { type: 'boolean', default: false },
    blocked: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const MISSES = values.misses;
const blockedNames = values.blocked ? blockedSample(2000) : [];
const RATE = Number(values.rate ?? (MISSES ? 10_000 : 30_000));
const out = values.out ?? mkdtempSync(join(tmpdir(), 'gh-profile-'));
mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'gh-profile-work-'));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

function perfWorks(): boolean {
  if (!findProgram('perf')) return false;
  return spawnSync('perf', ['record', '-e', 'cpu-clock', '-o', join(work, 'probe.data'), '--', 'true'], { stdio: 'ignore' }).status === 0;
}

interface Window {
  answered: number;
  sent: number;
  from: number;
  to: number;
  /** Threads at nice 19 (the query-log writer among them). */
  background: number[];
}

/**
 * A Gatehouse with `nodeArgs`, warmed at the rate, then one window of load:
 * /proc's CPU split printed, `during` run beside the load (perf), and the
 * window handed to `after` while the service still runs.
 */
async function profiledRun(
  label: string,
  upstream: number,
  nodeArgs: string[],
  during: (pid: number) => Promise<() => Promise<void>>,
  after: (w: Window, pid: number) => Promise<void>,
): Promise<void> {
  const dataDir = join(work, label);
  const leases = seedIdentities(dataDir, Number(values.identities));
  const config = schoolConfig({ dir: work, dataDir, upstream, queryLog: true, leases, fallbackBlocked: blockedNames });
  const file = join(work, `${label}.yaml`);
  writeFileSync(file, config.yaml);
  const g = await startGatehouse(label, file, dataDir, nodeArgs);
  try {
    dnsperf({ port: g.port, file: MISSES ? warmQueries : queries, seconds: 3, rate: RATE }); // warm the cache and the JIT
    await sleep(1000);
    const before = cpuMs(g.pid);
    const threads = threadCpuMs(g.pid);
    const stop = await during(g.pid);
    const from = nowUs();
    const run = dnsperf({ port: g.port, file: MISSES ? missQueries : queries, seconds: SECONDS, rate: RATE });
    await sleep(1000); // the writer commits the window's last rows
    const to = nowUs();
    await stop();
    const used = cpuMs(g.pid) - before;
    const threadsAfter = threadCpuMs(g.pid);
    const split = splitThreads(g.pid, threads, threadsAfter, used);
    const per = (ms: number) => ((ms * 1000) / run.completed).toFixed(2);
    console.log(
      `\n${label}: ${run.completed} answered of ${run.sent} at ${RATE} q/s for ${SECONDS} s; CPU ${per(used)} µs/query ` +
        `(main thread ${per(split.main)}, nice-19 threads ${per(split.background)}, other threads ${per(split.other)}), load ${loadavg()[0].toFixed(2)}`,
    );
    const background = [...threadsAfter].filter(([, t]) => t.nice >= 19).map(([tid]) => tid);
    await after({ answered: run.completed, sent: run.sent, from, to, background }, g.pid);
  } finally {
    await stopGatehouse(g);
    rmSync(`/tmp/perf-${g.pid}.map`, { force: true }); // --perf-basic-prof's symbol map
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const names = Array.from({ length: 2000 }, (_, i) => `host${i}.bench.test`);
const queries = join(work, 'hits.txt');
// With --misses: names for the warm-up and for the window, none asked twice (dnsperf stops at the file's end).
const warmQueries = join(work, 'warm.txt');
const missQueries = join(work, 'misses.txt');
const missNames = (tag: string, n: number) => Array.from({ length: Math.ceil(n) }, (_, i) => `${tag}-${i}.miss.bench.test`);

async function main(): Promise<void> {
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const nsd = await startNsd({
    'bench.test': zone(
      'bench.test',
      [...names.map((n, i) => `${n}. IN A 198.18.${(i >> 8) & 255}.${i & 255}`), '*.miss IN A 192.0.2.99'],
      300,
      BENCH_NS, // glue outside private space, as a real upstream's (cpu.ts)
    ),
  });
  writeQueryFile(queries, values.blocked ? blockedNames : names);
  if (MISSES) {
    writeQueryFile(warmQueries, missNames('warm', RATE * 3.5));
    writeQueryFile(missQueries, missNames('run', RATE * (SECONDS + 0.5)));
  }
  try {
    // 1. V8's profiler (it samples wall-clock time: shares within a thread, not CPU time).
    const profDir = join(out, 'cpuprofile');
    let window: Window | undefined;
    await profiledRun(
      'cpu-prof',
      nsd.port,
      ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=250'],
      async () => async () => {},
      async (w) => void (window = w),
    );
    // The profiles are written at exit.
    console.log(`\nV8 CPU profiles (${profDir}), the load window only, wall-clock µs per answered query (busy = not idle):`);
    for (const f of readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile'))) {
      const p = JSON.parse(readFileSync(join(profDir, f), 'utf8')) as CpuProfile;
      const s = summarise(p, window!.from, window!.to);
      const busy = [...s].filter(([k]) => k !== '(idle)').reduce((a, [, v]) => a + v, 0);
      if (busy < 10_000) continue; // threads idle in the window (the list builder, the report reader)
      console.log(`\n${f}`);
      console.log(formatSummary(s, window!.answered, 45));
      console.log('  the same samples by function (self time):');
      console.log(formatSummary(selfTimes(p, window!.from, window!.to), window!.answered, 30));
    }

    // 2. perf: CPU time, native frames too.
    if (!perfWorks()) {
      console.log('\nperf does not work here: no native profile');
      return;
    }
    const data = join(out, 'perf.data');
    await profiledRun(
      'perf',
      nsd.port,
      ['--perf-basic-prof', '--interpreted-frames-native-stack'],
      async (pid) => {
        const rec = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '1999', '-g', '-p', String(pid), '-o', data], { stdio: 'ignore' });
        await sleep(500);
        return async () => {
          rec.kill('SIGINT');
          await new Promise((r) => rec.once('exit', r));
        };
      },
      async (w, pid) => {
        const text = execFileSync('perf', ['script', '-i', data, '-F', 'tid,period,ip,sym,dso'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
          maxBuffer: 1024 * 1024 * 1024,
        });
        const byThread = summarisePerf(text);
        const others = new Map<string, number>();
        for (const [tid, buckets] of byThread) {
          if (tid === pid || w.background.includes(tid)) continue;
          for (const [b, us] of buckets) others.set(b, (others.get(b) ?? 0) + us);
        }
        console.log(`\nperf (${data}): CPU µs per answered query, by thread and stage`);
        console.log(`\nmain thread (${pid}):`);
        console.log(formatSummary(byThread.get(pid) ?? new Map(), w.answered, 45));
        for (const tid of w.background) {
          const b = byThread.get(tid);
          if (!b) continue;
          console.log(`\nnice-19 thread ${tid} (the query-log writer, if busy):`);
          console.log(formatSummary(b, w.answered, 30));
        }
        console.log('\nall other threads (V8 GC and compiler, libuv pool, perf itself):');
        console.log(formatSummary(others, w.answered, 15));
      },
    );
  } finally {
    await nsd.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
