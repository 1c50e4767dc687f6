// LogWriter's row placement: rows in time order go in by multi-row inserts,
// late rows find a free slot one at a time, and nothing is lost, doubled or
// written after its batch failed.
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../../src/store/db.js';
import { LogWriter } from '../../src/store/writer.js';
import { newBatch, pushRow, sealBatch } from '../../src/store/batch.js';
import { dayOf, dayTables, KEY_SLOTS } from '../../src/store/partitions.js';
import { holdWriteLock, tempDir } from './helpers.js';

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const DAY = dayOf(T0);
const dicts = { groups: ['staff'], categories: ['adult'], links: ['fibre'] };

let tmp: ReturnType<typeof tempDir> | undefined;
let db: Database | undefined;
afterEach(() => {
  db?.close();
  db = undefined;
  tmp?.remove();
  tmp = undefined;
});

function writer(): LogWriter {
  tmp = tempDir();
  db = openDatabase(tmp.path('gh.db'));
  const w = new LogWriter(db);
  w.setDictionaries(dicts);
  return w;
}

/** A batch of rows at the given times, each with its own name (name i is row i's tag). */
function batchAt(times: number[], tag: string) {
  const b = newBatch(times.length);
  times.forEach((t, i) => pushRow(b, t, '10.0.0.1', 0, `${tag}${i}.test`, 1, 0, -1, 0, 0, 100, false));
  return b;
}

function rows(): { id: number; name: string }[] {
  const t = dayTables(DAY);
  return db!.prepare(`SELECT q.id, n.name FROM ${t.q} AS q JOIN name_by_id AS n ON n.id = q.name ORDER BY q.id`).all() as {
    id: number;
    name: string;
  }[];
}

describe('LogWriter row placement', () => {
  it('stores every row of a batch that is not a multiple of the multi-row insert, in order, with distinct ids', () => {
    const w = writer();
    const times = Array.from({ length: 1000 }, (_, i) => T0 + Math.floor(i / 10)); // 10 rows per millisecond
    expect(w.writeBatch(batchAt(times, 'a'))).toBe(1000);
    const stored = rows();
    expect(stored).toHaveLength(1000);
    expect(stored.map((r) => r.name)).toEqual(times.map((_, i) => `a${i}.test`));
    expect(stored.map((r) => Math.floor(r.id / KEY_SLOTS))).toEqual(times.map((t) => t - DAY * 86_400_000));
  });

  it('moves rows past 256 in one millisecond to the next millisecond', () => {
    const w = writer();
    w.writeBatch(batchAt(Array(300).fill(T0), 'm'));
    const ms = rows().map((r) => Math.floor(r.id / KEY_SLOTS) - (T0 - DAY * 86_400_000));
    expect(ms.filter((m) => m === 0)).toHaveLength(256);
    expect(ms.filter((m) => m === 1)).toHaveLength(44);
  });

  it('a late batch (the clock stepped back) fills the free slots of milliseconds already written', () => {
    const w = writer();
    w.writeBatch(
      batchAt(
        Array.from({ length: 200 }, (_, i) => T0 + (i % 100)),
        'first',
      ),
    );
    // Rows at times the table already holds: each must land in a free slot, none may overwrite.
    w.writeBatch(
      batchAt(
        Array.from({ length: 150 }, (_, i) => T0 + (i % 50)),
        'late',
      ),
    );
    // And then rows in order again.
    w.writeBatch(
      batchAt(
        Array.from({ length: 100 }, (_, i) => T0 + 100 + i),
        'after',
      ),
    );
    const stored = rows();
    expect(stored).toHaveLength(450);
    expect(new Set(stored.map((r) => r.id)).size).toBe(450);
    for (const tag of ['first', 'late', 'after'])
      expect(stored.filter((r) => r.name.startsWith(tag))).toHaveLength(tag === 'first' ? 200 : tag === 'late' ? 150 : 100);
    // A late row keeps its own millisecond (its time is evidence): it takes a later slot, not a later time.
    const late = stored.filter((r) => r.name.startsWith('late'));
    for (const r of late) {
      const i = Number(/late(\d+)/.exec(r.name)![1]);
      expect(Math.floor(r.id / KEY_SLOTS)).toBe(T0 + (i % 50) - DAY * 86_400_000);
    }
  });

  it.each([
    ['a day already written', T0],
    ['the first batch of a new day', T0 + 86_400_000],
  ])('a batch that fails (disk full) on %s is not written later, and the next batch is stored whole and named right', (_, start) => {
    const w = writer();
    w.writeBatch(batchAt([T0 - 1], 'warm'));
    const pages = db!.pragma('page_count', { simple: true }) as number;
    db!.pragma(`max_page_count = ${pages}`);
    expect(() =>
      w.writeBatch(
        batchAt(
          Array.from({ length: 5000 }, (_, i) => start + i),
          'failed',
        ),
      ),
    ).toThrow(/full/);
    db!.pragma('max_page_count = 1073741823');
    w.writeBatch(
      batchAt(
        Array.from({ length: 10 }, (_, i) => start + 10_000 + i),
        'next',
      ),
    );
    const day = dayOf(start);
    const t = dayTables(day);
    const stored = db!.prepare(`SELECT n.name FROM ${t.q} AS q LEFT JOIN name_by_id AS n ON n.id = q.name ORDER BY q.id`).pluck().all();
    expect(stored).toEqual([...(day === DAY ? ['warm0.test'] : []), ...Array.from({ length: 10 }, (_, i) => `next${i}.test`)]);
  });
});

describe('LogWriter rollups', () => {
  it('count every row under many distinct names and clients, and add to the counts already stored', () => {
    const w = writer();
    // 150 names and 70 clients: two multi-row upserts and a remainder for names, one and a remainder for clients.
    const batch = () => {
      const b = newBatch(600);
      for (let i = 0; i < 600; i++)
        pushRow(b, T0 + i * 100, `10.0.1.${i % 70}`, 0, `n${i % 150}.test`, 1, i % 3 === 0 ? 1 : 0, -1, 0, 0, 100, false);
      return b;
    };
    w.writeBatch(batch());
    w.writeBatch(batch());
    const t = dayTables(DAY);
    const fromRows = (key: string, join: string) =>
      db!
        .prepare(
          `SELECT k.${key} AS k, count(*) AS n, sum(s.action = 1) AS blocked FROM ${t.q} AS q JOIN shape AS s ON s.id = q.shape JOIN ${join} AS k ON k.id = q.${key === 'name' ? 'name' : 'client'} GROUP BY k.${key} ORDER BY k.${key}`,
        )
        .all();
    const byName = db!
      .prepare(
        `SELECT n.name AS k, sum(r.n) AS n, sum(r.blocked) AS blocked FROM ${t.rn} AS r JOIN name_by_id AS n ON n.id = r.name GROUP BY n.name ORDER BY n.name`,
      )
      .all() as { k: string; n: number; blocked: number }[];
    const byClient = db!
      .prepare(
        `SELECT c.address AS k, sum(r.n) AS n, sum(r.blocked) AS blocked FROM ${t.rc} AS r JOIN client_by_id AS c ON c.id = r.client GROUP BY c.address ORDER BY c.address`,
      )
      .all();
    expect(byName).toHaveLength(150);
    expect(byName).toEqual(fromRows('name', 'name_by_id'));
    expect(byClient).toHaveLength(70);
    expect(byClient).toEqual(fromRows('address', 'client_by_id'));
    expect(byName.reduce((sum, r) => sum + r.n, 0)).toBe(1200);
  });
});

describe('a batch holds each name and client address once', () => {
  it('posts 3 names and 2 addresses for 600 rows, and every row reads back with its own', () => {
    const b = newBatch(600);
    const names = ['a.test', 'b.test', 'c.test'];
    const clients = ['10.0.0.1', '10.0.0.2'];
    for (let i = 0; i < 600; i++) pushRow(b, T0 + i, clients[i % 2], 0, names[i % 3], 1, 0, -1, 0, 0, 100, false);
    expect(b.names).toEqual(names);
    expect(b.clients).toEqual(clients);
    sealBatch(b);
    expect(b.index).toBeUndefined(); // the look-up maps are not posted to the writer
    const w = writer();
    expect(w.writeBatch(b)).toBe(600);
    const t = dayTables(DAY);
    const stored = db!
      .prepare(
        `SELECT n.name, c.address FROM ${t.q} AS q JOIN name_by_id AS n ON n.id = q.name JOIN client_by_id AS c ON c.id = q.client ORDER BY q.id`,
      )
      .all();
    expect(stored).toEqual(Array.from({ length: 600 }, (_, i) => ({ name: names[i % 3], address: clients[i % 2] })));
  });

  it('interns new names 64 to a statement: 200 new and 2 known names each read back on their own rows', () => {
    const w = writer();
    const first = newBatch(2);
    pushRow(first, T0, '10.0.0.1', 0, 'known0.test', 1, 0, -1, 0, 0, 100, false);
    pushRow(first, T0, '10.0.0.1', 0, 'known1.test', 1, 0, -1, 0, 0, 100, false);
    w.writeBatch(first);
    // The next day: the known names are interned again (their last_day moves on) among 200 new ones.
    const next = T0 + 86_400_000;
    const names = [
      ...Array.from({ length: 100 }, (_, i) => `new${i}.test`),
      'known0.test',
      ...Array.from({ length: 100 }, (_, i) => `new${100 + i}.test`),
      'known1.test',
    ];
    const b = newBatch(names.length * 2);
    for (let r = 0; r < 2; r++)
      names.forEach((name, i) => pushRow(b, next + r * 1000 + i, '10.0.0.1', 0, name, 1, 0, -1, 0, 0, 100, false));
    expect(w.writeBatch(b)).toBe(names.length * 2);
    const stored = db!
      .prepare(`SELECT n.name FROM ${dayTables(DAY + 1).q} AS q JOIN name_by_id AS n ON n.id = q.name ORDER BY q.id`)
      .pluck()
      .all();
    expect(stored).toEqual([...names, ...names]);
    expect(db!.prepare('SELECT count(*) FROM name_by_id').pluck().get()).toBe(202);
    expect(
      db!
        .prepare('SELECT count(*) FROM name_by_id WHERE last_day = ?')
        .pluck()
        .get(DAY + 1),
    ).toBe(202);
  });

  it('interns a name again on each day a batch spans (each day keeps its own last_day)', () => {
    const midnight = (DAY + 1) * 86_400_000;
    const b = newBatch(4);
    for (const t of [midnight - 2, midnight - 1, midnight, midnight + 1])
      pushRow(b, t, '10.0.0.1', 0, 'late.test', 1, 0, -1, 0, 0, 100, false);
    const w = writer();
    expect(w.writeBatch(b)).toBe(4);
    expect(db!.prepare("SELECT last_day FROM name_by_id WHERE name = 'late.test'").pluck().get()).toBe(DAY + 1);
    const perDay = [DAY, DAY + 1].map((d) =>
      db!
        .prepare(`SELECT count(*) FROM ${dayTables(d).q}`)
        .pluck()
        .get(),
    );
    expect(perDay).toEqual([2, 2]);
  });
});

describe('another connection writing at the same time', () => {
  it('waits for the write lock another connection holds, and loses nothing', async () => {
    writer().writeBatch(batchAt([T0], 'before'));
    // After a restart: today's tables exist, and the new writer has not seen them.
    const w = new LogWriter(db!);
    w.setDictionaries(dicts);
    // Another thread (the service's own connection, writing an urgent alert)
    // holds the write lock for 300 ms, then commits. The writer's first
    // transaction on a day reads before it writes (the day's tables and their
    // last id): as a deferred transaction it failed at once with SQLITE_BUSY
    // ("database is locked", no busy wait), and the batch's rows were lost.
    const holder = await holdWriteLock(tmp!.path('gh.db'), 300);
    expect(w.writeBatch(batchAt([T0 + 10, T0 + 11], 'after'))).toBe(2);
    await holder.done;
    expect(
      db!
        .prepare(`SELECT count(*) FROM ${dayTables(DAY).q}`)
        .pluck()
        .get(),
    ).toBe(3);
  });
});
