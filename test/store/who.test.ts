// The query log's `who` column (migration 10): each row keeps the person and
// device known when it was logged, interned as a (person, device) pair; the
// rw_D rollup says where and when each pair was seen; retention takes the
// pairs with their rows; a database from before the column reads its old rows
// as nobody and searches its new ones by person.
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openDatabase } from '../../src/store/db.js';
import { latestVersion, migrations } from '../../src/store/migrations.js';
import { LogWriter } from '../../src/store/writer.js';
import { newBatch, pushRow } from '../../src/store/batch.js';
import { dayOf, dayTables, DAY_MS, KEY_SLOTS, MINUTE_MS } from '../../src/store/partitions.js';
import { search } from '../../src/store/search.js';
import { tempDir } from './helpers.js';

const DICTS = { groups: ['pupils'], categories: ['adult'], links: ['fibre'] };
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  tmp?.remove();
  tmp = undefined;
});

function people(db: Database.Database): void {
  db.prepare(
    "INSERT INTO identity_people (id, user_key, display_name, first_seen, last_seen, updated_at) VALUES (7, 'jsmith', 'Jo Smith', 0, 0, 0)",
  ).run();
  db.prepare(
    "INSERT INTO identity_devices (id, key, host_name, first_seen, last_seen, updated_at) VALUES (3, 'mac:02:00:00:00:00:03', 'jo-laptop', 0, 0, 0)",
  ).run();
}

describe('who: person and device in each query-log row', () => {
  it('interns each (person, device) once, keeps it per row, and rolls it up by hour, address and category', () => {
    tmp = tempDir();
    const db = openDatabase(tmp.path('gh.db'));
    people(db);
    const writer = new LogWriter(db);
    writer.setDictionaries(DICTS);
    const b = newBatch(8);
    pushRow(b, T0, '10.0.0.5', 0, 'a.example', 1, 0, -1, 0, 0, 10, false, -1, -1, false, 0, 7, 3);
    pushRow(b, T0 + 1000, '10.0.0.5', 0, 'porn.example', 1, 1, 0, -1, 0, 10, false, -1, -1, false, 0, 7, 3);
    pushRow(b, T0 + 3_600_000, '10.0.0.9', 0, 'b.example', 1, 0, -1, 0, 0, 10, false, -1, -1, false, 0, 7, 3);
    pushRow(b, T0 + 3_600_001, '10.0.0.9', 0, 'c.example', 1, 0, -1, 0, 0, 10, false, -1, -1, false, 0, 0, 3);
    pushRow(b, T0 + 3_600_002, '10.0.0.8', 0, 'd.example', 1, 0, -1, 0, 0, 10, false);
    pushRow(b, T0 + 3_600_003, '10.0.0.5', 0, 'check.example', 1, 0, -1, 0, 0, 10, false, -1, -1, true, 0, 7, 3);
    writer.writeBatch(b);
    const pairs = db.prepare('SELECT person, device FROM who_by_id ORDER BY id').raw().all();
    expect(pairs).toEqual([
      [7, 3],
      [0, 3],
    ]);
    const t = dayTables(dayOf(T0));
    expect(db.prepare(`SELECT who FROM ${t.q} ORDER BY id`).pluck().all()).toEqual([1, 1, 1, 2, 0]);
    expect(db.prepare('SELECT who FROM check_query').pluck().all()).toEqual([1]);
    const catId = db.prepare("SELECT id FROM dict WHERE kind = 'category' AND name = 'adult'").pluck().get();
    const client = (a: string) => db.prepare('SELECT id FROM client_by_id WHERE address = ?').pluck().get(a);
    expect(db.prepare(`SELECT who, hour, client, cat, n, blocked FROM ${t.rw} ORDER BY who, hour, cat`).raw().all()).toEqual([
      [1, 9, client('10.0.0.5'), 0, 1, 0],
      [1, 9, client('10.0.0.5'), catId, 1, 1],
      [1, 10, client('10.0.0.9'), 0, 1, 0],
      [2, 10, client('10.0.0.9'), 0, 1, 0],
    ]);
    // A search reads the names back; the device's rows without a person say only the device.
    const rows = search(db, { from: T0, to: T0 + DAY_MS, deviceId: 3 }).rows;
    expect(rows.map((r) => [r.name, r.user, r.personName, r.device, r.mac])).toEqual([
      ['c.example', null, null, 'jo-laptop', '02:00:00:00:00:03'],
      ['b.example', 'jsmith', 'Jo Smith', 'jo-laptop', '02:00:00:00:00:03'],
      ['porn.example', 'jsmith', 'Jo Smith', 'jo-laptop', '02:00:00:00:00:03'],
      ['a.example', 'jsmith', 'Jo Smith', 'jo-laptop', '02:00:00:00:00:03'],
    ]);
    // An erased pair is never matched again: the same person and device seen later is a new pair.
    db.prepare('UPDATE who_by_id SET person = 0, erased = 1 WHERE person = 7').run();
    const b2 = newBatch(1);
    pushRow(b2, T0 + 7_200_000, '10.0.0.5', 0, 'e.example', 1, 0, -1, 0, 0, 10, false, -1, -1, false, 0, 7, 3);
    const fresh = new LogWriter(db);
    fresh.setDictionaries(DICTS);
    fresh.writeBatch(b2);
    expect(db.prepare('SELECT id, person, erased FROM who_by_id ORDER BY id').raw().all()).toEqual([
      [1, 0, 1],
      [2, 0, 0],
      [3, 7, 0],
    ]);
    expect(search(db, { from: T0, to: T0 + DAY_MS, personId: 7 }).rows.map((r) => r.name)).toEqual(['e.example']);
    db.close();
  });

  it('retention deletes the rows, the rollup hours and the pairs before the cutoff, exactly', () => {
    tmp = tempDir();
    const db = openDatabase(tmp.path('gh.db'));
    people(db);
    const writer = new LogWriter(db);
    writer.setDictionaries(DICTS);
    const day1 = T0 - 2 * DAY_MS;
    const b = newBatch(8);
    pushRow(b, day1, '10.0.0.5', 0, 'old.example', 1, 0, -1, 0, 0, 10, false, -1, -1, false, 0, 7, 0);
    pushRow(b, T0 + 10 * MINUTE_MS, '10.0.0.5', 0, 'early.example', 1, 0, -1, 0, 0, 10, false, -1, -1, false, 0, 0, 3);
    pushRow(b, T0 + 40 * MINUTE_MS, '10.0.0.5', 0, 'late.example', 1, 0, -1, 0, 0, 10, false, -1, -1, false, 0, 0, 3);
    writer.writeBatch(b);
    const cutoff = T0 + 30 * MINUTE_MS;
    writer.purge(cutoff);
    // The (7, 0) pair was last used two days before: gone with its day.
    expect(db.prepare('SELECT person, device FROM who_by_id').raw().all()).toEqual([[0, 3]]);
    const t = dayTables(dayOf(T0));
    expect(db.prepare(`SELECT hour, n FROM ${t.rw}`).raw().all()).toEqual([[9, 1]]);
    expect(search(db, { from: 0, to: T0 + DAY_MS, deviceId: 3 }).rows.map((r) => r.name)).toEqual(['late.example']);
    db.close();
  });

  it('migrates a log written before the column: old rows read as nobody, new rows carry who', () => {
    tmp = tempDir();
    const path = tmp.path('gh.db');
    const old = openDatabase(path, { migrations: migrations.slice(0, 7) });
    const t = dayTables(dayOf(T0));
    old.exec(`CREATE TABLE ${t.q} (id INTEGER PRIMARY KEY, client INTEGER NOT NULL, name INTEGER NOT NULL, shape INTEGER NOT NULL, lat INTEGER NOT NULL);
      CREATE TABLE ${t.rc} (client INTEGER NOT NULL, minute INTEGER NOT NULL, n INTEGER NOT NULL, blocked INTEGER NOT NULL, PRIMARY KEY (client, minute)) WITHOUT ROWID;
      CREATE TABLE ${t.rn} (name INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, blocked INTEGER NOT NULL, PRIMARY KEY (name, bucket)) WITHOUT ROWID;
      CREATE TABLE ${t.rm} (minute INTEGER NOT NULL, grp INTEGER NOT NULL, cat INTEGER NOT NULL, link INTEGER NOT NULL,
        action INTEGER NOT NULL, n INTEGER NOT NULL, cached INTEGER NOT NULL, lat INTEGER NOT NULL, PRIMARY KEY (minute, grp, cat, link, action)) WITHOUT ROWID;
      INSERT INTO client_by_id (id, address, last_day) VALUES (1, '10.0.0.5', ${dayOf(T0)});
      INSERT INTO name_by_id (id, name, last_day) VALUES (1, 'before.example', ${dayOf(T0)});
      INSERT INTO shape (id, qtype, grp, action, cached, rcode, cat, link) VALUES (1, 1, 0, 0, 0, 0, 0, 0);
      INSERT INTO ${t.q} VALUES (${(T0 - dayOf(T0) * DAY_MS) * KEY_SLOTS}, 1, 1, 1, 5);
      INSERT INTO ${t.rc} VALUES (1, 540, 1, 0);`);
    old.close();
    const db = openDatabase(path);
    expect(db.pragma('user_version', { simple: true })).toBe(latestVersion());
    people(db);
    const writer = new LogWriter(db);
    writer.setDictionaries(DICTS);
    const b = newBatch(1);
    pushRow(b, T0 + 5000, '10.0.0.5', 0, 'after.example', 1, 0, -1, 0, 0, 10, false, -1, -1, false, 0, 7, 3);
    writer.writeBatch(b);
    const all = search(db, { from: T0 - 1000, to: T0 + DAY_MS }).rows;
    expect(all.map((r) => [r.name, r.user, r.whoId])).toEqual([
      ['after.example', 'jsmith', 1],
      ['before.example', null, 0],
    ]);
    expect(search(db, { from: T0 - 1000, to: T0 + DAY_MS, user: 'jsmith' }).rows.map((r) => r.name)).toEqual(['after.example']);
    db.close();
  });
});
