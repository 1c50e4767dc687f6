// A real unbound for integration tests, from a config text, in the foreground,
// stopped by its PID. unbound cannot listen on port 0 and say which port it got,
// so a test gives it an address of its own (127.x.y.z) and a fixed port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersOnUdp } from './nsd.js';
import { findProgram } from './programs.js';

export interface UnboundServer {
  dir: string;
  /** What unbound wrote to stderr so far (its log). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Write `config(dir)` to unbound.conf in a fresh directory, start unbound on
 * it, and wait until it answers on host:port. The config should keep unbound
 * in the foreground's way: username "", chroot "", pidfile and directory in
 * `dir`, logging to stderr.
 */
export async function startUnbound(config: (dir: string) => string, host: string, port: number): Promise<UnboundServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-unbound-'));
  const file = join(dir, 'unbound.conf');
  writeFileSync(file, config(dir));
  const child: ChildProcess = spawn(findProgram('unbound')!, ['-d', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`unbound exited: ${stderr}`);
    // localhost. A comes from unbound's built-in local zone: no upstream needed.
    if (await answersOnUdp(host, port, 'localhost', 'A')) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`unbound did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dir,
    log: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
