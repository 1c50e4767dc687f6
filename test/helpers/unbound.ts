// A real unbound forwarding everything to a server on 127.0.0.1 (nsd in the
// tests), validating the zones it is given trust anchors for. UDP only, on
// port 0; the port is read back from /proc (ports.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram } from './programs.js';
import { waitForPorts } from './ports.js';

export interface UnboundServer {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startUnbound(opts: {
  forwardTo: number;
  trustAnchors?: string[];
  /** More lines for the `server:` clause (the bench's local-zones), indented as given. */
  serverLines?: string[];
}): Promise<UnboundServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-unbound-'));
  const anchors = opts.trustAnchors ?? [];
  const lines = [
    'server:',
    '  interface: 127.0.0.1@0',
    '  do-tcp: no',
    '  num-threads: 1',
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    '  access-control: 127.0.0.0/8 allow',
    '  do-not-query-localhost: no',
    '  qname-minimisation: no',
    // .test is a special-use name unbound answers itself unless told otherwise (RFC 6761).
    '  local-zone: "test." nodefault',
    `  module-config: "${anchors.length > 0 ? 'validator iterator' : 'iterator'}"`,
    ...anchors.map((a) => `  trust-anchor: "${a.replace(/"/g, '\\"')}"`),
    ...(opts.serverLines ?? []),
    'forward-zone:',
    '  name: "."',
    `  forward-addr: 127.0.0.1@${opts.forwardTo}`,
    '',
  ];
  writeFileSync(join(dir, 'unbound.conf'), lines.join('\n'));
  const child = spawn(findProgram('unbound')!, ['-d', '-c', join(dir, 'unbound.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const running = () => child.exitCode === null && child.signalCode === null;
  try {
    const bound = await waitForPorts(
      child.pid!,
      (p) => p.udp.length > 0,
      () => (running() ? `unbound did not start: ${stderr}` : `unbound exited: ${stderr}`),
    );
    return {
      port: bound.udp[0],
      pid: child.pid!,
      async stop() {
        if (running()) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (running()) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
