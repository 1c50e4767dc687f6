import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../../src/store/db.js';
import { breakdown, minuteSeries, topClients, topDomains } from '../../src/store/rollups.js';
import { tempDir } from './helpers.js';
import { writeDataset, type Row } from './dataset.js';

// 3000 rows, one every 7 s from 23:00: the period crosses midnight.
const START = Date.UTC(2026, 10, 22, 23, 0, 0);
const N = 3000;
const STEP = 7000;
const END = START + N * STEP;

let tmp: ReturnType<typeof tempDir>;
let db: Database;
let rows: Row[];
beforeAll(() => {
  tmp = tempDir();
  db = openDatabase(tmp.path('gh.db'));
  rows = writeDataset(db, START, N, STEP);
});
afterAll(() => {
  db.close();
  tmp.remove();
});

function count<K>(list: Row[], key: (r: Row) => K): Map<K, { queries: number; blocked: number }> {
  const m = new Map<K, { queries: number; blocked: number }>();
  for (const r of list) {
    const c = m.get(key(r)) ?? { queries: 0, blocked: 0 };
    c.queries++;
    if (r.action === 'block') c.blocked++;
    m.set(key(r), c);
  }
  return m;
}

describe('rollups', () => {
  // Periods on whole 15-minute boundaries, the coarsest rollup resolution.
  const from = START + 15 * 60_000;
  const to = START + 4 * 3_600_000;
  const inPeriod = () => rows.filter((r) => r.ts >= from && r.ts < to);

  it('top domains and top clients match a count of the rows', () => {
    const domains = [...count(inPeriod(), (r) => r.name)].sort((a, b) => b[1].queries - a[1].queries || 0);
    const got = topDomains(db, { from, to, limit: 1000 });
    expect(new Map(got.map((d) => [d.name, { queries: d.queries, blocked: d.blocked }]))).toEqual(new Map(domains));
    expect(got.map((d) => d.queries)).toEqual([...got.map((d) => d.queries)].sort((a, b) => b - a));
    const clients = count(inPeriod(), (r) => r.client);
    const gotClients = topClients(db, { from, to, limit: 1000 });
    expect(new Map(gotClients.map((c) => [c.client, { queries: c.queries, blocked: c.blocked }]))).toEqual(clients);
    expect(topClients(db, { from, to, limit: 3 })).toEqual(gotClients.slice(0, 3));
    // Across midnight (several days: merged in JavaScript) the same as one day's SQL would give.
    const wholeClients = count(rows, (r) => r.client);
    expect(new Map(topClients(db, { from: START, to: END, limit: 1000 }).map((c) => [c.client, { queries: c.queries, blocked: c.blocked }]))).toEqual(wholeClients);
  });

  it('most blocked domains', () => {
    const blocked = [...count(inPeriod().filter((r) => r.action === 'block'), (r) => r.name)];
    const got = topDomains(db, { from, to, limit: 1000, blocked: true });
    expect(got.every((d) => d.blocked > 0)).toBe(true);
    expect(new Map(got.map((d) => [d.name, d.blocked]))).toEqual(new Map(blocked.map(([k, v]) => [k, v.queries])));
    // The query counts are the names' full counts, not only those of blocked buckets.
    const all = count(inPeriod(), (r) => r.name);
    expect(got.every((d) => d.queries === all.get(d.name)!.queries)).toBe(true);
    expect(got.map((d) => d.blocked)).toEqual([...got.map((d) => d.blocked)].sort((a, b) => b - a));
    // Over several days as well.
    const long = topDomains(db, { from: START, to: END, limit: 1000, blocked: true });
    const allLong = count(rows, (r) => r.name);
    expect(long.every((d) => d.queries === allLong.get(d.name)!.queries && d.blocked > 0)).toBe(true);
  });

  it.each(['group', 'category', 'link', 'action'] as const)('breakdown by %s', (by) => {
    const key = (r: Row) => (by === 'group' ? r.group : by === 'category' ? r.category : by === 'link' ? r.link : r.action);
    const want = count(inPeriod(), key);
    const got = breakdown(db, { from, to, by });
    expect(new Map(got.map((b) => [b.key, { queries: b.queries, blocked: b.blocked }]))).toEqual(want);
  });

  it('the minute series adds up, across midnight, for all and for one group', () => {
    const series = minuteSeries(db, { from: START, to: END });
    expect(series.reduce((n, p) => n + p.queries, 0)).toBe(N);
    expect(series.reduce((n, p) => n + p.blocked, 0)).toBe(rows.filter((r) => r.action === 'block').length);
    expect(series.reduce((n, p) => n + p.cached, 0)).toBe(rows.filter((r) => r.cached).length);
    const first = series[0];
    const firstRows = rows.filter((r) => r.ts >= first.at && r.ts < first.at + 60_000);
    expect(first.queries).toBe(firstRows.length);
    expect(first.avgLatencyUs).toBe(Math.round(firstRows.reduce((n, r) => n + r.latencyUs, 0) / firstRows.length));
    const staff = minuteSeries(db, { from: START, to: END, group: 'staff' });
    expect(staff.reduce((n, p) => n + p.queries, 0)).toBe(rows.filter((r) => r.group === 'staff').length);
    expect(minuteSeries(db, { from: START, to: END, group: 'nobody' })).toEqual([]);
  });
});
