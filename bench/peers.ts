// The peers the benchmarks measure Gatehouse against, each a caching
// forwarder to the same upstream (nsd) on loopback: unbound (one thread),
// dnsmasq, dnsdist (with its packet cache) and knot-resolver (one kresd).
// Optionally each answers a set of names itself with one address, as a
// blocking resolver would (unbound local-data, dnsmasq address=, a dnsdist
// SpoofAction rule, kresd hints), so a blocked lookup can be priced too.
//
// unbound and kresd listen on port 0 and the port is read back from /proc
// (test/helpers/ports.ts). dnsmasq (--port=0 turns DNS off) and dnsdist
// (port 0 means 53) cannot: they are told a port that was free a moment ago,
// and started again on another if it was taken meanwhile.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram } from '../test/helpers/programs.js';
import { ask } from '../test/helpers/client.js';
import { waitForPorts, type BoundPorts } from '../test/helpers/ports.js';
import { startUnbound } from '../test/helpers/unbound.js';

export interface Peer {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export interface PeerOptions {
  /** The upstream's UDP port on 127.0.0.1. */
  upstream: number;
  /** Names (exactly these) answered by the peer itself with one IPv4 address. */
  local?: { names: string[]; address: string };
  /** Name in the tables (default: the program's). */
  name?: string;
  /** dnsdist only: more lines for its Lua config (another frontend, say). */
  extra?: string[];
}

/**
 * The bench zones' name server address (test/helpers/nsd.ts zone()): public-looking
 * (198.18.0.0/15, RFC 2544), so the glue nsd adds to each answer is not a private
 * address that Gatehouse's rebinding protection would strip from every cache miss.
 */
export const BENCH_NS = '198.18.255.254';

/** Every peer started and not stopped yet, so a failed run can stop them (by PID, ours only). */
const running = new Set<ChildProcess>();

export function stopAllPeers(): void {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  running.clear();
}

export async function startUnboundPeer(o: PeerOptions): Promise<Peer> {
  const serverLines = (o.local?.names ?? []).flatMap((n) => [
    `  local-zone: "${n}." redirect`,
    `  local-data: "${n}. 60 IN A ${o.local!.address}"`,
  ]);
  const u = await startUnbound({ forwardTo: o.upstream, serverLines });
  return { name: o.name ?? 'unbound', port: u.port, pid: u.pid, stop: () => u.stop() };
}

export async function startDnsmasq(o: PeerOptions): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-dnsmasq-'));
  const conf = join(dir, 'dnsmasq.conf');
  writeFileSync(conf, (o.local?.names ?? []).map((n) => `address=/${n}/${o.local!.address}\n`).join(''));
  return onUnusedPort(o.name ?? 'dnsmasq', dir, (port) =>
    spawn(
      findProgram('dnsmasq')!,
      [
        '-k',
        `--conf-file=${conf}`,
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        '--no-resolv',
        `--server=127.0.0.1#${o.upstream}`,
        '--cache-size=10000',
        '--user=root',
        '--pid-file=',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
}

/**
 * dnsdist with its packet cache (100,000 entries) in front of one backend.
 * The backend is set up for good (no health checks: nothing but queries in
 * the CPU figures), and security polling is off (it would ask the internet).
 */
export async function startDnsdist(o: PeerOptions): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-dnsdist-'));
  const names = join(dir, 'local-names.txt');
  writeFileSync(names, (o.local?.names ?? []).map((n) => `${n}\n`).join(''));
  const conf = (port: number) =>
    [
      `setLocal("127.0.0.1:${port}")`,
      'setSecurityPollSuffix("")',
      `newServer({address="127.0.0.1:${o.upstream}"}):setUp()`,
      'getPool(""):setCache(newPacketCache(100000))',
      ...(o.local
        ? [
            'local smn = newSuffixMatchNode()',
            `for line in io.lines("${names}") do smn:add(newDNSName(line)) end`,
            `addAction(SuffixMatchNodeRule(smn), SpoofAction("${o.local.address}"))`,
          ]
        : []),
      ...(o.extra ?? []),
      '',
    ].join('\n');
  return onUnusedPort(o.name ?? 'dnsdist', dir, (port) => {
    const file = join(dir, `dnsdist-${port}.conf`);
    writeFileSync(file, conf(port));
    return spawn(findProgram('dnsdist')!, ['-C', file, '--supervised', '--disable-syslog'], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
}

/**
 * One kresd forwarding everything to the upstream, its cache in a temporary
 * directory. No trust anchor (the upstream's zones are unsigned), and none of
 * the modules that send queries of their own.
 */
export async function startKresd(o: PeerOptions): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-kresd-'));
  const hosts = join(dir, 'local.hosts');
  writeFileSync(hosts, (o.local?.names ?? []).map((n) => `${o.local!.address} ${n}\n`).join(''));
  const conf = join(dir, 'kresd.conf');
  writeFileSync(
    conf,
    [
      "net.listen('127.0.0.1', 0, { kind = 'dns' })",
      "trust_anchors.remove('.')",
      "modules.unload('priming')",
      "modules.unload('detect_time_skew')",
      "modules.unload('detect_time_jump')",
      'cache.size = 100 * MB',
      ...(o.local ? ["modules.load('hints > iterate')", `hints.add_hosts('${hosts}')`] : []),
      `policy.add(policy.all(policy.FORWARD('127.0.0.1@${o.upstream}')))`,
      '',
    ].join('\n'),
  );
  const child = spawn(findProgram('kresd')!, ['-n', '-c', conf, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return listening(o.name ?? 'knot-resolver', dir, child, (p) => p.udpUnconnected.length > 0);
}

/** Start `launch(port)` on a port free a moment ago; again on another (up to 5 times) if it is taken meanwhile. */
async function onUnusedPort(name: string, dir: string, launch: (port: number) => ChildProcess): Promise<Peer> {
  for (let attempt = 1; ; attempt++) {
    const port = await unusedPort();
    try {
      return await listening(name, dir, launch(port), (p) => p.udpUnconnected.includes(port), port);
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

/** Wait for `child` to listen; the peer, or an error with what it said on stderr (it is stopped then). */
async function listening(name: string, dir: string, child: ChildProcess, ready: (p: BoundPorts) => boolean, port?: number): Promise<Peer> {
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    running.delete(child);
    if (alive()) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const readyOrGone = (p: BoundPorts) => {
      if (!alive()) throw new Error(`${name} exited: ${stderr}`);
      return ready(p);
    };
    const bound = await waitForPorts(child.pid!, readyOrGone, () => `${name} did not listen: ${stderr}`, 15_000);
    return { name, port: port ?? bound.udpUnconnected[0], pid: child.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A port free for UDP and TCP on 127.0.0.1 just now (only for programs that cannot take port 0). */
export async function unusedPort(): Promise<number> {
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const port = udp.address().port;
  const tcp = net.createServer();
  const free = await new Promise<boolean>((r) => {
    tcp.once('error', () => r(false));
    tcp.listen(port, '127.0.0.1', () => r(true));
  });
  if (free) await new Promise((r) => tcp.close(r));
  await new Promise<void>((r) => udp.close(() => r()));
  return free ? port : unusedPort();
}

/** Wait until a server on `port` answers `name` (it has loaded what it needs), for at most `timeoutMs`. */
export async function waitForAnswer(port: number, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await ask(port, name, 'A', { timeoutMs: 300 });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing answers on ${port}`);
}
