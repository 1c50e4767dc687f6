// CPU per query, in the same run, for Gatehouse as a school runs it and its
// peers (issue 17). At full speed dnsperf itself is the bottleneck on a small
// machine, so "who is faster" is told by what each server pays per query at a
// fixed rate: the CPU time (user + system) of the whole server process, all
// its threads, from /proc/PID/stat, divided by the queries it answered.
//
// Servers, all caching forwarders to the same nsd on loopback:
//   gatehouse        deploy/gatehouse.site.yaml with its real lists (../shared/lists), 20,000
//                    identities, the rate limiter on, every query logged (bench/school.ts)
//   gatehouse-nolog  the same with the query log off
//   unbound (one thread), dnsmasq, dnsdist (packet cache), knot-resolver (one kresd): bench/peers.ts
//
// Phases (each repeated --repeat times, the servers in a rotating order, so
// the spread between runs shows how noisy the machine was):
//   1. cache hits at --rate q/s (2,000 names, warmed first)
//   2. blocked names at --rate q/s: 2,000 names of the gambling list that
//      Gatehouse blocks for the pupil; the peers are second instances that
//      answer those names themselves (unbound local-data, dnsmasq address=,
//      a dnsdist SpoofAction rule, kresd hints), as a blocking resolver would
//   3. cache misses at --miss-rate q/s: names never asked before, answered by nsd
//   4. p50/p99 at --latency-rate q/s (cache hits; dnsperf -v gives each answer's
//      time: a C load generator, where ours in Node added its own tail to every server)
//   5. full speed (dnsperf), then the query-log accounting: rows in the
//      database against answers, rows the writer dropped (and counted) apart
//      from rows missing without a trace
//   6. resident memory (VmRSS now, VmHWM the peak) of every server
//
//   npm run build && npx tsx bench/cpu.ts [--seconds 5] [--repeat 3] [--rate 30000]
//
// Everything runs on loopback and every load is bounded in time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { startNsd, zone } from '../test/helpers/nsd.js';
import { findProgram } from '../test/helpers/programs.js';
import { ask } from '../test/helpers/client.js';
import { type LatencyResult } from './loadgen.js';
import { dnsperf, dnsperfLatency, writeQueryFile } from './dnsperf.js';
import { cpuTimes, memory, splitThreads, threadCpuMs, type Memory, type ThreadSplit } from './proc.js';
import { BENCH_NS, startDnsdist, startDnsmasq, startKresd, startUnboundPeer, stopAllPeers, type Peer } from './peers.js';
import {
  BLOCK_ADDRESS,
  SHARED_LISTS,
  blockedSample,
  schoolConfig,
  seedIdentities,
  startGatehouse,
  stopGatehouse,
  type RunningGatehouse,
} from './school.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '3' },
    rate: { type: 'string', default: '30000' },
    'miss-rate': { type: 'string', default: '10000' },
    'latency-rate': { type: 'string', default: '20000' },
    identities: { type: 'string', default: '20000' },
  },
});
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const REPEAT = Number(values.repeat);
const RATE = Number(values.rate);
const MISS_RATE = Number(values['miss-rate']);
const LATENCY_RATE = Number(values['latency-rate']);
const IDENTITIES = Number(values.identities);
/** After a load, before reading /proc: the query-log writer commits what it was given (its window is 200 ms, batches 250 ms). */
const SETTLE_MS = 1000;
/** The peers the target is set against ("the best of dnsdist, unbound and knot-resolver"). */
const TARGET_PEERS = ['unbound', 'dnsdist', 'knot-resolver'];

for (const p of ['nsd', 'unbound', 'dnsmasq', 'dnsdist', 'kresd', 'dnsperf']) {
  if (!findProgram(p)) {
    console.error(`bench needs ${p}: apt-get install nsd unbound dnsmasq-base dnsdist knot-resolver dnsperf`);
    process.exit(2);
  }
}

interface Server {
  name: string;
  port: number;
  pid: number;
  gatehouse?: RunningGatehouse;
}

interface CpuRun {
  us: number;
  /** Of which in the kernel (system time): the UDP send and receive paths, waking up. */
  systemUs: number;
  completed: number;
  sent: number;
  threads?: ThreadSplit;
}

const dir = mkdtempSync(join(tmpdir(), 'gh-bench-cpu-'));
const gatehouses: RunningGatehouse[] = [];
const hitNames = Array.from({ length: 2000 }, (_, i) => `host${i}.bench.test`);
/** Queries each server answered, by port: the logging Gatehouse's query log must hold a row for each. */
const answered = new Map<number, number>();
const count = (port: number, n: number) => answered.set(port, (answered.get(port) ?? 0) + n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (2 cores)`,
  );
  const nsd = await startNsd({
    'bench.test': zone(
      'bench.test',
      [
        // 198.18.0.0/15 (RFC 2544, for benchmarks): not private, so rebinding protection keeps them.
        ...hitNames.map((n, i) => `${n}. IN A 198.18.${(i >> 8) & 255}.${i & 255}`),
        '*.miss IN A 192.0.2.99',
      ],
      300,
      BENCH_NS,
    ),
  });
  const blockedNames = blockedSample(2000);

  // Gatehouse twice, each with its own database and identities.
  const school: RunningGatehouse[] = [];
  for (const [name, queryLog] of [
    ['gatehouse', true],
    ['gatehouse-nolog', false],
  ] as const) {
    const dataDir = join(dir, name);
    const leases = seedIdentities(dataDir, IDENTITIES);
    const config = schoolConfig({ dir, dataDir, upstream: nsd.port, queryLog, leases, fallbackBlocked: blockedNames });
    if (name === 'gatehouse')
      console.log(
        `site config: ${config.lists.length} lists from ${SHARED_LISTS}` +
          (config.missing.length ? `; not there, left out: ${config.missing.join(', ')}` : ''),
      );
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, config.yaml);
    const started = Date.now();
    const g = await startGatehouse(name, file, dataDir);
    console.log(`${name} listening after ${((Date.now() - started) / 1000).toFixed(1)} s (lists loaded)`);
    gatehouses.push(g);
    school.push(g);
  }
  const afterStart = new Map(school.map((g) => [g.name, memory(g.pid)]));

  const local = { names: blockedNames, address: BLOCK_ADDRESS };
  const peers: Peer[] = [];
  const blockingPeers: Peer[] = [];
  for (const start of [startUnboundPeer, startDnsmasq, startDnsdist, startKresd]) {
    peers.push(await start({ upstream: nsd.port }));
    const p = await start({ upstream: nsd.port, local });
    blockingPeers.push({ ...p, name: p.name });
  }
  const asServer = (x: Peer | RunningGatehouse): Server => ({
    name: x.name,
    port: x.port,
    pid: x.pid,
    gatehouse: 'child' in x ? x : undefined,
  });
  const plain = [...school.map(asServer), ...peers.map(asServer)];
  const blocking = [...school.map(asServer), ...blockingPeers.map(asServer)];

  // Every server answers from nsd; each blocker blocks. Gatehouse's block
  // proves the identity works: 127.0.0.1 is on the staff network, which does
  // not block gambling; only the signed-in pupil's group does.
  for (const s of plain) await expectAnswer(s, hitNames[0], '198.18.0.0');
  for (const s of blocking) await expectAnswer(s, blockedNames[0], BLOCK_ADDRESS);

  const hits = writeQueryFile(join(dir, 'hits.txt'), hitNames);
  const blocked = writeQueryFile(join(dir, 'blocked.txt'), blockedNames);
  const results = new Map<string, Map<string, CpuRun[]>>();
  const record = (phase: string, server: string, run: CpuRun) => {
    const byServer = results.get(phase) ?? new Map<string, CpuRun[]>();
    results.set(phase, byServer);
    byServer.set(server, [...(byServer.get(server) ?? []), run]);
  };
  const phases = [
    { phase: `cache hits at ${RATE} q/s`, servers: plain, rate: RATE, file: () => hits, warm: () => hits },
    { phase: `blocked at ${RATE} q/s`, servers: blocking, rate: RATE, file: () => blocked, warm: () => blocked },
    {
      phase: `cache misses at ${MISS_RATE} q/s`,
      servers: plain,
      rate: MISS_RATE,
      file: (tag: string) => uniqueNames(`${tag}`, MISS_RATE * SECONDS * 1.2),
      warm: (tag: string) => uniqueNames(`${tag}w`, MISS_RATE * WARMUP * 1.2),
    },
  ];
  for (const p of phases) {
    console.log(`\n${p.phase}: ${REPEAT} runs of ${SECONDS} s per server, each after ${WARMUP} s of warm-up`);
    for (let r = 0; r < REPEAT; r++) {
      const order = [...p.servers.slice(r % p.servers.length), ...p.servers.slice(0, r % p.servers.length)];
      for (const s of order) {
        const tag = `r${r}-${s.name}`;
        const run = await cpuRun(s, p.file(tag), p.warm(tag), p.rate);
        record(p.phase, s.name, run);
        process.stdout.write(`  ${s.name} ${run.us.toFixed(2)} µs`);
      }
      console.log(`   (load ${loadavg()[0].toFixed(2)})`);
    }
  }

  console.log(`\nLatency at a fixed ${LATENCY_RATE} q/s (cache hits, dnsperf -Q -v: each answer's time), after 3 s at that rate:`);
  const latency = new Map<string, LatencyResult>();
  for (const s of plain) {
    count(s.port, dnsperf({ port: s.port, file: hits, seconds: 3, rate: LATENCY_RATE }).completed);
    const l = dnsperfLatency({ port: s.port, file: hits, seconds: Math.min(SECONDS, 5), rate: LATENCY_RATE });
    count(s.port, l.answered);
    latency.set(s.name, l);
  }

  console.log(`\nFull speed (dnsperf -c 1 -q 200, cache hits, ${SECONDS} s after 2 s of warm-up):`);
  const fullSpeed = new Map<string, number>();
  for (const s of plain) {
    count(s.port, dnsperf({ port: s.port, file: hits, seconds: 2 }).completed);
    const r = dnsperf({ port: s.port, file: hits, seconds: SECONDS });
    count(s.port, r.completed);
    fullSpeed.set(s.name, r.qps);
  }

  const afterLoad = new Map(
    [...plain, ...blocking].map((s) => [s.name + (blocking.includes(s) && !s.gatehouse ? ' (blocking)' : ''), memory(s.pid)]),
  );

  // The query log's accounting, on the logging Gatehouse.
  const logging = school[0];
  const log = await drainedLogStats(logging);
  await stopGatehouse(logging);
  await stopGatehouse(school[1]);
  const rows = countRows(join(logging.dataDir, 'gatehouse.db'));

  report(results, latency, fullSpeed);
  const total = answered.get(logging.port) ?? 0;
  const missing = Math.max(0, total - rows - log.dropped);
  console.log(
    `\nQuery log of ${logging.name}: ${total} queries answered to the clients (every phase), ${rows} rows in the database, ` +
      `${log.dropped} dropped by the writer (counted: gatehouse_querylog_rows_total{result="dropped"}), ${missing} missing` +
      (rows > total ? ` (${rows - total} more rows than answers: queries the client gave up waiting for are logged too)` : ''),
  );
  printMemory(afterStart, afterLoad);
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const p of [...peers, ...blockingPeers]) await p.stop();
  await nsd.stop();
}

/** One fixed-rate run: warm up, settle, read /proc, load, settle, read /proc. */
async function cpuRun(s: Server, file: string, warm: string, rate: number): Promise<CpuRun> {
  count(s.port, dnsperf({ port: s.port, file: warm, seconds: WARMUP, rate }).completed);
  await sleep(SETTLE_MS);
  const before = cpuTimes(s.pid);
  const threadsBefore = s.gatehouse ? threadCpuMs(s.pid) : undefined;
  const r = dnsperf({ port: s.port, file, seconds: SECONDS, rate });
  count(s.port, r.completed);
  await sleep(SETTLE_MS);
  const after = cpuTimes(s.pid);
  const system = after.systemMs - before.systemMs;
  const used = after.userMs - before.userMs + system;
  const per = (ms: number) => (ms * 1000) / Math.max(1, r.completed);
  const run: CpuRun = { us: per(used), systemUs: per(system), completed: r.completed, sent: r.sent };
  if (threadsBefore) {
    const t = splitThreads(s.pid, threadsBefore, threadCpuMs(s.pid), used);
    run.threads = { main: per(t.main), background: per(t.background), other: per(t.other) };
  }
  return run;
}

/** A dnsperf file of `n` names never asked before (the zone's wildcard answers them). */
function uniqueNames(tag: string, n: number): string {
  return writeQueryFile(
    join(dir, `miss-${tag}.txt`),
    Array.from({ length: Math.ceil(n) }, (_, i) => `${tag}-${i}.miss.bench.test`),
  );
}

/** Ask until `s` answers `name` with `address` (Gatehouse reads its leases and sessions in the first seconds). */
async function expectAnswer(s: Server, name: string, address: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await ask(s.port, name, 'A', { timeoutMs: 1000 });
      count(s.port, 1);
      if (r.addresses.includes(address)) return;
      last = JSON.stringify(r);
    } catch (err) {
      last = String(err);
    }
    await sleep(250);
  }
  throw new Error(`${s.name} does not answer ${name} with ${address}: ${last}`);
}

/** The writer's counters once its queue is empty (read from /metrics). */
async function drainedLogStats(g: RunningGatehouse): Promise<{ written: number; dropped: number }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${g.adminPort}/metrics`)).text();
    // A counter still at 0 has no sample line.
    const metric = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    const queued = Number(/^gatehouse_querylog_queued (\d+)/m.exec(text)?.[1] ?? NaN);
    if (queued === 0 || Date.now() > deadline)
      return {
        written: metric(/^gatehouse_querylog_rows_total\{result="written"\} (\d+)/m),
        dropped: metric(/^gatehouse_querylog_rows_total\{result="dropped"\} (\d+)/m),
      };
    await sleep(500);
  }
}

/** Rows in the query log's day tables and the self-test's table. */
function countRows(path: string): number {
  const db = new Database(path, { readonly: true });
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND (name GLOB 'q_[0-9]*' OR name = 'check_query')")
    .pluck()
    .all() as string[];
  // Table names come from sqlite_master (our own schema), never from input.
  const rows = tables.reduce((n, t) => n + (db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number), 0);
  db.close();
  return rows;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function report(results: Map<string, Map<string, CpuRun[]>>, latency: Map<string, LatencyResult>, fullSpeed: Map<string, number>): void {
  console.log(
    `\n=== CPU per answered query, µs: utime+stime of the whole server process (all threads) / queries answered; ${REPEAT} runs of ${SECONDS} s ===`,
  );
  for (const [phase, byServer] of results) {
    const best = Math.min(...TARGET_PEERS.map((p) => median((byServer.get(p) ?? []).map((r) => r.us))).filter((x) => !Number.isNaN(x)));
    console.log(
      `\n${phase}            min  median     max   ratio to the best of ${TARGET_PEERS.join(', ')} (medians); of it in the kernel (median)`,
    );
    for (const [server, runs] of byServer) {
      const us = runs.map((r) => r.us);
      console.log(
        `  ${server.padEnd(16)} ${Math.min(...us)
          .toFixed(2)
          .padStart(6)}  ${median(us).toFixed(2).padStart(6)}  ${Math.max(...us)
          .toFixed(2)
          .padStart(
            6,
          )}   ${(median(us) / best).toFixed(2)}x   kernel ${median(runs.map((r) => r.systemUs)).toFixed(2)}   answered ${runs.at(-1)!.completed}/${runs.at(-1)!.sent}`,
      );
      if (runs[0].threads) {
        const m = (k: keyof ThreadSplit) => median(runs.map((r) => r.threads![k])).toFixed(2);
        console.log(
          `  ${''.padEnd(16)} threads: main ${m('main')}, writer and other nice-19 ${m('background')}, GC/libuv/other ${m('other')}`,
        );
      }
    }
  }
  console.log(`\n=== p50 / p99 at ${LATENCY_RATE} q/s, cache hits; full-speed q/s (dnsperf-bound) ===`);
  for (const [server, l] of latency)
    console.log(
      `  ${server.padEnd(16)} p50 ${l.p50Ms.toFixed(3)} ms   p99 ${l.p99Ms.toFixed(3)} ms   answered ${l.answered}/${l.sent}   full speed ${fullSpeed.get(server)?.toFixed(0)} q/s`,
    );
}

function printMemory(afterStart: Map<string, Memory>, afterLoad: Map<string, Memory>): void {
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  console.log('\n=== Resident memory (VmRSS, and VmHWM the peak), after all the load above ===');
  for (const [name, m] of afterStart) console.log(`  ${name.padEnd(28)} after start ${mb(m.rssKb)} (peak ${mb(m.peakKb)})`);
  for (const [name, m] of afterLoad) console.log(`  ${name.padEnd(28)} after load  ${mb(m.rssKb)} (peak ${mb(m.peakKb)})`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    stopAllPeers();
    for (const g of gatehouses) if (g.child.exitCode === null) g.child.kill('SIGTERM');
    setTimeout(() => rmSync(dir, { recursive: true, force: true }), 1000);
  });
