// DNS over TLS and over HTTPS (issue 15): throughput and CPU per query of
// Gatehouse's DoT and DoH listeners against dnsdist's DoT and DoH frontends,
// in the same run. Target: Gatehouse at least 0.75x dnsdist's throughput.
//
// Both answer from their cache the same 2,000 names that nsd serves on
// loopback, over the same self-signed certificate:
//   gatehouse  deploy/gatehouse.site.yaml with its real lists (../shared/lists),
//              every query logged, the rate limiter on, the client signed in as
//              a roster pupil (bench/school.ts), and doh/dot/tls added
//   dnsdist    its packet cache in front of nsd, addTLSLocal and addDOHLocal
//
// Load, at full speed, each run bounded by --seconds:
//   DoT  dnsperf -m dot, 2 connections, 200 queries outstanding
//   DoH  h2load (nghttp2), HTTP/2 GET of /dns-query?dns=…, 2 connections,
//        100 streams each. dnsperf's own DoH mode (2.10, Debian's) completes
//        only the first few queries of a run against any server here, both
//        dnsdist and Gatehouse, so it cannot measure either.
// The servers alternate within each round, so a noisy neighbour shows as a
// spread; the medians are compared. CPU per query is the server process's
// CPU time (all threads, /proc) over the answers it sent.
//
//   npm run build && npx tsx bench/encrypted.ts [--seconds 5] [--rounds 3] [--cpu-prof DIR]
//
// --cpu-prof DIR: Gatehouse runs with node --cpu-prof, its V8 profiles written to DIR.
//
// Needs nsd, dnsdist, dnsperf, h2load, kdig and openssl; loopback only.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { startNsd, zone } from '../test/helpers/nsd.js';
import { findProgram } from '../test/helpers/programs.js';
import { writeQueryFile } from './dnsperf.js';
import { startDnsdist, stopAllPeers, unusedPort, type Peer } from './peers.js';
import { cpuMs, splitThreads, threadCpuMs } from './proc.js';
import { schoolConfig, seedIdentities, startGatehouse, stopGatehouse } from './school.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, 'cpu-prof': { type: 'string' } },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const TARGET = 0.75;
const HOSTNAME = 'dns.bench.test';

for (const p of ['nsd', 'dnsdist', 'dnsperf', 'h2load', 'kdig', 'openssl']) {
  if (!findProgram(p)) {
    console.error(`bench needs ${p}: apt-get install nsd dnsdist dnsperf nghttp2-client knot-dnsutils openssl`);
    process.exit(2);
  }
}

interface Front {
  name: string;
  pid: number;
  dot: number;
  doh: number;
}

interface Run {
  qps: number;
  us: number;
  /** Of `us`, the main thread's (the event loop: TLS, HTTP/2 and the query path all run there). */
  mainUs: number;
  /** The load generator's CPU per query: when it is near a core's worth, the client is the limit. */
  clientUs: number;
  completed: number;
  failed: number;
}

const dir = mkdtempSync(join(tmpdir(), 'gh-bench-encrypted-'));
/** What to stop at the end, however the run ends (by PID: ours only). */
const cleanups: (() => Promise<void>)[] = [];
const names = Array.from({ length: 2000 }, (_, i) => `host${i}.bench.test`);

async function main(): Promise<void> {
  console.log(`load average at start: ${loadavg()[0].toFixed(2)} (2 cores)`);
  // One port for UDP and TCP: dnsdist forwards DoT and DoH queries to its backend over TCP, on the backend's one port.
  const nsd = await startNsd(
    {
      'bench.test': zone(
        'bench.test',
        names.map((n, i) => `${n}. IN A 198.18.${(i >> 8) & 255}.${i & 255}`),
      ),
    },
    { port: await unusedPort() },
  );
  cleanups.push(() => nsd.stop());
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(findProgram('openssl')!, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-keyout', key, '-out', cert, '-subj', `/CN=${HOSTNAME}`, '-addext', `subjectAltName=DNS:${HOSTNAME},IP:127.0.0.1`,
  ], { stdio: 'ignore' }); // prettier-ignore

  const gatehouse = await startSchool(nsd.port, cert, key);
  cleanups.push(() => stopGatehouse(gatehouse.g));
  const dnsdist = await startDnsdistFront(nsd.port, cert, key);
  cleanups.push(() => dnsdist.peer.stop());
  const fronts: Front[] = [
    { name: 'gatehouse', pid: gatehouse.pid, dot: gatehouse.dot, doh: gatehouse.doh },
    { name: 'dnsdist', pid: dnsdist.peer.pid, dot: dnsdist.dot, doh: dnsdist.doh },
  ];
  const queries = writeQueryFile(join(dir, 'queries.txt'), names);
  const uris = join(dir, 'uris.txt');
  for (const f of fronts) {
    // Both answer over both transports, from nsd's data, before any load.
    expectAnswer(f, ['+tls', '-p', String(f.dot)]);
    expectAnswer(f, ['+https', '-p', String(f.doh)]);
    // The cache warmed: every name once over DoT (the cache is the same for DoH).
    dot(f, queries, 2);
  }
  const results = new Map<string, Run[]>();
  const record = (key: string, run: Run) => results.set(key, [...(results.get(key) ?? []), run]);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? fronts : [...fronts].reverse();
    for (const f of order) {
      record(`DoT ${f.name}`, dot(f, queries, SECONDS));
      writeFileSync(uris, names.map((n) => `https://127.0.0.1:${f.doh}/dns-query?dns=${base64url(query(n))}\n`).join(''));
      record(`DoH ${f.name}`, doh(f, uris, SECONDS));
    }
    console.log(
      `round ${r + 1}: ` +
        [...results]
          .map(
            ([k, runs]) =>
              `${k} ${Math.round(runs.at(-1)!.qps)} q/s ${runs.at(-1)!.us.toFixed(1)} µs (main thread ${runs.at(-1)!.mainUs.toFixed(1)}, client ${runs.at(-1)!.clientUs.toFixed(1)})`,
          )
          .join(', ') +
        ` (load ${loadavg()[0].toFixed(2)})`,
    );
  }
  report(results);
}

/** Gatehouse as a school runs it, with DoH and DoT on ports free a moment ago. */
async function startSchool(upstream: number, cert: string, key: string) {
  const dataDir = join(dir, 'gatehouse');
  const leases = seedIdentities(dataDir, 1000);
  const base = YAML.parse(schoolConfig({ dir, dataDir, upstream, queryLog: true, leases, fallbackBlocked: ['casino.bench.test'] }).yaml);
  const [dot, doh] = [await unusedPort(), await unusedPort()];
  const config = {
    ...base,
    tls: { certFile: cert, keyFile: key, hostname: HOSTNAME },
    // The per-connection stream rate guards against HTTP/2 rapid reset; a load generator's two connections are far past it.
    doh: { listen: [`127.0.0.1:${doh}`], streamsPerSecond: 1_000_000 },
    dot: { listen: [`127.0.0.1:${dot}`] },
  };
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, YAML.stringify(config));
  const prof = values['cpu-prof'];
  const g = await startGatehouse('gatehouse', file, dataDir, prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []);
  await waitFor(() => answers(['+tls', '-p', String(dot)]), 'Gatehouse DoT');
  return { g, pid: g.pid, dot, doh };
}

/** dnsdist with its packet cache in front of nsd (bench/peers.ts), and DoT and DoH frontends. */
async function startDnsdistFront(upstream: number, cert: string, key: string) {
  const [dot, doh] = [await unusedPort(), await unusedPort()];
  const peer: Peer = await startDnsdist({
    upstream,
    extra: [`addTLSLocal("127.0.0.1:${dot}", "${cert}", "${key}")`, `addDOHLocal("127.0.0.1:${doh}", "${cert}", "${key}", "/dns-query")`],
  });
  await waitFor(() => answers(['+tls', '-p', String(dot)]), 'dnsdist DoT');
  return { peer, dot, doh };
}

function answers(args: string[]): boolean {
  try {
    const out = execFileSync(findProgram('kdig')!, ['@127.0.0.1', ...args, names[1], 'A', '+short', '+timeout=1', '+retry=0'], {
      encoding: 'utf8',
    });
    return out.trim() === '198.18.0.1';
  } catch {
    return false;
  }
}

function expectAnswer(f: Front, args: string[]): void {
  if (!answers(args)) throw new Error(`${f.name} did not answer ${names[1]} with kdig ${args.join(' ')}`);
}

async function waitFor(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} does not answer`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** dnsperf -m dot at full speed for `seconds`. */
function dot(f: Front, file: string, seconds: number): Run {
  const args = ['-m', 'dot', '-s', '127.0.0.1', '-p', String(f.dot), '-d', file, '-l', String(seconds), '-c', '2', '-q', '200'];
  return measure(f, findProgram('dnsperf')!, args, seconds, (out) => {
    const field = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
    const completed = field(/Queries completed:\s+(\d+)/);
    const noerror = field(/NOERROR (\d+)/);
    return { completed, qps: field(/Queries per second:\s+([\d.]+)/), failed: completed - noerror + field(/Queries lost:\s+(\d+)/) };
  });
}

/** h2load: HTTP/2 GETs at full speed for `seconds` over two connections. */
function doh(f: Front, uris: string, seconds: number): Run {
  const args = ['-D', String(seconds), '-c', '2', '-m', '100', '-t', '1', '-i', uris];
  return measure(f, findProgram('h2load')!, args, seconds, (out) => {
    const m = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
    const ok = /status codes: (\d+) 2xx/.exec(out);
    if (!m || !ok) throw new Error(`h2load said: ${out}`);
    const qps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
    return { completed: Number(ok[1]), qps, failed: Number(m[4]) + Number(m[5]) + Number(m[6]) };
  });
}

/**
 * One load run against `f`: the load generator's output parsed by `parse`, and
 * CPU per answered query of the server (all threads, and its main thread) and
 * of the load generator itself (bash's `times`: its children's user and system time).
 */
function measure(
  f: Front,
  program: string,
  args: string[],
  seconds: number,
  parse: (out: string) => { completed: number; qps: number; failed: number },
): Run {
  const beforeMs = cpuMs(f.pid);
  const beforeThreads = threadCpuMs(f.pid);
  const out = execFileSync('bash', ['-c', '"$@"; times', '_', program, ...args], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const { completed, qps, failed } = parse(out);
  const used = cpuMs(f.pid) - beforeMs;
  const split = splitThreads(f.pid, beforeThreads, threadCpuMs(f.pid), used);
  // The second line of `times`: the children's "XmY.YYYs XmY.YYYs".
  const t = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out);
  const clientMs = t ? (Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4])) * 1000 : NaN;
  const per = (ms: number) => (completed > 0 ? (ms * 1000) / completed : NaN);
  return { qps, us: per(used), mainUs: per(split.main), clientUs: per(clientMs), completed, failed };
}

/** A DNS query for `name` A, id 0 (RFC 8484 §4.1: id 0 for HTTP caching). */
function query(name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

const base64url = (b: Buffer) => b.toString('base64url');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function report(results: Map<string, Run[]>): void {
  console.log(`\nmedians of ${ROUNDS} runs of ${SECONDS} s (full speed; CPU per query of the whole server process):`);
  console.log(
    '| transport | server | q/s | CPU µs/query | of which main thread | load generator CPU µs/query | failed | ratio to dnsdist (q/s) | target ≥ 0.75 |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const t of ['DoT', 'DoH']) {
    const ours = results.get(`${t} gatehouse`)!;
    const theirs = results.get(`${t} dnsdist`)!;
    const ratio = median(ours.map((r) => r.qps)) / median(theirs.map((r) => r.qps));
    for (const [name, runs] of [
      ['gatehouse', ours],
      ['dnsdist', theirs],
    ] as const) {
      const isOurs = name === 'gatehouse';
      console.log(
        `| ${t} | ${name} | ${Math.round(median(runs.map((r) => r.qps)))} | ${median(runs.map((r) => r.us)).toFixed(1)} | ` +
          `${median(runs.map((r) => r.mainUs)).toFixed(1)} | ${median(runs.map((r) => r.clientUs)).toFixed(1)} | ` +
          `${runs.reduce((s, r) => s + r.failed, 0)} | ${isOurs ? ratio.toFixed(2) : '1.00'} | ${isOurs ? (ratio >= TARGET ? 'met' : 'NOT met') : ''} |`,
      );
    }
  }
  console.log(`load average at end: ${loadavg()[0].toFixed(2)}`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
    stopAllPeers();
    rmSync(dir, { recursive: true, force: true });
  });
