// Side-by-side DNS benchmark: dnsperf against Gatehouse, unbound (one thread)
// and dnsmasq, all caching forwarders to the same nsd, in the same run; then
// our own fixed-rate load generator for p50/p99 latency, and the latency a
// cache miss adds to the upstream's own.
//
//   npm run bench                 (or: npx tsx bench/dns.ts --seconds 10)
//
// Everything runs on loopback and every load is bounded in time.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { startNsd, zone } from '../test/helpers/nsd.js';
import { waitForPorts } from '../test/helpers/ports.js';
import { startUnbound } from '../test/helpers/unbound.js';
import { findProgram } from '../test/helpers/programs.js';
import { measureLatency } from './loadgen.js';
import { measureAdmission } from './admission.js';
import { BENCH_NS, startDnsmasq, stopAllPeers, waitForAnswer } from './peers.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '20000' },
    'with-policy': { type: 'boolean', default: true },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);

for (const p of ['nsd', 'unbound', 'dnsmasq', 'dnsperf']) {
  if (!findProgram(p)) {
    console.error(`bench needs ${p}: apt-get install nsd unbound dnsmasq-base dnsperf`);
    process.exit(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gh-bench-'));
const children: ChildProcess[] = [];
const names = Array.from({ length: 2000 }, (_, i) => `host${i}.bench.test`);

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  return child;
}

/** Queries each Gatehouse answered, by port, to check its query log kept every one. */
const answeredBy = new Map<number, number>();
const countAnswered = (port: number, n: number) => answeredBy.set(port, (answeredBy.get(port) ?? 0) + n);

function dnsperf(port: number, file: string, secs: number, extra: string[] = []): { qps: number; avgMs: number; lost: number } {
  const out = execFileSync(
    findProgram('dnsperf')!,
    ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(secs), '-c', '1', '-q', '200', ...extra],
    { encoding: 'utf8' },
  );
  countAnswered(port, Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0));
  return {
    qps: Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    avgMs: Number(/Average Latency \(s\):\s+([\d.]+)/.exec(out)?.[1] ?? 0) * 1000,
    lost: Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0),
  };
}

async function main(): Promise<void> {
  const nsd = await startNsd({
    'bench.test': zone(
      'bench.test',
      [
        // 198.18.0.0/15 (RFC 2544, for benchmarks): not private, so rebinding protection keeps them.
        ...names.map((n, i) => `${n}. IN A 198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`),
        '*.miss IN A 192.0.2.99',
      ],
      300,
      BENCH_NS,
    ),
  });
  const queries = join(dir, 'queries.txt');
  writeFileSync(queries, names.map((n) => `${n} A`).join('\n') + '\n');

  // Gatehouse three times: as a school runs it (every query logged to SQLite,
  // the per-client rate limiter checking every query), with the query log
  // off, and with the rate limiter off, to show what each costs here. The
  // limit is set far above what dnsperf sends from its one address, so every
  // query pays for the check and none is limited.
  // Each listens on port 0; the port is read back from /proc.
  const gatehouses = new Map<number, ChildProcess>();
  const ghPorts: number[] = [];
  for (const [name, queryLog, limiter] of [
    ['log', true, true],
    ['nolog', false, true],
    ['nolimit', true, false],
  ] as const) {
    const file = join(dir, `gatehouse-${name}.yaml`);
    writeFileSync(
      file,
      [
        `dns: { listen: ["127.0.0.1:0"], rateLimit: { enabled: ${limiter}, qps: 100000000, burst: 100000000, networkQps: 100000000, networkBurst: 100000000 } }`,
        `links: [{ name: primary, upstreams: ["udp://127.0.0.1:${nsd.port}"], timeoutMs: 1500 }]`,
        'cache: { maxEntries: 100000 }',
        'logging: { level: error }',
        `store: { path: ${join(dir, `data-${name}`, 'gatehouse.db')}, queryLog: ${queryLog} }`,
        `admin: { listen: "127.0.0.1:0", blockPage: { enabled: false } }`,
        'checks: { schedule: "" }',
        ...(values['with-policy'] ? policyConfig() : ['groups: [{ name: everyone, default: true }]']),
      ].join('\n'),
    );
    const child = start(process.execPath, [join(import.meta.dirname, '../dist/cli.js'), 'serve', '--config', file]);
    // The DNS listener opens once the lists are loaded; it is the one UDP socket on loopback.
    const port = (
      await waitForPorts(
        child.pid!,
        (p) => p.udp.length > 0,
        () => 'gatehouse did not listen',
        60_000,
      )
    ).udp[0];
    gatehouses.set(port, child);
    ghPorts.push(port);
  }
  const [ghPort, ghNoLogPort, ghNoLimitPort] = ghPorts;

  // unbound, one thread, caching and forwarding to the same nsd (port 0, read back).
  const unbound = await startUnbound({ forwardTo: nsd.port });
  const unboundPort = unbound.port;

  const dnsmasq = await startDnsmasq({ upstream: nsd.port });
  const dnsmasqPort = dnsmasq.port;

  const servers = [
    { name: 'gatehouse', port: ghPort },
    { name: 'gh-nolog', port: ghNoLogPort },
    { name: 'unbound', port: unboundPort },
    { name: 'dnsmasq', port: dnsmasqPort },
  ];
  // Throughput only (not latency), to price the rate limiter.
  const noLimit = { name: 'gh-nolimit', port: ghNoLimitPort };
  for (const s of [...servers, noLimit]) await waitForAnswer(s.port, names[0], 15_000);

  // Latency first, on services that have only been warmed at the fixed rate
  // (3 s: the cache fills and a Node heap grows to its working size): the
  // throughput runs push the query-log writer far past anything a school
  // sends, and it takes a few seconds to catch up afterwards.
  for (const s of servers) countAnswered(s.port, (await measureLatency({ port: s.port, names, rate, seconds: 3 })).answered);
  console.log(`\nLatency at a fixed ${rate} q/s for ${Math.min(seconds, 5)} s (our load generator, cache hits):`);
  for (const s of servers) {
    const l = await measureLatency({ port: s.port, names, rate, seconds: Math.min(seconds, 5) });
    countAnswered(s.port, l.answered);
    console.log(`  ${s.name.padEnd(10)} p50 ${l.p50Ms.toFixed(3)} ms   p99 ${l.p99Ms.toFixed(3)} ms   answered ${l.answered}/${l.sent}`);
  }

  console.log('\nCache misses: unique names at 1000 q/s for 3 s; latency added to the upstream (nsd) answering directly:');
  const unique = (tag: string) => Array.from({ length: 4000 }, (_, i) => `${tag}${i}.miss.bench.test`);
  const direct = await measureLatency({ port: nsd.port, names: unique('d'), rate: 1000, seconds: 3 });
  const viaGh = await measureLatency({ port: ghPort, names: unique('g'), rate: 1000, seconds: 3 });
  countAnswered(ghPort, viaGh.answered);
  const viaUnbound = await measureLatency({ port: unboundPort, names: unique('u'), rate: 1000, seconds: 3 });
  console.log(`  nsd direct        p50 ${direct.p50Ms.toFixed(3)} ms   p99 ${direct.p99Ms.toFixed(3)} ms`);
  console.log(
    `  via gatehouse     p50 ${viaGh.p50Ms.toFixed(3)} ms   p99 ${viaGh.p99Ms.toFixed(3)} ms   added p50 ${(viaGh.p50Ms - direct.p50Ms).toFixed(3)} ms`,
  );
  console.log(
    `  via unbound       p50 ${viaUnbound.p50Ms.toFixed(3)} ms   p99 ${viaUnbound.p99Ms.toFixed(3)} ms   added p50 ${(viaUnbound.p50Ms - direct.p50Ms).toFixed(3)} ms`,
  );

  console.log(`\nCache hits: dnsperf -c 1 -q 200, ${names.length} names, ${seconds} s each, after a warm-up pass`);
  const results: Record<string, { qps: number; avgMs: number; lost: number }> = {};
  for (const s of [...servers, noLimit]) {
    dnsperf(s.port, queries, 2); // warm the cache
    results[s.name] = dnsperf(s.port, queries, seconds);
  }
  // Gatehouse once more at the end, so a noisy neighbour early on shows up as a spread.
  const again = dnsperf(ghPort, queries, seconds);
  const gh = { ...results.gatehouse, qps: Math.max(results.gatehouse.qps, again.qps) };
  for (const s of [...servers, noLimit]) {
    const r = s.name === 'gatehouse' ? gh : results[s.name];
    console.log(`  ${s.name.padEnd(10)} ${r.qps.toFixed(0).padStart(8)} q/s   avg ${r.avgMs.toFixed(3)} ms   lost ${r.lost}`);
  }
  console.log(`  gatehouse runs: ${results.gatehouse.qps.toFixed(0)} and ${again.qps.toFixed(0)} q/s (best taken)`);
  console.log(
    `  ratio gatehouse/unbound: ${(gh.qps / results.unbound.qps).toFixed(2)}   gatehouse/dnsmasq: ${(gh.qps / results.dnsmasq.qps).toFixed(2)}`,
  );
  console.log(
    `  without the query log: ratio to unbound ${(results['gh-nolog'].qps / results.unbound.qps).toFixed(2)}; logging on keeps ${((100 * gh.qps) / results['gh-nolog'].qps).toFixed(0)}% of logging-off throughput`,
  );
  const check = measureAdmission();
  console.log(
    `  rate limiter: on (gatehouse) vs off (gh-nolimit): ${((100 * gh.qps) / results['gh-nolimit'].qps).toFixed(0)}% of limiter-off throughput; ` +
      `one check costs ${check.nsPerCheck.toFixed(0)} ns in-process (${check.clients} client addresses, ${check.allocatedBytesPerCheck.toFixed(2)} bytes allocated per check)`,
  );

  // The throughput with logging on only counts if the log kept up: stop the
  // service (it flushes on SIGTERM) and count what reached SQLite.
  const logging = gatehouses.get(ghPort)!;
  logging.kill('SIGTERM');
  await new Promise((r) => logging.once('exit', r));
  const db = new Database(join(dir, 'data-log', 'gatehouse.db'), { readonly: true });
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'q_[0-9]*'").pluck().all() as string[];
  const logged = tables.reduce((n, t) => n + (db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number), 0);
  db.close();
  const answered = answeredBy.get(ghPort) ?? 0;
  console.log(
    `\nQuery log: ${logged} rows for ${answered} queries answered to the clients (${logged >= answered ? 'none lost' : `${answered - logged} MISSING`}; queries whose answer the client gave up on are logged too)`,
  );

  await unbound.stop();
  await dnsmasq.stop();
  await nsd.stop();
}

/** The shape of a school's config: three groups and the example categories, so the policy runs on every query. */
function policyConfig(): string[] {
  return [
    'categories:',
    '  - { id: iwf, name: IWF, illegal: true, severity: critical }',
    '  - { id: adult, name: Adult, severity: high, keywords: ["porn", "xxx"] }',
    '  - { id: gambling, name: Gambling, severity: medium }',
    'groups:',
    '  - { name: pupils, networks: ["10.10.0.0/16"], block: [adult, gambling] }',
    '  - { name: staff, networks: ["10.20.0.0/16"], block: [adult] }',
    '  - { name: guests, default: true, block: [adult, gambling], safeSearch: { google: true, youtube: strict } }',
  ];
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    stopAllPeers();
    rmSync(dir, { recursive: true, force: true });
  });
