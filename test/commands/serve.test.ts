// `gatehouse serve` as a real process: SIGTERM drains in-flight queries and
// exits cleanly; SIGHUP reloads the config, and a bad one is reported and the
// old one kept; config errors name the key and the line.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { ask } from '../helpers/client.js';
import { spawnServe } from '../helpers/serve-process.js';
import { eventually } from '../helpers/eventually.js';

const cli = join(import.meta.dirname, '../../dist/cli.js');

function configText(upstream: string, extra = ''): string {
  return [
    'dns: { listen: ["127.0.0.1:0"], drainTimeoutMs: 3000 }',
    `links: [{ name: primary, upstreams: ["${upstream}"], timeoutMs: 1500 }]`,
    'groups: [{ name: everyone, default: true }]',
    'cache: { maxEntries: 0 }',
    'health: { probeIntervalMs: 60000 }',
    'store: { path: ./data/gh.db }',
    // Port 0: other tests' admin UIs may be running at the same time.
    'admin: { listen: "127.0.0.1:0", blockPage: { listen: "127.0.0.1:0" } }',
    extra,
  ].join('\n');
}

interface Proc {
  child: ChildProcess;
  port: number;
  lines: string[];
}

async function serve(file: string): Promise<Proc> {
  const { child, lines, match } = await spawnServe(file, /"udp":"127\.0\.0\.1:(\d+)"/, 15_000);
  return { child, port: Number(match[1]), lines };
}

describe('gatehouse serve', () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  const ups: FakeUpstream[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
    for (const u of ups.splice(0)) await u.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('drains in-flight queries on SIGTERM and exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-serve-'));
    const up = await startFakeUpstream({ 'slow.test': '192.0.2.50' });
    ups.push(up);
    up.delayMs = 700;
    writeFileSync(join(dir, 'gh.yaml'), configText(up.url));
    const p = await serve(join(dir, 'gh.yaml'));
    procs.push(p.child);
    const before = up.queries;
    const pending = ask(p.port, 'slow.test', 'A', { timeoutMs: 4000 });
    // SIGTERM once the query is in flight upstream (a query that arrives
    // while draining is dropped by design), however slow the machine is.
    await eventually(
      async () => up.queries,
      (n) => n > before,
      10_000,
    );
    const exited = new Promise<number | null>((r) => p.child.on('exit', (code) => r(code)));
    p.child.kill('SIGTERM');
    expect((await pending).addresses).toEqual(['192.0.2.50']);
    expect(await exited).toBe(0);
    expect(p.lines.join('\n')).toMatch(/draining/);
  });

  it('reloads on SIGHUP, and keeps the old config when the new one is bad', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-serve-'));
    const first = await startFakeUpstream({ 'which.test': '192.0.2.1' });
    const second = await startFakeUpstream({ 'which.test': '192.0.2.2' });
    ups.push(first, second);
    const file = join(dir, 'gh.yaml');
    writeFileSync(file, configText(first.url));
    const p = await serve(file);
    procs.push(p.child);
    expect((await ask(p.port, 'which.test')).addresses).toEqual(['192.0.2.1']);

    // Queries keep being answered while the reload happens: none is dropped.
    // A late answer is not a lost one (on a starved CI machine the reload can
    // hold the event loop for a second), so each query waits 5 s before it
    // counts as lost; a dropped query still fails.
    let answered = 0;
    let failed = 0;
    const reloaded = () => p.lines.some((l) => l.includes('configuration reloaded'));
    const load = (async () => {
      // Until the reload is done (bounded), and for a while at least.
      const least = Date.now() + 1200;
      const most = Date.now() + 15_000;
      while ((Date.now() < least || !reloaded()) && Date.now() < most) {
        try {
          await ask(p.port, 'which.test', 'A', { timeoutMs: 5000 });
          answered++;
        } catch {
          failed++;
        }
      }
    })();
    writeFileSync(file, configText(second.url));
    await new Promise((r) => setTimeout(r, 200));
    p.child.kill('SIGHUP');
    await load;
    expect(failed).toBe(0);
    expect(answered).toBeGreaterThan(2);
    expect(reloaded()).toBe(true);
    expect((await ask(p.port, 'which.test')).addresses).toEqual(['192.0.2.2']);

    writeFileSync(file, configText(first.url).replace('timeoutMs: 1500', 'timeoutMs: "soon"'));
    p.child.kill('SIGHUP');
    const rejectedLine = async () => p.lines.find((l) => l.includes('new configuration rejected'));
    const rejected = await eventually(rejectedLine, Boolean, 15_000);
    expect(rejected).toMatch(/"path":"links\[0\]\.timeoutMs","line":2/);
    expect((await ask(p.port, 'which.test')).addresses).toEqual(['192.0.2.2']);
    p.child.kill('SIGTERM');
  }, 60_000);

  it('refuses to start on a bad config, naming the key and the line', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-serve-'));
    const file = join(dir, 'gh.yaml');
    writeFileSync(
      file,
      configText('udp://127.0.0.1:53').replace(
        'groups: [{ name: everyone, default: true }]',
        'groups:\n  - name: everyone\n    default: true\n    block: [nosuch]',
      ),
    );
    const child = spawn(process.execPath, [cli, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/groups\[0\]\.block\[0\] \(line 6\): unknown category "nosuch"/);
  });

  it('refuses to start on a corrupt database, naming the file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-serve-'));
    const file = join(dir, 'gh.yaml');
    writeFileSync(file, configText('udp://127.0.0.1:53'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'gh.db'), 'this is not a database, just some text long enough to be read as a header'.repeat(20));
    const child = spawn(process.execPath, [cli, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/cannot open database .*gh\.db/);
  });

  it('exits with a clear error when its DNS port is taken', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-serve-'));
    const up = await startFakeUpstream({});
    ups.push(up);
    const file = join(dir, 'gh.yaml');
    // The fake upstream already holds this port (UDP and TCP).
    writeFileSync(file, configText(up.url).replace('listen: ["127.0.0.1:0"]', `listen: ["127.0.0.1:${up.port}"]`));
    const child = spawn(process.execPath, [cli, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/could not start: .*EADDRINUSE/);
  });
});
