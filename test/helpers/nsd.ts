// A real nsd authoritative server on loopback, for integration tests. It
// listens on port 0 and we read back the ports the kernel gave it (ports.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram } from './programs.js';
import { waitForPorts } from './ports.js';
import { answersOnUdp } from './udp-probe.js';

export interface NsdServer {
  /** Its UDP port (what udp:// upstreams use). */
  port: number;
  /**
   * Its TCP port. nsd binds UDP and TCP separately, so on port 0 the two
   * differ, and a udp:// upstream's fallback to TCP cannot reach it: use
   * tcp:// with this port for answers too big for UDP. With `tls` this port
   * speaks DNS over TLS instead.
   */
  tcpPort: number;
  /** An outage that keeps the ports: SIGSTOP to nsd's processes (queries wait unanswered), then SIGCONT. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/**
 * Start nsd serving the given zones ({ 'example.com': 'zone text' }) on
 * 127.0.0.1 (or `host`), on ports the kernel picks. `port` is only for what
 * must sit on a known port, such as a nameserver in resolv.conf (53), on an
 * address of the test's own.
 */
export async function startNsd(
  zones: Record<string, string>,
  opts: { host?: string; port?: number; tls?: { keyFile: string; certFile: string } } = {},
): Promise<NsdServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-nsd-'));
  const zoneBlocks = Object.entries(zones).map(([name, text]) => {
    writeFileSync(join(dir, `${name}.zone`), text);
    return `zone:\n  name: "${name}"\n  zonefile: "${name}.zone"\n`;
  });
  const { tls, host = '127.0.0.1', port: listenPort = 0 } = opts;
  writeFileSync(
    join(dir, 'nsd.conf'),
    `server:\n  ip-address: ${host}@${listenPort}\n  port: ${listenPort}\n  username: ""\n  chroot: ""\n  zonesdir: "${dir}"\n` +
      `  database: ""\n  zonelistfile: "${dir}/zone.list"\n  pidfile: "${dir}/nsd.pid"\n  xfrdfile: "${dir}/xfrd.state"\n` +
      `  server-count: 1\n  verbosity: 0\n  hide-version: yes\n  tcp-count: 100\n  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n` +
      // nsd picks its TLS sockets by port number: with port 0 the one TCP socket speaks TLS.
      (tls ? `  tls-port: 0\n  tls-service-key: "${tls.keyFile}"\n  tls-service-pem: "${tls.certFile}"\n` : '') +
      `remote-control:\n  control-enable: no\n` +
      zoneBlocks.join(''),
  );
  // In its own process group, so pause() also reaches the server process it forks.
  const child: ChildProcess = spawn(findProgram('nsd')!, ['-d', '-c', join(dir, 'nsd.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const running = () => child.exitCode === null && child.signalCode === null;
  const signal = (name: NodeJS.Signals) => {
    if (running()) process.kill(-child.pid!, name);
  };
  try {
    const bound = await waitForPorts(
      child.pid!,
      (p) => p.udp.length > 0 && p.tcp.length > 0,
      () => (running() ? `nsd did not start: ${stderr}` : `nsd exited: ${stderr}`),
    );
    const port = bound.udp[0];
    // Ready when it answers over UDP: the zones load after the sockets are bound.
    const deadline = Date.now() + 10_000;
    while (!(await answersOnUdp(host, port, Object.keys(zones)[0], 'SOA'))) {
      if (!running() || Date.now() > deadline) throw new Error(`nsd did not answer: ${stderr}`);
    }
    return {
      port,
      tcpPort: bound.tcp[0],
      pause: () => signal('SIGSTOP'),
      resume: () => signal('SIGCONT'),
      async stop() {
        if (running()) {
          const exited = new Promise((r) => child.once('exit', r));
          signal('SIGCONT');
          signal('SIGTERM');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    signal('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A zone with an SOA, NS, and the records given (relative owner names). */
/**
 * A zone file: SOA, NS `ns.<origin>` with its address (`nsAddress`, glue nsd
 * adds to its answers), then `records`. Benchmarks give a public-looking
 * address: a loopback glue record is private, so rebinding protection would
 * rewrite every answer that carries it, which no real upstream's answer needs.
 */
export function zone(origin: string, records: string[], soaMinimum = 300, nsAddress = '127.0.0.1'): string {
  return [
    `$ORIGIN ${origin}.`,
    '$TTL 3600',
    `@ IN SOA ns.${origin}. admin.${origin}. 1 3600 600 86400 ${soaMinimum}`,
    `@ IN NS ns.${origin}.`,
    `ns IN A ${nsAddress}`,
    ...records,
    '',
  ].join('\n');
}
