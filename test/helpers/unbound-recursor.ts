// A real unbound as the appliance runs it (recursive, from deploy/unbound.conf
// with a test's changes), from a config text, in the foreground, stopped by its
// PID. It listens on a fixed port of a loopback address of the test's own
// (127.x.y.z), so nothing else can hold that port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersOnUdp } from './udp-probe.js';
import { findProgram } from './programs.js';

export interface Recursor {
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
export async function startRecursor(config: (dir: string) => string, host: string, port: number): Promise<Recursor> {
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
