import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../../src/store/db.js';
import { LogWriter } from '../../src/store/writer.js';
import { newBatch, pushRow } from '../../src/store/batch.js';
import { daysToBuild, localDayOf, localDayStart, rollupSpan, storeDay } from '../../src/store/daily.js';
import { dayTables, listDays } from '../../src/store/partitions.js';
import { DailyRollups } from '../../src/store/daily-job.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from './helpers.js';

const ZONE = 'Europe/London';
const DICT = { groups: ['staff', 'pupils'], categories: ['adult', 'social', 'vpn', 'help-services'], links: ['fibre', 'sat'] };
// 23 Oct 2026 00:00 BST to 27 Oct 00:00 GMT: the clocks go back on 25 Oct (a 25-hour local day).
const FROM = localDayStart(localDayOf(Date.UTC(2026, 9, 23, 12), ZONE), ZONE);
const DAYS = 4;
const TO = localDayStart(localDayOf(FROM, ZONE) + DAYS, ZONE);

interface Row {
  ts: number;
  client: string;
  grp: number;
  name: string;
  action: number;
  cat: number;
  link: number;
  check: boolean;
}

function rows(): Row[] {
  const out: Row[] = [];
  for (let i = 0, ts = FROM - 3_600_000; ts < TO + 3_600_000; i++, ts += 37_000) {
    const action = i % 5 === 0 ? 1 : 0;
    const cat = action === 1 ? i % 3 : i % 23 === 0 ? 3 : -1;
    out.push({
      ts,
      client: `10.0.0.${i % 7}`,
      grp: i % 2,
      name: action === 1 ? `blocked${i % 11}.example` : cat === 3 ? 'childline.org.uk' : `site${i % 1500}.example`,
      action,
      cat,
      link: action === 0 ? i % 2 : -1,
      check: i % 97 === 0,
    });
  }
  return out;
}

let tmp: ReturnType<typeof tempDir>;
let db: Database;
let data: Row[];
beforeAll(() => {
  tmp = tempDir();
  db = openDatabase(tmp.path('gh.db'));
  const writer = new LogWriter(db);
  writer.setDictionaries(DICT);
  data = rows();
  const b = newBatch(data.length);
  for (const r of data) pushRow(b, r.ts, r.client, r.grp, r.name, 1, r.action, r.cat, r.link, 0, 100, false, -1, -1, r.check);
  writer.writeBatch(b);
});
afterAll(() => {
  db.close();
  tmp.remove();
});

const dictId = (kind: string, name: string) =>
  db.prepare('SELECT id FROM dict WHERE kind = ? AND name = ?').pluck().get(kind, name) as number;

describe('daily rollups', () => {
  const opts = { clientCategories: ['adult', 'vpn', 'help-services'] };

  it('a local day (25 hours when the clocks go back) rolls up to exactly its rows, the self-test traffic left out', () => {
    const day = localDayOf(Date.UTC(2026, 9, 25, 12), ZONE);
    const from = localDayStart(day, ZONE);
    const to = localDayStart(day + 1, ZONE);
    expect(to - from).toBe(25 * 3_600_000);
    const mine = data.filter((r) => r.ts >= from && r.ts < to && !r.check);
    const r = rollupSpan(db, from, to, opts);
    expect(r.queries).toBe(mine.length);
    expect(r.blocked).toBe(mine.filter((x) => x.action === 1).length);
    expect(r.minutes).toBe(25 * 60);
    // By group × category × action.
    const byKey = (grp: number, cat: number, action: number) =>
      r.traffic.filter((t) => t.grp === grp && t.cat === cat && t.action === action).reduce((s, t) => s + t.n, 0);
    expect(byKey(dictId('group', 'pupils'), dictId('category', 'adult'), 1)).toBe(
      mine.filter((x) => x.grp === 1 && x.cat === 0 && x.action === 1).length,
    );
    // Per client: blocks in the counted categories, and help lookups (allowed); 'social' is not counted.
    const adult = dictId('category', 'adult');
    const help = dictId('category', 'help-services');
    const social = dictId('category', 'social');
    const client3 = db.prepare("SELECT id FROM client_by_id WHERE address = '10.0.0.3'").pluck().get() as number;
    const got = (cat: number) => r.clients.filter((c) => c.client === client3 && c.cat === cat).reduce((s, c) => s + c.n, 0);
    expect(got(adult)).toBe(mine.filter((x) => x.client === '10.0.0.3' && x.cat === 0 && x.action === 1).length);
    expect(got(help)).toBe(mine.filter((x) => x.client === '10.0.0.3' && x.cat === 3).length);
    expect(got(help)).toBeGreaterThan(0);
    expect(r.clients.some((c) => c.cat === social)).toBe(false);
    expect(r.clients.every((c) => c.person === 0 && c.device === 0)).toBe(true);
    // Top names: every name of this small day is kept, with exact counts.
    const blocked7 = db.prepare("SELECT id FROM name_by_id WHERE name = 'blocked7.example'").pluck().get() as number;
    expect(r.names.find((n) => n.name === blocked7)?.blocked).toBe(mine.filter((x) => x.name === 'blocked7.example').length);
    expect(r.namesCutN).toBeGreaterThan(0); // 1,500 site names: more than the 1,000 kept by queries
  });

  it('builds each finished day once, and retention removes the days it purges', () => {
    const partitions = listDays(db);
    const todo = daysToBuild(db, ZONE, TO + 3_600_000, partitions);
    // The hour before FROM is a day of its own; the hour after TO is a day not yet finished.
    expect(todo.map((d) => d.day)).toEqual(Array.from({ length: DAYS + 1 }, (_, i) => localDayOf(FROM, ZONE) - 1 + i));
    for (const d of todo) storeDay(db, d.day, ZONE, rollupSpan(db, d.from, d.to, opts), 1, 0);
    expect(daysToBuild(db, ZONE, TO + 3_600_000, partitions)).toEqual([]);
    const total = db.prepare('SELECT sum(queries) FROM daily_summary WHERE day >= ?').pluck().get(localDayOf(FROM, ZONE));
    expect(total).toBe(data.filter((r) => r.ts >= FROM && r.ts < TO && !r.check).length);
    // Another zone's days are not current.
    expect(daysToBuild(db, 'America/New_York', TO + 3_600_000, partitions).length).toBeGreaterThan(0);
    // Retention: the cutoff falls on the second day: that day and the ones before go.
    const cutoff = localDayStart(localDayOf(FROM, ZONE) + 1, ZONE) + 5 * 3_600_000;
    new LogWriter(db).purge(cutoff); // the retention purge (writer.ts) calls purgeDaily in its transaction
    const left = db.prepare('SELECT day FROM daily_summary ORDER BY day').pluck().all() as number[];
    expect(left[0]).toBe(localDayOf(cutoff, ZONE) + 1);
    for (const table of ['daily_traffic', 'daily_names', 'daily_clients'])
      expect(db.prepare(`SELECT count(*) FROM ${table} WHERE day <= ?`).pluck().get(localDayOf(cutoff, ZONE))).toBe(0);
  });

  it('reads person and device from the rows once the query log has those columns', () => {
    const day = Math.floor(FROM / 86_400_000) + 1;
    const t = dayTables(day);
    const copy = tempDir();
    const other = openDatabase(copy.path('id.db'));
    try {
      const w = new LogWriter(other);
      w.setDictionaries(DICT);
      const b = newBatch(10);
      for (let i = 0; i < 10; i++)
        pushRow(b, day * 86_400_000 + 3_600_000 + i * 1000, '10.1.0.1', 1, 'x.example', 1, 1, 0, -1, 0, 1, false);
      w.writeBatch(b);
      // What the identity work adds to each row: the person and the device at the address then.
      other.exec(
        `ALTER TABLE ${t.q} ADD COLUMN person INTEGER NOT NULL DEFAULT 0; ALTER TABLE ${t.q} ADD COLUMN device INTEGER NOT NULL DEFAULT 0`,
      );
      other.exec(`UPDATE ${t.q} SET person = 42, device = 7 WHERE (id / 256000) % 2 = 0`);
      const r = rollupSpan(other, day * 86_400_000, (day + 1) * 86_400_000, opts);
      expect(r.identity).toBe(true);
      const byPerson = new Map(r.clients.map((c) => [`${c.person}/${c.device}`, c.n]));
      const even = other.prepare(`SELECT count(*) FROM ${t.q} WHERE (id / 256000) % 2 = 0`).pluck().get() as number;
      expect(byPerson.get('42/7')).toBe(even);
      expect(byPerson.get('0/0')).toBe(10 - even);
    } finally {
      other.close();
      copy.remove();
    }
  });

  it('the job rolls up days in its own thread', async () => {
    const copy = tempDir();
    const path = copy.path('job.db');
    const d2 = openDatabase(path);
    const w = new LogWriter(d2);
    w.setDictionaries(DICT);
    const b = newBatch(100);
    for (let i = 0; i < 100; i++)
      pushRow(b, FROM + i * 60_000, '10.0.0.9', 0, `n${i % 5}.example`, 1, i % 4 === 0 ? 1 : 0, i % 4 === 0 ? 0 : -1, -1, 0, 5, false);
    w.writeBatch(b);
    const job = new DailyRollups({ path, zone: ZONE, clientCategories: () => ['adult'], logger: silentLogger(), now: () => TO });
    try {
      job.start();
      const r = await job.runOnce();
      expect(r.error).toBeUndefined();
      expect(r.built.map((x) => x.queries)).toContain(100);
      expect(d2.prepare('SELECT sum(n) FROM daily_clients').pluck().get()).toBe(25);
      // Then it sums the month of the days it built (store/daily-months.ts).
      expect(d2.prepare('SELECT sum(n) FROM monthly_clients').pluck().get()).toBe(25);
      expect(d2.prepare('SELECT count(*) FROM monthly_summary').pluck().get()).toBeGreaterThan(0);
    } finally {
      await job.stop();
      d2.close();
      copy.remove();
    }
  });
});
