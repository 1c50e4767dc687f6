// The self-test against a scripted loopback DNS server: which source address
// each group's queries come from, what is expected when, how answers are
// judged, and the table and exit code of `gatehouse check`.
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config.js';
import { chooseSources, defaultServer, expectedBlocks, formatTable, runSelfTest } from '../../src/checks/self-test.js';
import { getCheck, listChecks } from '../../src/checks/record.js';
import { openDatabase } from '../../src/store/db.js';
import { CHECK_OPTION_CODE, loadCheckToken } from '../../src/checks/check-token.js';

const repo = resolve(import.meta.dirname, '../..');

// Monday 23 November 2026, 10:00 and 20:00 in London (UTC in winter).
const MONDAY_10 = Date.parse('2026-11-23T10:00:00Z');
const MONDAY_20 = Date.parse('2026-11-23T20:00:00Z');

function yaml(port: number, extra = ''): string {
  return `
dns: { listen: ["127.0.0.1:${port}"], block: { mode: address, a: 192.0.2.99, aaaa: "::1" } }
links: [{ name: primary, upstreams: ["udp://127.0.0.1:9"] }]
categories:
  - { id: iwf, name: IWF, illegal: true }
  - { id: adult, name: Adult }
  - { id: social, name: Social }
groups:
  - name: pupils
    networks: ["127.0.0.2/32"]
    block: [adult]
    schedules: [{ block: [social], days: [mon, tue, wed, thu, fri], times: ["08:30-12:00"], timezone: Europe/London }]
  - name: staff
    networks: ["127.0.0.3/32"]
  - name: guests
    default: true
    block: [adult, social]
checks:
  names: { iwf: [iwf-test.example], adult: [adult-test.example], social: [social-test.example] }
  allowed: [fine.example]
  timeoutMs: 2000
${extra}`;
}

type Behaviour = (source: string, name: string) => 'block' | 'allow' | 'nxdomain' | 'drop' | 'servfail' | 'block-no-ede';

/** A loopback DNS server whose answers a test scripts per source address and name. */
class ScriptedServer {
  socket = dgram.createSocket('udp4');
  port = 0;
  behaviour: Behaviour = () => 'allow';
  seen: { source: string; name: string; token?: string }[] = [];

  async start(): Promise<void> {
    this.socket.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      const name = q.questions![0].name;
      const options = (q.additionals?.find((r) => r.type === 'OPT') as { options?: { code: number; data?: Buffer }[] } | undefined)
        ?.options;
      const token = options?.find((o) => o.code === CHECK_OPTION_CODE)?.data?.toString('hex');
      this.seen.push({ source: rinfo.address, name, ...(token ? { token } : {}) });
      const what = this.behaviour(rinfo.address, name);
      if (what === 'drop') return;
      const base = { type: 'response' as const, id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions };
      const opt = (ede?: number) => ({
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        options: ede ? [{ code: 15, data: Buffer.concat([Buffer.from([0, ede]), Buffer.from('Blocked: test')]) }] : [],
      });
      let reply: Buffer;
      if (what === 'block') {
        reply = dnsPacket.encode({ ...base, answers: [{ type: 'A', name, ttl: 60, data: '192.0.2.99' }], additionals: [opt(15) as never] });
      } else if (what === 'block-no-ede') {
        reply = dnsPacket.encode({ ...base, answers: [{ type: 'A', name, ttl: 60, data: '192.0.2.99' }] });
      } else if (what === 'nxdomain') {
        reply = dnsPacket.encode({ ...base, flags: base.flags | 3, answers: [], additionals: [opt(17) as never] });
      } else if (what === 'servfail') {
        reply = dnsPacket.encode({ ...base, flags: base.flags | 2, answers: [] });
      } else {
        reply = dnsPacket.encode({ ...base, answers: [{ type: 'A', name, ttl: 60, data: '192.0.2.1' }], additionals: [opt() as never] });
      }
      this.socket.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((ok) => this.socket.bind(0, '127.0.0.1', () => ok()));
    this.port = this.socket.address().port;
  }
}

/** What a correct Gatehouse answers with the config above at MONDAY_10. */
const correct: Behaviour = (source, name) => {
  if (name === 'use-application-dns.net') return 'nxdomain';
  if (name === 'iwf-test.example') return 'block';
  if (source === '127.0.0.2' && (name === 'adult-test.example' || name === 'social-test.example')) return 'block';
  if (source === '127.0.0.1' && (name === 'adult-test.example' || name === 'social-test.example')) return 'block';
  return 'allow';
};

let server: ScriptedServer;
let config: Config;
const locals = ['127.0.0.1'];

beforeAll(async () => {
  server = new ScriptedServer();
  await server.start();
  config = parseConfig(yaml(server.port));
});
afterAll(() => server.socket.close());
beforeEach(() => {
  server.behaviour = correct;
  server.seen = [];
});

describe('self-test planning', () => {
  it('sends each group from an address the resolver puts in that group', () => {
    const s = chooseSources(config, 'ipv4', locals);
    expect(Object.fromEntries(s)).toEqual({ pupils: '127.0.0.2', staff: '127.0.0.3', guests: '127.0.0.1' });
    // checks.sources wins, when the resolver would put that address in that group.
    const withSource = parseConfig(yaml(53, '  sources: { staff: 127.0.0.33 }').replace('127.0.0.3/32', '127.0.0.32/30'));
    expect(chooseSources(withSource, 'ipv4', locals).get('staff')).toBe('127.0.0.33');
    const wrongSource = parseConfig(yaml(53, '  sources: { staff: 127.0.0.2 }'));
    expect(chooseSources(wrongSource, 'ipv4', locals).get('staff')).toBe('127.0.0.3');
    // A loopback network wider than /32 uses its first host address.
    const wide = parseConfig(yaml(53).replace('127.0.0.3/32', '127.0.3.0/24'));
    expect(chooseSources(wide, 'ipv4', locals).get('staff')).toBe('127.0.3.1');
  });

  it('expects illegal categories everywhere, group blocks, and open schedule windows', () => {
    expect([...expectedBlocks(config, 'pupils', MONDAY_10).keys()].sort()).toEqual(['adult', 'iwf', 'social']);
    expect([...expectedBlocks(config, 'pupils', MONDAY_20).keys()].sort()).toEqual(['adult', 'iwf']);
    expect([...expectedBlocks(config, 'staff', MONDAY_10).keys()]).toEqual(['iwf']);
    expect(expectedBlocks(config, 'pupils', MONDAY_10).get('social')).toBe('a schedule window is open');
  });

  it('queries the first listen address, with a wildcard turned into loopback', () => {
    expect(defaultServer(['0.0.0.0:53', '[::]:53'])).toBe('127.0.0.1:53');
    expect(defaultServer(['[::]:5353'])).toBe('[::1]:5353');
    expect(defaultServer(['10.0.0.2:53'])).toBe('10.0.0.2:53');
  });
});

describe('runSelfTest', () => {
  it('passes when every group gets what the config says', async () => {
    const r = await runSelfTest({ config, localAddresses: locals, now: () => MONDAY_10 });
    expect(r.failed, formatTable(r)).toBe(0);
    expect(r.ok).toBe(true);
    // 3 groups × (3 category names + 1 allowed name + the canary)
    expect(r.cases).toHaveLength(15);
    expect(new Set(server.seen.map((s) => s.source))).toEqual(new Set(['127.0.0.1', '127.0.0.2', '127.0.0.3']));
    const pupilSocial = r.cases.find((c) => c.group === 'pupils' && c.category === 'social')!;
    expect(pupilSocial).toMatchObject({ expected: 'blocked', actual: 'blocked', ok: true, source: '127.0.0.2' });
    expect(pupilSocial.detail).toContain('EDE 15');
    expect(r.summary).toBe(`15 of 15 checks passed against 127.0.0.1:${server.port}`);
  });

  it('fails when a group gets something the config does not say', async () => {
    // After school hours social media should be allowed again for pupils.
    const r = await runSelfTest({ config, localAddresses: locals, now: () => MONDAY_20 });
    expect(r.ok).toBe(false);
    const bad = r.cases.filter((c) => !c.ok);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ group: 'pupils', category: 'social', expected: 'allowed', actual: 'blocked' });
    expect(r.summary).toContain('failed: pupils/social social-test.example blocked (expected allowed)');

    // The illegal list not blocking for staff is a failure too.
    server.behaviour = (source, name) => (source === '127.0.0.3' && name === 'iwf-test.example' ? 'allow' : correct(source, name));
    const r2 = await runSelfTest({ config, localAddresses: locals, now: () => MONDAY_10 });
    expect(r2.cases.filter((c) => !c.ok).map((c) => `${c.group}/${c.category}`)).toEqual(['staff/iwf']);
    // The summary goes to the service log and to alerts: never an illegal category's name.
    expect(r2.summary).toContain('failed: staff/iwf (name withheld) allowed (expected blocked)');
  });

  it('counts no answer and SERVFAIL as errors, not as passes', async () => {
    server.behaviour = (source, name) => (name === 'fine.example' ? (source === '127.0.0.3' ? 'drop' : 'servfail') : correct(source, name));
    const r = await runSelfTest({ config, localAddresses: locals, now: () => MONDAY_10, timeoutMs: 100 });
    const fine = r.cases.filter((c) => c.name === 'fine.example');
    expect(fine.map((c) => c.actual)).toEqual(['error', 'error', 'error']);
    expect(fine.find((c) => c.group === 'staff')!.detail).toBe('timeout');
    expect(r.ok).toBe(false);
  });

  it('recognises the configured block address when the resolver sends no EDE', async () => {
    server.behaviour = (source, name) => (name === 'iwf-test.example' ? 'block-no-ede' : correct(source, name));
    const r = await runSelfTest({ config, localAddresses: locals, now: () => MONDAY_10 });
    expect(r.ok, formatTable(r)).toBe(true);
  });

  it('reports groups it cannot send from, and fails when it can test nothing', async () => {
    const remote = parseConfig(yaml(server.port).replace('127.0.0.2/32', '10.10.0.0/16').replace('127.0.0.3/32', '10.20.0.0/16'));
    const r = await runSelfTest({ config: remote, localAddresses: locals, now: () => MONDAY_10 });
    expect(r.skipped.map((s) => s.group)).toEqual(['pupils', 'staff']);
    expect(r.skipped[0].reason).toContain("add one, e.g. a 127.0.0.x/32, to the group's networks");
    expect(r.ok).toBe(true); // guests (127.0.0.1) still tested
    expect(r.summary).toContain('not tested: pupils, staff');

    const none = await runSelfTest({ config: remote, localAddresses: [], groups: ['pupils'], now: () => MONDAY_10 });
    expect(none.cases).toHaveLength(0);
    expect(none.ok).toBe(false);
    expect(none.summary).toContain('nothing tested');
  });

  it('prints a table with one row per test and the summary', async () => {
    const r = await runSelfTest({ config, localAddresses: locals, now: () => MONDAY_20 });
    const text = formatTable(r);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^group\s+source\s+category\s+name\s+expected\s+result\s+detail$/);
    expect(lines).toHaveLength(2 + 15 + 1);
    expect(text).toMatch(/pupils\s+127\.0\.0\.2\s+social\s+social-test\.example\s+allowed\s+blocked\s+FAIL/);
    expect(lines.at(-1)).toBe(r.summary);
  });
});

describe('gatehouse check', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Asynchronous: the scripted server answers from this process's event loop.
  const cli = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'src/cli.ts'), 'check', ...args], { cwd: repo });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => done({ status, stdout, stderr }));
    });

  it("needs the service's check token, or --untagged to send real lookups", async () => {
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, yaml(server.port).replace(/ *schedules: .*\n/, ''));
    server.behaviour = correct;
    server.seen = [];
    let r = await cli(['--config', file, '--group', 'staff', '--no-record']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('gatehouse check: cannot read the check token');
    expect(r.stderr).toContain('sudo -u gatehouse gatehouse check');
    expect(server.seen).toEqual([]);
    r = await cli(['--config', file, '--group', 'staff', '--no-record', '--untagged']);
    expect(r.status, r.stderr).toBe(0);
    expect(server.seen.length).toBeGreaterThan(0);
    expect(server.seen.every((q) => q.token === undefined)).toBe(true);
  });

  it('prints the table and exits 0 when every test passes, 1 when one fails', async () => {
    const file = join(dir, 'gatehouse.yaml');
    // No schedule: the expectations do not depend on when the test runs.
    writeFileSync(file, yaml(server.port).replace(/ *schedules: .*\n/, ''));
    // The token the service makes at its first start, beside the config's default database.
    const token = loadCheckToken(join(dir, 'data/gatehouse.db')).toString('hex');
    server.behaviour = (source, name) => (source === '127.0.0.2' && name === 'social-test.example' ? 'allow' : correct(source, name));
    server.seen = [];
    let r = await cli(['--config', file, '--group', 'pupils', '--group', 'staff', '--no-record']);
    // Every query carries the token, so the service keeps the run apart as check traffic.
    expect(server.seen.length).toBe(10);
    expect(server.seen.every((q) => q.token === token)).toBe(true);
    expect(r.stderr).toBe('');
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/pupils\s+127\.0\.0\.2\s+adult\s+adult-test\.example\s+blocked\s+blocked\s+ok/);
    expect(r.stdout).toContain('10 of 10 checks passed');

    server.behaviour = () => 'allow';
    r = await cli(['--config', file, '--json']);
    expect(r.status).toBe(1);
    const result = JSON.parse(r.stdout);
    expect(result.ok).toBe(false);
    expect(result.failed).toBeGreaterThan(0);
    // No database yet: the run is not recorded, and it says so.
    expect(r.stderr).toContain('not recorded: no database at');
  });

  it('records each run in the checks record the admin UI shows', async () => {
    const file = join(dir, 'gatehouse.yaml');
    const db = openDatabase(join(dir, 'data/gatehouse.db')); // the config's default store path, migrated
    try {
      server.behaviour = correct;
      let r = await cli(['--config', file, '--group', 'staff']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      // It says which database it wrote to, and where that came from.
      expect(r.stderr).toMatch(
        /^using database \S+\/data\/gatehouse\.db \(store\.path in \S+\/gatehouse\.yaml, from --config\)\nrecorded as check \d+ \(admin UI: Checks\)\n$/,
      );
      server.behaviour = () => 'allow';
      r = await cli(['--config', file, '--group', 'staff']);
      expect(r.status).toBe(1);
      const { items } = listChecks(db);
      expect(items.map((c) => [c.trigger, c.ok])).toEqual([
        ['cli', false],
        ['cli', true],
      ]);
      expect(items[0].runBy).toMatch(/^cli \(.+\)$/);
      expect(items[0].actions.map((a) => a.action)).toEqual([
        'Run from the command line: no alert was raised; the person who ran it saw the failures.',
      ]);
      expect(getCheck(db, items[1].id)!.cases).toHaveLength(5);
    } finally {
      db.close();
    }
  });

  it('rejects an unknown group and a bad config clearly', async () => {
    const file = join(dir, 'gatehouse.yaml');
    let r = await cli(['--config', file, '--group', 'teachers']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown group "teachers"');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, yaml(server.port).replace('names: { iwf', 'names: { nope: [x.example], iwf'));
    r = await cli(['--config', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/checks\.names\.nope \(line \d+\): unknown category "nope"/);
  });
});
