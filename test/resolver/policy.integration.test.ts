// The whole server with the policy in the chain: three dig clients bound to
// 127.0.0.2, .3 and .4 (pupils, staff, guests) ask for the same names.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from '../helpers/dig.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGatehouse, type Running } from '../helpers/gatehouse.js';
import { havePrograms } from '../helpers/programs.js';

const ready = havePrograms('dig');
const CLIENT = { pupils: '127.0.0.2', staff: '127.0.0.3', guests: '127.0.0.4' } as const;
type Who = keyof typeof CLIENT;
const BLOCK = '10.0.0.80';

describe.skipIf(!ready)('policy through the real server, with dig', () => {
  let upstream: FakeUpstream;
  let gh: Running;
  let listDir: string;
  // Monday 12 January 2026, 09:00 in London: the pupils' social window is open.
  let nowMs = Date.parse('2026-01-12T09:00:00Z');

  beforeAll(async () => {
    upstream = await startFakeUpstream({
      'news.example': '192.0.2.1',
      'game.example': '192.0.2.2',
      'social.example': '192.0.2.3',
      'abuse.example': '192.0.2.4',
      'www.google.com': '192.0.2.5',
      'forcesafesearch.google.com': '216.239.38.120',
    });
    listDir = mkdtempSync(join(tmpdir(), 'gh-policy-lists-'));
    writeFileSync(join(listDir, 'iwf.txt'), 'abuse.example\n');
    writeFileSync(join(listDir, 'games.txt'), 'game.example\n');
    writeFileSync(join(listDir, 'social.txt'), 'social.example\n');
    gh = await startGatehouse(
      `
dns:
  listen: ["127.0.0.1:0"]
  block: { mode: address, ttl: 60, a: ${BLOCK}, aaaa: "fd00::80" }
links:
  - { name: primary, upstreams: ["${upstream.url}"], timeoutMs: 1000 }
categories:
  - { id: iwf, name: "Child sexual abuse (IWF)", illegal: true, severity: critical }
  - { id: games, name: "Games" }
  - { id: social, name: "Social networks" }
lists:
  - { id: iwf, category: iwf, source: "file:${join(listDir, 'iwf.txt')}", format: domains }
  - { id: games, category: games, source: "file:${join(listDir, 'games.txt')}", format: domains }
  - { id: social, category: social, source: "file:${join(listDir, 'social.txt')}", format: domains }
groups:
  - name: pupils
    networks: ["${CLIENT.pupils}/32"]
    block: [games]
    schedules: [{ block: [social], days: [mon, tue, wed, thu, fri], times: ["08:30-12:00"], timezone: Europe/London }]
    safeSearch: { google: true }
  - name: staff
    networks: ["${CLIENT.staff}/32"]
  - name: guests
    default: true
    block: [games, social]
`,
      { now: () => nowMs },
    );
  });

  afterAll(async () => {
    await gh?.stop();
    await upstream?.stop();
    rmSync(listDir, { recursive: true, force: true });
  });

  const ask = (who: Who, name: string, type = 'A') => dig('127.0.0.1', gh.port, name, type, ['-b', CLIENT[who]]);
  const addressFor = async (who: Who, name: string) => (await ask(who, name)).answers.map((a) => a.data).join(' ');

  it.each<[string, Record<Who, string>]>([
    ['news.example', { pupils: '192.0.2.1', staff: '192.0.2.1', guests: '192.0.2.1' }],
    ['game.example', { pupils: BLOCK, staff: '192.0.2.2', guests: BLOCK }],
    ['social.example', { pupils: BLOCK, staff: '192.0.2.3', guests: BLOCK }],
    ['abuse.example', { pupils: BLOCK, staff: BLOCK, guests: BLOCK }],
  ])('%s gets a different answer per group', async (name, expected) => {
    for (const who of Object.keys(CLIENT) as Who[]) expect([who, await addressFor(who, name)]).toEqual([who, expected[who]]);
  });

  it('blocks the illegal name for all three even when an allow exception names it', async () => {
    gh.app.policy.setExceptions([{ domain: 'abuse.example', action: 'allow', groups: ['pupils', 'staff', 'guests'] }]);
    try {
      for (const who of Object.keys(CLIENT) as Who[]) {
        const r = await ask(who, 'abuse.example');
        expect(r.answers.map((a) => a.data)).toEqual([BLOCK]);
        expect(r.raw).toContain('Blocked: illegal content (IWF/CTIRU)');
      }
      // The same exception mechanism does unblock an ordinary category at once.
      gh.app.policy.setExceptions([{ domain: 'game.example', action: 'allow', groups: ['pupils'] }]);
      expect(await addressFor('pupils', 'game.example')).toBe('192.0.2.2');
    } finally {
      gh.app.policy.setExceptions([]);
    }
  });

  it('unblocks and blocks again as the clock moves', async () => {
    nowMs = Date.parse('2026-01-12T12:30:00Z'); // lunch
    expect(await addressFor('pupils', 'social.example')).toBe('192.0.2.3');
    nowMs = Date.parse('2026-01-13T10:00:00Z'); // Tuesday morning
    expect(await addressFor('pupils', 'social.example')).toBe(BLOCK);
  });

  it('rewrites Google to safe search for pupils only', async () => {
    const pupils = await ask('pupils', 'www.google.com');
    expect(pupils.answers.map((a) => [a.type, a.data])).toEqual([
      ['CNAME', 'forcesafesearch.google.com.'],
      ['A', '216.239.38.120'],
    ]);
    expect(await addressFor('staff', 'www.google.com')).toBe('192.0.2.5');
  });

  it('answers the Firefox canary with NXDOMAIN', async () => {
    expect((await ask('staff', 'use-application-dns.net')).status).toBe('NXDOMAIN');
  });
});
