// A high or critical safeguarding alert is on disk within 50 ms of the lookup
// (issue 12, item 6): a real `gatehouse serve` (dist/cli.js, so run `npm run
// build` first), one lookup, `kill -9` 50 ms after its answer arrived, then
// the database is opened and the alert must be there.
//
// Why 50 ms: it is the requirement. Other alerts are written by a timer every
// delivery.flushMs (250 ms by default; 5 s here, the most it may be, so that
// only the urgent path can have written anything before the kill, however late
// this process's own 50 ms timer fires on a loaded machine), so a kill before
// the timer loses them (the control below shows it); a high or critical one is
// written on the next turn of the event loop after its answer, normally well
// under a millisecond, so 50 ms leaves a wide margin for a loaded machine. The
// time is measured from the moment the answer reached this process (our own
// UDP client, not dig, whose exit comes some milliseconds after the answer),
// so what is checked is the order "written, then killed" with 50 ms between
// answer and kill.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ask } from '../helpers/client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';

const cli = join(import.meta.dirname, '../../dist/cli.js');
const KILL_AFTER_MS = 50;

function config(dir: string, upstream: string): string {
  return `dns: { listen: ["127.0.0.1:0"] }
links: [{ name: primary, upstreams: ["${upstream}"], timeoutMs: 1500 }]
categories:
  - { id: selfharm, name: Self-harm, severity: critical }
  - { id: gambling, name: Gambling, severity: medium }
lists:
  - { id: selfharm-list, category: selfharm, source: "file:selfharm.txt", format: domains }
  - { id: gambling-list, category: gambling, source: "file:gambling.txt", format: domains }
groups: [{ name: pupils, default: true, block: [selfharm, gambling] }]
health: { probeIntervalMs: 60000 }
store: { path: ${join(dir, 'gh.db')} }
admin: { listen: "127.0.0.1:0", blockPage: { enabled: false } }
alerts: { enabled: true, delivery: { flushMs: 5000 } }
checks: { schedule: "" }
`;
}

/** Start `gatehouse serve`; resolves with the DNS port once it answers (lists loaded: DNS opens after them). */
function serve(file: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [cli, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${lines.join('\n')}`)), 20_000);
    const onData = (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        lines.push(line);
        const m = /"udp":"127\.0\.0\.1:(\d+)"/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({ child, port: Number(m[1]) });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${lines.join('\n')}`)));
  });
}

/** One blocked lookup, then SIGKILL exactly KILL_AFTER_MS after its answer; returns the alerts left on disk. */
async function lookupAndKill(dir: string, upstream: string, name: string): Promise<{ category: string; severity: string }[]> {
  const file = join(dir, `gh-${name}.yaml`);
  writeFileSync(file, config(dir, upstream));
  const { child, port } = await serve(file);
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const reply = await ask(port, name, 'A', { timeoutMs: 3000 });
    const answeredAt = performance.now();
    expect(reply.addresses).toEqual(['127.0.0.1']); // the block answer (dns.block.a), not the upstream's
    await new Promise((r) => setTimeout(r, Math.max(0, KILL_AFTER_MS - (performance.now() - answeredAt))));
    child.kill('SIGKILL');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  }
  const path = join(dir, 'gh.db');
  expect(existsSync(path)).toBe(true);
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT category, severity FROM alerts WHERE kind = 'safeguarding'").all() as {
      category: string;
      severity: string;
    }[];
  } finally {
    db.close();
  }
}

describe.skipIf(!existsSync(cli))('alert durability across kill -9', () => {
  const dirs: string[] = [];
  let up: FakeUpstream | undefined;
  afterEach(async () => {
    await up?.stop();
    up = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const site = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-durable-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'selfharm.txt'), 'harm-test.example\n');
    writeFileSync(join(dir, 'gambling.txt'), 'casino-test.example\n');
    up ??= await startFakeUpstream({});
    return dir;
  };

  it('a critical alert is in the database 50 ms after the answer, though the process is killed', async () => {
    const dir = await site();
    expect(await lookupAndKill(dir, up!.url, 'harm-test.example')).toEqual([{ category: 'selfharm', severity: 'critical' }]);
  }, 40_000);

  it('(control) a medium alert waits for the flush timer, so the same kill loses it', async () => {
    const dir = await site();
    expect(await lookupAndKill(dir, up!.url, 'casino-test.example')).toEqual([]);
  }, 40_000);
});
