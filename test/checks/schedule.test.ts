// The scheduled self-test inside serve: each run is recorded as a check, and a
// failing run raises an operational alert for IT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGatehouse, type Running } from '../helpers/gatehouse.js';
import { SelfTestSchedule } from '../../src/checks/schedule.js';
import { liveDeps } from '../../src/admin/wire.js';
import { getCheck } from '../../src/checks/record.js';
import { silentLogger } from '../../src/log.js';

describe('scheduled self-test', () => {
  let up: FakeUpstream;
  let gh: Running;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-sched-'));
    writeFileSync(join(dir, 'gambling.txt'), 'casino.test\n');
    up = await startFakeUpstream({ 'www.casino.test': '192.0.2.66', 'www.school.test': '192.0.2.10' });
    gh = await startGatehouse(
      [
        'dns: { listen: ["127.0.0.1:0"] }',
        `links: [{ name: p, upstreams: ["${up.url}"] }]`,
        'health: { probeIntervalMs: 60000 }',
        'categories: [{ id: gambling, name: Gambling, severity: medium }]',
        `lists: [{ id: g, category: gambling, source: "file:${join(dir, 'gambling.txt')}", format: domains }]`,
        'groups: [{ name: everyone, default: true, block: [gambling] }]',
        // www.school.test is not on any list: the test expecting it blocked must fail.
        'checks: { names: { gambling: [www.casino.test, www.school.test] }, allowed: [www.school.test], schedule: "" }',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await gh.stop();
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records a failing run and raises a check-failed alert', async () => {
    const schedule = new SelfTestSchedule({ app: gh.app, run: liveDeps(gh.app).selfTest!, logger: silentLogger() });
    const id = await schedule.runOnce();
    expect(id).toBeGreaterThan(0);
    const check = getCheck(gh.app.db, id!)!;
    expect(check.trigger).toBe('schedule');
    expect(check.ok).toBe(false);
    expect(check.failed).toBeGreaterThan(0);
    gh.app.alerts.flush();
    const ops = gh.app.alerts.list({ kind: 'operational' }).items;
    expect(ops.some((a) => a.category === 'check-failed' || /self-test failed/.test(a.message ?? ''))).toBe(true);
    // The self-test's own blocked names (and the automatic DoH canary it asks) raise no safeguarding alert.
    expect(gh.app.alerts.list({}).items.map((a) => [a.category, a.domain])).toEqual([]);
  });
});
