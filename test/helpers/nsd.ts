// A real nsd authoritative server on a loopback port, for integration tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { findProgram } from './programs.js';
import { answersOnUdp } from './udp-probe.js';

export interface NsdServer {
  port: number;
  stop(): Promise<void>;
}

/** A free loopback port for both UDP and TCP (picked by binding UDP port 0). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Start nsd serving the given zones ({ 'example.com': 'zone text' }) on host:port (127.0.0.1 and a free port by default). */
export async function startNsd(
  zones: Record<string, string>,
  port?: number,
  tls?: { port: number; keyFile: string; certFile: string },
  host = '127.0.0.1',
): Promise<NsdServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-nsd-'));
  const listenPort = port ?? (await freePort());
  const zoneBlocks = Object.entries(zones).map(([name, text]) => {
    writeFileSync(join(dir, `${name}.zone`), text);
    return `zone:\n  name: "${name}"\n  zonefile: "${name}.zone"\n`;
  });
  writeFileSync(
    join(dir, 'nsd.conf'),
    `server:\n  ip-address: ${host}@${listenPort}\n  port: ${listenPort}\n  username: ""\n  chroot: ""\n  zonesdir: "${dir}"\n` +
      `  database: ""\n  zonelistfile: "${dir}/zone.list"\n  pidfile: "${dir}/nsd.pid"\n  xfrdfile: "${dir}/xfrd.state"\n` +
      `  server-count: 1\n  verbosity: 0\n  hide-version: yes\n  tcp-count: 100\n  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n` +
      (tls
        ? `  ip-address: 127.0.0.1@${tls.port}\n  tls-port: ${tls.port}\n  tls-service-key: "${tls.keyFile}"\n  tls-service-pem: "${tls.certFile}"\n`
        : '') +
      `remote-control:\n  control-enable: no\n` +
      zoneBlocks.join(''),
  );
  const child: ChildProcess = spawn(findProgram('nsd')!, ['-d', '-c', join(dir, 'nsd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  // Ready when it answers over UDP.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nsd exited: ${stderr}`);
    if (await answers(host, listenPort, Object.keys(zones)[0])) break;
    if (Date.now() > deadline) throw new Error(`nsd did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: listenPort,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function answers(host: string, port: number, zone: string): Promise<boolean> {
  return answersOnUdp(host, port, zone, 'SOA');
}

/** A zone with an SOA, NS, and the records given (relative owner names). */
export function zone(origin: string, records: string[], soaMinimum = 300): string {
  return [
    `$ORIGIN ${origin}.`,
    '$TTL 3600',
    `@ IN SOA ns.${origin}. admin.${origin}. 1 3600 600 86400 ${soaMinimum}`,
    `@ IN NS ns.${origin}.`,
    'ns IN A 127.0.0.1',
    ...records,
    '',
  ].join('\n');
}
