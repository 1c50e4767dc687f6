import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../../src/store/db.js';
import { breakdown, minuteSeries, topClients, topDomains } from '../../src/store/rollups.js';
import { tempDir } from './helpers.js';
import { writeDataset, DICTS, type Row } from './dataset.js';
import { LogWriter } from '../../src/store/writer.js';
import { newBatch, pushRow } from '../../src/store/batch.js';

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
    expect(
      new Map(topClients(db, { from: START, to: END, limit: 1000 }).map((c) => [c.client, { queries: c.queries, blocked: c.blocked }])),
    ).toEqual(wholeClients);
  });

  it('most blocked domains', () => {
    const blocked = [
      ...count(
        inPeriod().filter((r) => r.action === 'block'),
        (r) => r.name,
      ),
    ];
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

describe('top domains over several days, with more names than each day ranks', () => {
  // Name i is asked floor(2000 / (i + 1)) + 1 times a day (skewed), or once a day (flat).
  function build(skewed: boolean): { db: Database; done: () => void } {
    const t = tempDir();
    const d = openDatabase(t.path('top.db'));
    const writer = new LogWriter(d);
    writer.setDictionaries(DICTS);
    const day1 = Date.UTC(2026, 10, 2);
    for (const day of [day1, day1 + 86_400_000]) {
      const counts = Array.from({ length: 3000 }, (_, i) => (skewed ? Math.floor(2000 / (i + 1)) + 1 : 1));
      const b = newBatch(counts.reduce((a, c) => a + c, 0));
      let k = 0;
      counts.forEach((c, i) => {
        for (let j = 0; j < c; j++)
          pushRow(b, day + 3_600_000 + (k++ % 36_000_000), '10.0.0.1', 0, `n${i}.example`, 1, i % 3 === 0 ? 1 : 0, -1, -1, 0, 1, false);
      });
      writer.writeBatch(b);
    }
    return { db: d, done: () => (d.close(), t.remove()) };
  }
  const period = { from: Date.UTC(2026, 10, 2), to: Date.UTC(2026, 10, 4), limit: 20 };

  it("skewed: the exact top 20 from each day's top candidates", () => {
    const { db: d, done } = build(true);
    try {
      const got = topDomains(d, period);
      expect(got.map((r) => r.name)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}.example`));
      expect(got.map((r) => r.queries)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * (Math.floor(2000 / (i + 1)) + 1)));
      const blocked = topDomains(d, { ...period, blocked: true });
      expect(blocked.map((r) => r.name)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i * 3}.example`));
      expect(blocked.every((r) => r.blocked === r.queries)).toBe(true);
    } finally {
      done();
    }
  });

  it("most blocked over several days counts a name's queries on days it was not blocked too", () => {
    const t = tempDir();
    const d = openDatabase(t.path('blocked.db'));
    try {
      const writer = new LogWriter(d);
      writer.setDictionaries(DICTS);
      const day1 = Date.UTC(2026, 10, 2, 9);
      const b = newBatch(4);
      pushRow(b, day1, '10.0.0.1', 0, 'x.example', 1, 1, 0, -1, 0, 1, false);
      pushRow(b, day1 + 86_400_000, '10.0.0.1', 0, 'x.example', 1, 0, -1, -1, 0, 1, false);
      pushRow(b, day1 + 86_400_001, '10.0.0.1', 0, 'x.example', 1, 0, -1, -1, 0, 1, false);
      pushRow(b, day1 + 86_400_002, '10.0.0.1', 0, 'never-blocked.example', 1, 0, -1, -1, 0, 1, false);
      writer.writeBatch(b);
      const period = { from: day1 - 3_600_000, to: day1 + 2 * 86_400_000 };
      expect(topDomains(d, { ...period, blocked: true })).toEqual([{ name: 'x.example', queries: 3, blocked: 1 }]);
      expect(topClients(d, { ...period, blocked: true })).toEqual([{ client: '10.0.0.1', queries: 4, blocked: 1 }]);
    } finally {
      d.close();
      t.remove();
    }
  });

  it("a name below every day's top list can still win overall: then every name is counted", () => {
    const t = tempDir();
    const d = openDatabase(t.path('hidden.db'));
    try {
      const writer = new LogWriter(d);
      writer.setDictionaries(DICTS);
      const day1 = Date.UTC(2026, 10, 2, 9);
      // Each day: 2000 names asked 3 times (more than a day ranks), and hidden.example twice.
      for (const [day, prefix] of [
        [day1, 'a'],
        [day1 + 86_400_000, 'b'],
      ] as const) {
        const b = newBatch(2000 * 3 + 2);
        let k = 0;
        for (let i = 0; i < 2000; i++)
          for (let j = 0; j < 3; j++) pushRow(b, day + k++, '10.0.0.1', 0, `${prefix}${i}.example`, 1, 0, -1, -1, 0, 1, false);
        for (let j = 0; j < 2; j++) pushRow(b, day + k++, '10.0.0.1', 0, 'hidden.example', 1, 0, -1, -1, 0, 1, false);
        writer.writeBatch(b);
      }
      const got = topDomains(d, { from: day1 - 3_600_000, to: day1 + 2 * 86_400_000, limit: 5 });
      expect(got[0]).toEqual({ name: 'hidden.example', queries: 4, blocked: 0 });
      expect(got.slice(1).map((r) => r.queries)).toEqual([3, 3, 3, 3]);
    } finally {
      d.close();
      t.remove();
    }
  });
});
