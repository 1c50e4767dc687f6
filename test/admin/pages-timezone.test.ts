// Times on every page are in the school's zone (admin.timezone, default
// Europe/London) and the zone is named once per page. With a fixed clock in
// winter (GMT, = UTC) and in summer (BST, UTC+1), the query log, the change
// log and the Exceptions page show local time, the query log's time inputs are
// read as local time, and the header says which zone and offset apply.
import { describe, expect, it } from 'vitest';
import { createReviewRequest } from '../../src/changes/review-request.js';
import { parseConfig } from '../../src/config.js';
import { formatClock, formatDay, formatTime, localInput, parseLocalInput, zoneLabel, zoneOffsetMs } from '../../src/admin/views/time.js';
import { loggedIn, pagesHarness } from './pages-helpers.js';

const LONDON = 'Europe/London';

describe('time helper', () => {
  it.each<[string, string, string]>([
    ['2026-01-12T09:05:07Z', '2026-01-12 09:05:07', 'Europe/London (GMT)'],
    ['2026-06-15T09:05:07Z', '2026-06-15 10:05:07', 'Europe/London (BST)'],
    ['2026-03-29T00:59:59Z', '2026-03-29 00:59:59', 'Europe/London (GMT)'], // the last second before the clocks go forward
    ['2026-03-29T01:00:00Z', '2026-03-29 02:00:00', 'Europe/London (BST)'],
    ['2026-10-25T00:30:00Z', '2026-10-25 01:30:00', 'Europe/London (BST)'], // 01:30 happens twice that night
    ['2026-10-25T01:30:00Z', '2026-10-25 01:30:00', 'Europe/London (GMT)'],
  ])('%s is %s in %s', (iso, local, label) => {
    expect(formatTime(Date.parse(iso), LONDON)).toBe(local);
    expect(zoneLabel(LONDON, Date.parse(iso))).toBe(label);
  });

  it('formats clocks, days, offsets and other zones', () => {
    const summer = Date.parse('2026-06-15T23:30:00Z');
    expect(formatClock(summer, LONDON)).toBe('00:30');
    expect(formatDay(summer, LONDON)).toBe('Tue 16 Jun');
    expect(zoneOffsetMs(summer, LONDON)).toBe(3_600_000);
    expect(formatTime(summer, 'America/New_York')).toBe('2026-06-15 19:30:00');
    expect(formatTime(summer, 'UTC')).toBe('2026-06-15 23:30:00');
    expect(formatTime(null, LONDON)).toBe('');
  });

  it.each<[string, string | undefined]>([
    ['2026-06-15T10:00', '2026-06-15T09:00:00.000Z'],
    ['2026-01-12T10:00', '2026-01-12T10:00:00.000Z'],
    ['2026-06-15', '2026-06-14T23:00:00.000Z'], // local midnight
    ['2026-03-29T01:30', '2026-03-29T01:30:00.000Z'], // skipped by the clocks: the hour after (02:30 BST)
    ['2026-10-25T01:30', '2026-10-25T01:30:00.000Z'], // repeated: the second one (GMT)
    ['2026-02-30T10:00', undefined],
    ['2026-06-15T24:00', undefined],
    ['15/06/2026 10:00', undefined],
  ])('reads the local input %s', (text, iso) => {
    const ms = parseLocalInput(text, LONDON);
    expect(ms === undefined ? undefined : new Date(ms).toISOString()).toBe(iso);
    if (ms !== undefined && text.length === 16 && !text.startsWith('2026-03-29')) expect(localInput(ms, LONDON)).toBe(text);
  });

  it('refuses an unknown admin.timezone with the key and the line', () => {
    expect(() =>
      parseConfig(`links: [{ name: a, upstreams: ["udp://127.0.0.1:53"] }]
groups: [{ name: g, default: true }]
admin:
  timezone: Europe/Lundun
`),
    ).toThrow(/admin\.timezone \(line 4\): unknown time zone "Europe\/Lundun"/);
  });
});

describe.each<[string, string, string, string]>([
  // season, the clock, the query's local time, the zone as the header names it
  ['winter', '2026-01-12T12:00:00Z', '2026-01-12 11:00:00', 'Europe/London (GMT)'],
  ['summer', '2026-06-15T12:00:00Z', '2026-06-15 12:00:00', 'Europe/London (BST)'],
])('pages in %s', (_season, clock, local, label) => {
  it('show local time and name the zone once', async () => {
    const now = Date.parse(clock);
    const h = await pagesHarness({ now });
    try {
      const at = now - 3_600_000; // an hour before "now": 11:00 UTC
      h.log.record(at, '127.0.0.2', 0, 'homework.example', 1, 0, -1, 0, 0, 500, false);
      await h.log.flush();
      createReviewRequest(
        h.db,
        h.config,
        { domain: 'maps.example.org', group: 'pupils', clientAddress: '127.0.0.2', reason: 'geography' },
        at,
      );
      const dsl = await loggedIn(h, 'dsl', 'dsl');
      for (const path of ['/querylog', '/exceptions', '/dashboard', '/changelog', '/alerts', '/checks']) {
        const body = (await dsl.get(path)).body;
        expect(body.match(/id="timezone"/g), path).toHaveLength(1);
        expect(body, path).toContain(`Times in ${label}<`);
        expect(body, path).not.toMatch(/\d\d:\d\d(:\d\d)? UTC/);
      }
      const log = (await dsl.get('/querylog')).body;
      expect(log).toMatch(new RegExp(`<td data-label="Time">${local}</td>[\\s\\S]*homework\\.example`));
      // The search form shows local times (default: the last 24 hours) and reads them as local times.
      expect(log).toContain(`name="from" value="${localInput(h.clock.now - 86_400_000, LONDON)}"`);
      const minute = `${local.slice(0, 10)}T${local.slice(11, 16)}`;
      const search = (from: string, to: string) => dsl.get(`/querylog?from=${from}&to=${to}`).then((r) => r.body);
      expect(await search(minute, `${minute.slice(0, 14)}01`)).toContain('homework.example');
      // The same minute read as UTC is an hour off in summer, so there it finds nothing.
      const utcMinute = new Date(at).toISOString().slice(0, 16);
      expect((await search(utcMinute, `${utcMinute.slice(0, 14)}01`)).includes('homework.example')).toBe(utcMinute === minute);
      const exceptions = (await dsl.get('/exceptions')).body;
      expect(exceptions).toContain(`<td data-label="Received">${local}</td>`);
    } finally {
      await h.close();
    }
  });
});

describe('another school zone', () => {
  it('shows the configured zone', async () => {
    const now = Date.parse('2026-06-15T12:00:00Z');
    const h = await pagesHarness({ now, extraYaml: '  timezone: America/New_York' });
    try {
      h.log.record(now - 60_000, '127.0.0.2', 0, 'homework.example', 1, 0, -1, 0, 0, 500, false);
      await h.log.flush();
      const dsl = await loggedIn(h, 'dsl', 'dsl');
      const body = (await dsl.get('/querylog')).body;
      expect(body).toContain('Times in America/New_York (GMT-4)<');
      expect(body).toContain('<td data-label="Time">2026-06-15 07:59:00</td>');
    } finally {
      await h.close();
    }
  });
});
