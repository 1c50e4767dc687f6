// The monthly sums of the daily rollups (store/daily-months.ts) and the
// period reads that use them (store/daily-read.ts): over any period, what
// readPeriod returns equals the days' rollups added up by hand (traffic,
// traffic by day, clients, the top names and the hidden ones withheld),
// whether the months are read whole, less the days outside the period, or not
// at all; a change to a day drops its month until it is summed again; and a
// report built with the months is the report built from the days alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../../src/store/db.js';
import { DAILY_VERSION, deleteDays, localDayOf, localDayStart, storeDay, type SpanRollup } from '../../src/store/daily.js';
import { buildMonths, monthOf, nextMonth } from '../../src/store/daily-months.js';
import { readPeriod, type PeriodOptions } from '../../src/store/daily-read.js';
import { ACTIONS } from '../../src/store/search.js';
import { HIDDEN_NAME_PREFIX } from '../../src/store/hidden-names.js';
import { buildReport } from '../../src/reports/build.js';
import { reportInput } from '../../src/reports/input.js';
import { testConfig } from '../reports/helpers.js';
import { tempDir } from './helpers.js';

const ZONE = 'Europe/London';
const GROUPS = ['pupils', 'staff', 'guests'];
const CATEGORIES = ['adult', 'social', 'vpn', 'iwf', 'help-services'];
const LINKS = ['fibre', 'satellite'];
const NAMES = 300;
const CLIENTS = 40;
/** 10 March to 19 July 2026: March, July partly; April, May, June whole (the clocks go forward on 29 March). */
const FIRST = localDayOf(Date.UTC(2026, 2, 10, 12), ZONE);
const LAST = localDayOf(Date.UTC(2026, 6, 19, 12), ZONE);
const OPTS: PeriodOptions = {
  clientCategories: ['adult', 'vpn', 'iwf', 'help-services'],
  byDay: true,
  clients: true,
  topNames: { by: 'blocked', limit: 25 },
};

let tmp: ReturnType<typeof tempDir>;
let db: Database;
const ids: Record<string, number> = {};
const nameText = new Map<number, string>();
const clientAddress = new Map<number, string>();
/** What each day was stored with: the fixture's own record, which the expectations add up. */
const stored = new Map<number, SpanRollup>();

/** A small pseudo-random generator, so the fixture is the same on every run. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4_294_967_296;
  };
}

function dayRollup(day: number, salt = 0): SpanRollup {
  const r = random(day * 7 + salt + 1);
  const pick = <T>(list: readonly T[]) => list[Math.floor(r() * list.length)];
  const traffic = new Map<string, SpanRollup['traffic'][number]>();
  for (let i = 0; i < 60; i++) {
    const t = {
      grp: ids[`group:${pick(GROUPS)}`],
      cat: r() < 0.2 ? 0 : ids[`category:${pick(CATEGORIES)}`],
      link: ids[`link:${pick(LINKS)}`],
      action: Math.floor(r() * 3),
      n: 1 + Math.floor(r() * 500),
      cached: 0,
      lat: 0,
    };
    t.cached = Math.floor(t.n / 3);
    t.lat = t.n * 800;
    const key = `${t.grp},${t.cat},${t.link},${t.action}`;
    if (!traffic.has(key)) traffic.set(key, t);
  }
  const names = new Map<number, SpanRollup['names'][number]>();
  for (let i = 0; i < 60; i++) {
    const name = 1 + Math.floor(r() * NAMES);
    const n = 1 + Math.floor(r() * 200);
    names.set(name, { name, n, blocked: r() < 0.5 ? Math.floor(r() * n) : 0 });
  }
  const clients = new Map<string, SpanRollup['clients'][number]>();
  for (let i = 0; i < 50; i++) {
    const client = 1 + Math.floor(r() * CLIENTS);
    const c = {
      client,
      person: client % 3 === 0 ? 0 : 100 + (client % 7),
      device: client % 2,
      grp: ids[`group:${pick(GROUPS)}`],
      cat: ids[`category:${pick(['adult', 'vpn', 'iwf', 'help-services'])}`],
      action: r() < 0.8 ? 1 : 0,
      n: 1 + Math.floor(r() * 20),
    };
    clients.set(`${c.client},${c.person},${c.device},${c.grp},${c.cat},${c.action}`, c);
  }
  const rows = [...traffic.values()];
  return {
    traffic: rows,
    names: [...names.values()],
    namesCutN: Math.floor(r() * 5),
    namesCutBlocked: Math.floor(r() * 3),
    clients: [...clients.values()],
    queries: rows.reduce((s, t) => s + t.n, 0),
    blocked: rows.filter((t) => t.action === 1).reduce((s, t) => s + t.n, 0),
    activeMinutes: 1000,
    minutes: 1440,
    linkSwitches: 0,
    listFailures: 0,
    clientCategories: OPTS.clientCategories as string[],
    identity: true,
  };
}

function store(day: number, salt = 0): void {
  const r = dayRollup(day, salt);
  stored.set(day, r);
  storeDay(db, day, ZONE, r, 1, 0);
}

beforeAll(() => {
  tmp = tempDir();
  db = openDatabase(tmp.path('gh.db'));
  const dict = db.prepare('INSERT INTO dict (kind, name) VALUES (?, ?)');
  for (const [kind, list] of [
    ['group', GROUPS],
    ['category', CATEGORIES],
    ['link', LINKS],
  ] as const)
    for (const n of list) ids[`${kind}:${n}`] = Number(dict.run(kind, n).lastInsertRowid);
  const name = db.prepare('INSERT INTO name_by_id (id, name, last_day) VALUES (?, ?, ?)');
  for (let i = 1; i <= NAMES; i++) {
    // One name in ten is an illegal-category name as the writer stores it (hidden).
    const text = i % 10 === 0 ? `${HIDDEN_NAME_PREFIX}${i.toString(16).padStart(32, '0')}` : `n${i % 7}-${i}.example`;
    nameText.set(i, text);
    name.run(i, text, LAST);
  }
  const client = db.prepare('INSERT INTO client_by_id (id, address, last_day) VALUES (?, ?, ?)');
  for (let i = 1; i <= CLIENTS; i++) {
    clientAddress.set(i, `10.1.0.${i}`);
    client.run(i, `10.1.0.${i}`, LAST);
  }
  for (let day = FIRST; day <= LAST; day++) store(day);
});

afterAll(() => {
  db.close();
  tmp.remove();
});

const dictName = (id: number) =>
  id === 0
    ? null
    : Object.entries(ids)
        .find(([, v]) => v === id)![0]
        .split(':')[1];

/** The whole stored days of [from, to), added up from the fixture's own record. */
function byHand(from: number, to: number, limit: number, by: 'blocked' | 'queries') {
  const traffic = new Map<string, number[]>();
  const byDay = new Map<string, number>();
  const clients = new Map<string, number>();
  const names = new Map<number, [number, number]>();
  const bound = { queries: 0, blocked: 0 };
  for (const [day, r] of stored) {
    if (localDayStart(day, ZONE) < from || localDayStart(day + 1, ZONE) > to) continue;
    for (const t of r.traffic) {
      const key = `${dictName(t.grp)}|${dictName(t.cat)}|${dictName(t.link)}|${ACTIONS[t.action]}`;
      const x = traffic.get(key) ?? [0, 0, 0];
      traffic.set(key, [x[0] + t.n, x[1] + t.cached, x[2] + t.lat]);
      const d = `${day}|${dictName(t.cat)}|${ACTIONS[t.action]}`;
      byDay.set(d, (byDay.get(d) ?? 0) + t.n);
    }
    for (const c of r.clients) {
      const key = `${clientAddress.get(c.client)}|${c.person}|${c.device}|${dictName(c.grp)}|${dictName(c.cat)}|${ACTIONS[c.action]}`;
      clients.set(key, (clients.get(key) ?? 0) + c.n);
    }
    for (const n of r.names) {
      const x = names.get(n.name) ?? [0, 0];
      names.set(n.name, [x[0] + n.n, x[1] + n.blocked]);
    }
    bound.queries += r.namesCutN;
    bound.blocked += r.namesCutBlocked;
  }
  const shown = [...names].filter(([id]) => !nameText.get(id)!.startsWith(HIDDEN_NAME_PREFIX));
  const value = ([, [n, b]]: [number, [number, number]]) => (by === 'blocked' ? b : n);
  const top = shown
    .filter((x) => value(x) > 0)
    .sort((a, b) => value(b) - value(a) || (nameText.get(a[0])! < nameText.get(b[0])! ? -1 : 1))
    .slice(0, limit)
    .map(([id, [n, b]]) => ({ name: nameText.get(id)!, queries: n, blocked: b }));
  return { traffic, byDay, clients, top, withheld: names.size - shown.length, bound };
}

function read(from: number, to: number, opts: PeriodOptions = OPTS) {
  const r = readPeriod(db, from, to, ZONE, opts);
  return {
    r,
    traffic: new Map(r.traffic.map((t) => [`${t.group}|${t.category}|${t.link}|${t.action}`, [t.queries, t.cached, t.latencyUs]])),
    byDay: new Map(r.byDay.map((t) => [`${t.day}|${t.category}|${t.action}`, t.queries])),
    clients: new Map(r.clients.map((c) => [`${c.address}|${c.personId}|${c.deviceId}|${c.group}|${c.category}|${c.action}`, c.lookups])),
  };
}

const sorted = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

function expectSameAsByHand(from: number, to: number, opts: PeriodOptions = OPTS): ReturnType<typeof readPeriod> {
  const got = read(from, to, opts);
  const want = byHand(from, to, opts.topNames?.limit ?? 0, opts.topNames?.by ?? 'blocked');
  expect(sorted(got.traffic)).toEqual(sorted(want.traffic));
  expect(sorted(got.byDay)).toEqual(opts.byDay ? sorted(want.byDay) : []);
  expect(sorted(got.clients)).toEqual(opts.clients ? sorted(want.clients) : []);
  expect(got.r.names).toEqual(want.top);
  expect(got.r.withheldNames).toBe(want.withheld);
  expect(got.r.namesBound).toEqual(want.bound);
  return got.r;
}

const start = (y: number, m: number, d: number) => localDayStart(Date.UTC(y, m - 1, d) / 86_400_000, ZONE);

describe('monthly sums of the daily rollups', () => {
  it('sums every month with days, each equal to its days, table by table', () => {
    const months = buildMonths(db, ZONE, DAILY_VERSION, 0);
    expect(months).toEqual([monthOf(FIRST), monthOf(FIRST + 25), monthOf(FIRST + 55), monthOf(FIRST + 85), monthOf(LAST)]);
    for (const [daily, monthly, keys] of [
      ['daily_traffic', 'monthly_traffic', 'grp, cat, link, action'],
      ['daily_names', 'monthly_names', 'name'],
      ['daily_clients', 'monthly_clients', 'client, person, device, grp, cat, action'],
    ])
      for (const m of months) {
        const fromDays = db
          .prepare(`SELECT ${keys}, sum(n) FROM ${daily} WHERE day >= ? AND day < ? GROUP BY ${keys} ORDER BY ${keys}`)
          .raw()
          .all(m, nextMonth(m));
        const fromMonth = db.prepare(`SELECT ${keys}, n FROM ${monthly} WHERE month = ? ORDER BY ${keys}`).raw().all(m);
        expect(fromMonth).toEqual(fromDays);
        expect(fromMonth.length).toBeGreaterThan(0);
      }
    // Nothing more to do until a day changes.
    expect(buildMonths(db, ZONE, DAILY_VERSION, 0)).toEqual([]);
  });

  it.each([
    ['a week inside a month', start(2026, 5, 4), start(2026, 5, 11), { months: 0 }],
    ['three whole months', start(2026, 4, 1), start(2026, 7, 1), { months: 3, minus: 0 }],
    ['the months less the days outside the period', start(2026, 4, 3), start(2026, 6, 28), { months: 3, minus: 5 }],
    ['every stored day and more (the top 25 over the lot)', start(2026, 1, 1), start(2026, 12, 1), { months: 5, minus: 0 }],
    [
      'a period that starts and ends mid-day (those days rolled up live: nothing logged)',
      start(2026, 4, 2) + 3_600_000,
      start(2026, 6, 30) + 7_200_000,
      { live: 2 },
    ],
  ])('%s: the same as the days added up by hand', (_, from, to, read) => {
    const r = expectSameAsByHand(from, to);
    expect(r.read).toMatchObject(read);
  });

  it('ranks the top names by queries as well, and reads only what is asked for', () => {
    expectSameAsByHand(start(2026, 3, 15), start(2026, 7, 15), { clientCategories: [], topNames: { by: 'queries', limit: 40 } });
    const r = readPeriod(db, start(2026, 4, 1), start(2026, 7, 1), ZONE, { clientCategories: [] });
    expect([r.byDay.length, r.clients.length, r.names.length]).toEqual([0, 0, 0]);
    expect(r.traffic.length).toBeGreaterThan(0);
  });

  it('a day built again drops its month, read from the days until the month is summed again', () => {
    const day = localDayOf(start(2026, 5, 20), ZONE);
    store(day, 99);
    const period = [start(2026, 4, 1), start(2026, 7, 1)] as const;
    expect(expectSameAsByHand(...period).read).toMatchObject({ months: 2, days: 31 });
    expect(buildMonths(db, ZONE, DAILY_VERSION, 0)).toEqual([monthOf(day)]);
    expect(expectSameAsByHand(...period).read).toMatchObject({ months: 3, days: 0 });
  });

  it('days purged drop their month; the month is summed again from the days left', () => {
    const cut = localDayOf(start(2026, 3, 20), ZONE);
    deleteDays(db, -1e9, cut);
    for (const day of [...stored.keys()]) if (day <= cut) stored.delete(day);
    expect(db.prepare('SELECT count(*) FROM monthly_summary WHERE month = ?').pluck().get(monthOf(cut))).toBe(0);
    expect(buildMonths(db, ZONE, DAILY_VERSION, 0)).toEqual([monthOf(cut)]);
    expect(expectSameAsByHand(start(2026, 3, 1), start(2026, 5, 1)).read).toMatchObject({ months: 2 });
  });

  it('a report built with the monthly sums is the report built from the days alone', () => {
    const config = testConfig(tmp.dir);
    const now = start(2026, 7, 25);
    const inputs = [
      reportInput(config, 'weekly', { from: start(2026, 3, 23), to: start(2026, 7, 13) }, now),
      reportInput(config, 'annual', { from: start(2026, 3, 23), to: start(2026, 7, 13) }, now),
    ];
    const withMonths = inputs.map((i) => buildReport(db, i));
    db.exec('DELETE FROM monthly_summary');
    const fromDays = inputs.map((i) => buildReport(db, i));
    expect(withMonths).toEqual(fromDays);
    // The weekly report over 16 weeks charts by week.
    const chart = withMonths[0].sections.flatMap((s) => s.charts ?? []).find((c) => c.id === 'blocked-per-day')!;
    expect(chart.title).toBe('Blocked lookups per week, by category');
    expect(chart.categories).toHaveLength(16);
    buildMonths(db, ZONE, DAILY_VERSION, 0);
  });
});
