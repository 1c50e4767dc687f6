import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../../src/store/db.js';
import { search, type LogRow, type SearchFilter } from '../../src/store/search.js';
import { tempDir } from './helpers.js';
import { writeDataset, DICTS, PEOPLE, DEVICES, type Row } from './dataset.js';
import { LogWriter } from '../../src/store/writer.js';
import { newBatch, pushRow } from '../../src/store/batch.js';

// Two days and a bit: 6000 rows, one every 40 s, from 22:00 on 2026-11-21.
const START = Date.UTC(2026, 10, 21, 22, 0, 0);
const STEP = 40_000;
const N = 6000;
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

const strip = (r: LogRow) => {
  const { id: _id, whoId: _who, ...rest } = r;
  return rest;
};

function bruteForce(f: SearchFilter): Row[] {
  return rows
    .filter(
      (r) =>
        r.ts >= f.from &&
        r.ts < f.to &&
        (f.client === undefined || r.client === f.client) &&
        (f.group === undefined || r.group === f.group) &&
        (f.domain === undefined || r.name.includes(f.domain.toLowerCase())) &&
        (f.action === undefined || r.action === f.action) &&
        (f.category === undefined || r.category === f.category) &&
        (f.user === undefined || (r.user !== null && (r.user === f.user || (r.personName ?? '').toLowerCase().includes(f.user)))) &&
        (f.personId === undefined || r.personId === f.personId) &&
        (f.device === undefined || r.mac === f.device || (r.device ?? '').includes(f.device)) &&
        (f.deviceId === undefined || r.deviceId === f.deviceId),
    )
    .sort((a, b) => b.ts - a.ts);
}

function allPages(f: SearchFilter): LogRow[] {
  const out: LogRow[] = [];
  let before: number | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = search(db, { ...f, before });
    out.push(...page.rows);
    if (!page.next) return out;
    before = page.next;
  }
  throw new Error('paging did not end');
}

describe('search', () => {
  const mid = START + 30 * 3_600_000;
  it.each<[string, Partial<SearchFilter>]>([
    ['everything', {}],
    ['one client', { client: '10.0.1.5' }],
    ['a group', { group: 'guests' }],
    ['domain substring', { domain: 'example1' }],
    ['domain substring, upper case', { domain: 'SCHOOL.ORG' }],
    ['blocked', { action: 'block' }],
    ['rewritten', { action: 'rewrite' }],
    ['allowed', { action: 'allow' }],
    ['a category', { category: 'gambling' }],
    ['client + domain + action', { client: '10.0.0.0', domain: 'example', action: 'block' }],
    ['group + category, a narrow window', { group: 'pupils', category: 'gambling', from: mid, to: mid + 7_200_000 }],
    ['a window across midnight', { from: Date.UTC(2026, 10, 22, 23, 30), to: Date.UTC(2026, 10, 23, 0, 30) }],
    ['a person by user name', { user: PEOPLE[1].user }],
    ['a person by part of the display name', { user: 'smith' }],
    ['a person by id', { personId: PEOPLE[3].id }],
    ['people by a shared part of their names', { user: 'o' }],
    ['a device by MAC', { device: DEVICES[2].mac }],
    ['a device by name', { device: 'laptop-4' }],
    ['a person on one device', { personId: 1, deviceId: 1 }],
    ['a person, blocked only', { user: PEOPLE[0].user, action: 'block' }],
    ['a person + domain, a narrow window', { user: PEOPLE[2].user, domain: 'school', from: mid, to: mid + 7_200_000 }],
    ['an unknown person', { user: 'nobody-here' }],
    ['an unknown device', { device: '02:00:00:00:00:99' }],
    ['unknown client', { client: '192.0.2.1' }],
    ['unknown domain', { domain: 'nowhere.invalid' }],
    ['unknown group', { group: 'governors' }],
  ])('%s: every page together is exactly the brute-force answer, newest first', (label, extra) => {
    const f: SearchFilter = { from: START, to: END, limit: 97, ...extra };
    const got = allPages(f);
    const want = bruteForce(f);
    // Only the unknown ones may match nothing (else an empty answer would pass for a right one).
    expect(want.length > 0).toBe(!/unknown/.test(label));
    expect(got.map(strip)).toEqual(want);
    expect(new Set(got.map((r) => r.id)).size).toBe(got.length);
  });

  it('time bounds: from is inclusive, to is exclusive', () => {
    const t = rows[100].ts;
    expect(search(db, { from: t, to: t + 1 }).rows.map((r) => r.ts)).toEqual([t]);
    expect(search(db, { from: t + 1, to: t + STEP }).rows).toEqual([]);
  });

  it('a page says there is more only when there is', () => {
    const f = { from: START, to: START + 10 * STEP };
    expect(search(db, { ...f, limit: 10 }).next).toBeDefined();
    expect(search(db, { ...f, limit: 11 }).next).toBeUndefined();
  });

  it.each<[string, Partial<SearchFilter>]>([
    ['an empty time range', { from: END, to: START }],
    ['a zero limit', { limit: 0 }],
    ['a huge limit', { limit: 1_000_000 }],
    ['an unknown action', { action: 'drop' as never }],
    ['a bad cursor', { before: 1.5 }],
  ])('rejects %s with GH_ERR_STORE_QUERY', (_label, extra) => {
    expect(() => search(db, { from: START, to: END, ...extra })).toThrow(expect.objectContaining({ code: 'GH_ERR_STORE_QUERY' }));
  });

  it('a domain search finds names however long ago they were last used', () => {
    const t2 = tempDir();
    const db2 = openDatabase(t2.path('days.db'));
    try {
      const writer = new LogWriter(db2);
      writer.setDictionaries(DICTS);
      const day1 = Date.UTC(2026, 10, 1, 10);
      const day3 = day1 + 2 * 86_400_000;
      const b = newBatch(4);
      pushRow(b, day1, '10.0.0.1', 0, 'early.example', 1, 0, -1, -1, 0, 1, false);
      pushRow(b, day1 + 1, '10.0.0.1', 0, 'both.example', 1, 0, -1, -1, 0, 1, false);
      pushRow(b, day3, '10.0.0.1', 0, 'late.example', 1, 0, -1, -1, 0, 1, false);
      pushRow(b, day3 + 1, '10.0.0.1', 0, 'both.example', 1, 0, -1, -1, 0, 1, false);
      writer.writeBatch(b);
      const names = (from: number, to: number) => search(db2, { from, to, domain: 'example' }).rows.map((r) => r.name);
      expect(names(day1 - 1000, day1 + 1000)).toEqual(['both.example', 'early.example']);
      expect(names(day3 - 1000, day3 + 1000)).toEqual(['both.example', 'late.example']);
      expect(names(day1, day3 + 2)).toEqual(['both.example', 'late.example', 'both.example', 'early.example']);
      expect(names(day1 + 3_600_000, day3 - 1000)).toEqual([]);
    } finally {
      db2.close();
      t2.remove();
    }
  });

  it('rows in the same millisecond are all kept and page cleanly', () => {
    const t2 = tempDir();
    const db2 = openDatabase(t2.path('same.db'));
    try {
      const same = writeDataset(db2, START, 700, 0); // 700 rows in one millisecond (more than 256 slots)
      const got: LogRow[] = [];
      let before: number | undefined;
      for (;;) {
        const page = search(db2, { from: START - 10, to: START + 10, limit: 64, before });
        got.push(...page.rows);
        if (!page.next) break;
        before = page.next;
      }
      expect(got).toHaveLength(same.length);
      expect(new Set(got.map((r) => r.id)).size).toBe(same.length);
      // Past 256 in one millisecond the extra rows move on by a millisecond, no further.
      expect(Math.max(...got.map((r) => r.ts)) - START).toBeLessThanOrEqual(2);
    } finally {
      db2.close();
      t2.remove();
    }
  });
});
