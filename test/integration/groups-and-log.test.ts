// The whole system on loopback: three clients in three groups (dig -b) get
// different answers for the same names; illegal content is blocked for all,
// even with an allow exception; every answered query lands in the query log
// with the right client, group, decision and category; blocked lookups raise
// alerts. Upstream: a real nsd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { havePrograms } from '../helpers/programs.js';
import { startNsd, zone, type NsdServer } from '../helpers/nsd.js';
import { startGatehouse, type Running } from '../helpers/gatehouse.js';
import { dig } from '../helpers/dig.js';
import { search } from '../../src/store/search.js';

const ready = havePrograms('nsd', 'dig');

describe.skipIf(!ready)('groups, policy and the query log, end to end', () => {
  let nsd: NsdServer;
  let gh: Running;
  let dir: string;
  let clock = Date.UTC(2026, 10, 23, 10, 0); // Monday 10:00 in London: inside the pupils' social-media window

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-e2e-'));
    nsd = await startNsd({
      'school.test': zone('school.test', ['www IN A 192.0.2.10', 'cdn IN A 192.0.2.11', 'to-casino IN CNAME www.casino.test.']),
      'casino.test': zone('casino.test', ['www IN A 192.0.2.66']),
      'social.test': zone('social.test', ['www IN A 192.0.2.77']),
      'abuse.test': zone('abuse.test', ['www IN A 192.0.2.99']),
    });
    writeFileSync(join(dir, 'gambling.txt'), '# test list\ncasino.test\n');
    writeFileSync(join(dir, 'social.txt'), 'social.test\n');
    writeFileSync(join(dir, 'iwf.txt'), 'abuse.test\n');
    const config = [
      'dns: { listen: ["127.0.0.1:0"], block: { mode: address, a: 10.0.0.1, aaaa: "::1", ttl: 60 } }',
      `links: [{ name: primary, upstreams: ["udp://127.0.0.1:${nsd.port}"], timeoutMs: 1000 }]`,
      'health: { probeIntervalMs: 60000 }',
      'categories:',
      '  - { id: iwf, name: "Child abuse (IWF)", illegal: true, severity: critical }',
      '  - { id: gambling, name: Gambling, severity: medium }',
      '  - { id: social, name: Social networks }',
      'lists:',
      `  - { id: iwf-list, category: iwf, source: "file:${join(dir, 'iwf.txt')}", format: domains }`,
      `  - { id: gambling-list, category: gambling, source: "file:${join(dir, 'gambling.txt')}", format: domains }`,
      `  - { id: social-list, category: social, source: "file:${join(dir, 'social.txt')}", format: domains }`,
      'groups:',
      '  - name: pupils',
      '    networks: ["127.0.0.2/32"]',
      '    block: [gambling]',
      '    schedules: [{ block: [social], days: [mon, tue, wed, thu, fri], times: ["08:30-12:00", "13:00-15:30"], timezone: Europe/London }]',
      '  - { name: staff, networks: ["127.0.0.3/32"], block: [] }',
      '  - { name: guests, default: true, block: [gambling, social] }',
      `store: { path: ${join(dir, 'gatehouse.db')} }`,
      'alerts: { enabled: true }',
    ].join('\n');
    gh = await startGatehouse(config, { now: () => clock });
  });
  afterAll(async () => {
    await gh?.stop();
    await nsd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = (from: string, name: string) => dig('127.0.0.1', gh.port, name, 'A', ['-b', from]);

  it.each([
    // name, pupil (127.0.0.2), staff (127.0.0.3), guest (127.0.0.4)
    ['www.school.test', '192.0.2.10', '192.0.2.10', '192.0.2.10'],
    ['www.casino.test', '10.0.0.1', '192.0.2.66', '10.0.0.1'],
    ['www.social.test', '10.0.0.1', '192.0.2.77', '10.0.0.1'],
    ['www.abuse.test', '10.0.0.1', '10.0.0.1', '10.0.0.1'],
    ['to-casino.school.test', '10.0.0.1', '192.0.2.66', '10.0.0.1'], // CNAME inspection
  ])('%s: pupil %s, staff %s, guest %s', async (name, pupil, staff, guest) => {
    const answers = await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((from) => ask(from, name)));
    expect(answers.map((a) => a.answers.at(-1)?.data)).toEqual([pupil, staff, guest]);
  });

  it('blocks with a short TTL and an Extended DNS Error naming the category, never an illegal entry', async () => {
    const blocked = await ask('127.0.0.2', 'www.casino.test');
    expect(blocked.answers[0].ttl).toBe(60);
    expect(blocked.raw).toMatch(/EDE: 1[57] \([A-Za-z]+\): \(.*Gambling.*\)/);
    const illegal = await ask('127.0.0.3', 'www.abuse.test');
    expect(illegal.raw).not.toMatch(/abuse\.test.*EDE|EDE.*abuse/);
  });

  it('the schedule unblocks social media for pupils at lunchtime, as the clock moves', async () => {
    clock = Date.UTC(2026, 10, 23, 12, 30); // 12:30 London (GMT in November)
    expect((await ask('127.0.0.2', 'www.social.test')).answers[0].data).toBe('192.0.2.77');
    clock = Date.UTC(2026, 10, 23, 13, 5);
    expect((await ask('127.0.0.2', 'www.social.test')).answers[0].data).toBe('10.0.0.1');
    clock = Date.UTC(2026, 10, 23, 10, 0);
  });

  it('an allow exception unblocks a category name for one group but never an illegal one', async () => {
    gh.app.policy.setExceptions([
      { domain: 'casino.test', action: 'allow', groups: ['pupils'] },
      { domain: 'abuse.test', action: 'allow', groups: ['pupils', 'staff', 'guests'] },
      { domain: 'www.school.test', action: 'deny', groups: ['staff'] },
    ]);
    try {
      expect((await ask('127.0.0.2', 'www.casino.test')).answers.at(-1)?.data).toBe('192.0.2.66');
      expect((await ask('127.0.0.4', 'www.casino.test')).answers[0].data).toBe('10.0.0.1');
      for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4'])
        expect((await ask(from, 'www.abuse.test')).answers[0].data).toBe('10.0.0.1');
      expect((await ask('127.0.0.3', 'www.school.test')).answers[0].data).toBe('10.0.0.1');
      expect(gh.app.isIllegal('www.abuse.test')).toBe(true);
    } finally {
      gh.app.policy.setExceptions([]);
    }
  });

  it('logs every answered query with client, group, decision and category', async () => {
    const from = clock - 60_000;
    await ask('127.0.0.3', 'cdn.school.test');
    await ask('127.0.0.4', 'www.casino.test');
    await gh.app.queryLog.flush();
    const page = search(gh.app.db, { from, to: clock + 60_000, domain: 'cdn.school.test' });
    expect(page.rows[0]).toMatchObject({ client: '127.0.0.3', group: 'staff', name: 'cdn.school.test', action: 'allow' });
    const blocked = search(gh.app.db, { from, to: clock + 60_000, client: '127.0.0.4', action: 'block' });
    expect(blocked.rows[0]).toMatchObject({ group: 'guests', name: 'www.casino.test', category: 'gambling' });
    const all = search(gh.app.db, { from: 0, to: Date.UTC(2026, 10, 24), limit: 10_000 }); // the whole day, lunchtime queries too
    expect(all.rows.length).toBe(gh.app.server.stats.queries);
  });

  it('raises one alert for repeated blocked lookups and keeps illegal domains out of it', async () => {
    for (let i = 0; i < 5; i++) await ask('127.0.0.2', 'www.abuse.test');
    gh.app.alerts.flush();
    const { items } = gh.app.alerts.list({});
    const illegal = items.filter((a) => a.category === 'iwf' && a.client === '127.0.0.2');
    expect(illegal).toHaveLength(1);
    expect(illegal[0].count).toBeGreaterThanOrEqual(5);
    expect(illegal[0].domain).toBeNull();
    expect(JSON.stringify(items)).not.toContain('abuse.test');
  });
});
