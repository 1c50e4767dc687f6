// Hiding the names of illegal-category rows that were logged in the clear: by a
// version before names were hidden at record time (query-log.ts), or before a
// category was marked illegal in the config. Runs on the main connection at
// start (before the writer thread opens) and after a reload that marks a new
// category illegal; dict.illegal records which categories are done, so a
// start with nothing new costs a few small queries.
//
// Each such row is pointed at the hidden form of its name (hidden-names.ts),
// the name rollups move with it, and a clear name no row uses any more is
// deleted. SQLite leaves deleted bytes in place unless told otherwise, and old
// copies of a row can sit in a page's unused space or in free pages after the
// b-tree has moved it, so with anything changed:
//   - `secure_delete` is on, so freed cells and pages are overwritten with zeros;
//   - name_by_id (the only table holding names as text) is copied into a fresh
//     table and the old one dropped: every page that ever held a name is freed,
//     and zeroed;
//   - every free page is taken once by a table of zero-filled rows and freed
//     again, which zeroes pages freed before secure_delete was on;
//   - the WAL is checkpointed and truncated, so its old page images go too.
// That is proportional to the name dictionary and the free pages, not to the
// whole log (a VACUUM would rewrite a year of rows).
import type { Database } from 'better-sqlite3';
import { isHiddenName, type NameHider } from './hidden-names.js';
import { dayTables, listDays, KEY_SLOTS, MINUTE_MS, NAME_BUCKET_MINUTES } from './partitions.js';

export interface HideResult {
  /** Categories newly marked as hidden. */
  categories: string[];
  /** Rows whose name was replaced. */
  rows: number;
  /** Clear names deleted from the dictionary. */
  names: number;
}

/** Hide the names of every row in `illegalCategories` (category ids) not hidden yet. */
export function hideIllegalNames(db: Database, illegalCategories: readonly string[], hider: NameHider): HideResult {
  const result: HideResult = { categories: [], rows: 0, names: 0 };
  const known = new Map(
    (db.prepare("SELECT name, id, illegal FROM dict WHERE kind = 'category'").raw().all() as [string, number, number][]).map(
      ([name, id, illegal]) => [name, { id, illegal }],
    ),
  );
  const todo = illegalCategories.filter((c) => known.get(c)?.illegal !== 1);
  if (todo.length === 0) return result;
  result.categories = todo;
  const catIds = todo.map((c) => known.get(c)?.id).filter((id): id is number => id !== undefined);
  const mark = () => {
    const upsert = db.prepare(
      "INSERT INTO dict (kind, name, illegal) VALUES ('category', ?, 1) ON CONFLICT (kind, name) DO UPDATE SET illegal = 1",
    );
    for (const c of todo) upsert.run(c);
  };
  const shapes = catIds.length
    ? (db.prepare('SELECT id, action FROM shape WHERE cat IN (SELECT value FROM json_each(?))').raw().all(JSON.stringify(catIds)) as [
        number,
        number,
      ][])
    : [];
  if (shapes.length === 0) {
    // Nothing was ever logged in these categories.
    db.transaction(mark)();
    return result;
  }
  db.pragma('secure_delete = ON');
  try {
    db.transaction(() => {
      const moved = moveRows(db, catIds, new Map(shapes), hider);
      result.rows = moved.rows;
      result.names = moved.dropped;
      mark();
    })();
    if (result.rows > 0) {
      rebuildNames(db);
      zeroFreePages(db);
    }
  } finally {
    db.pragma('secure_delete = OFF');
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  return result;
}

/** Point every row of the given shapes at the hidden form of its name; returns rows moved and clear names dropped. */
function moveRows(db: Database, catIds: number[], actionByShape: Map<number, number>, hider: NameHider): { rows: number; dropped: number } {
  db.exec('CREATE TEMP TABLE IF NOT EXISTS hide_shapes (id INTEGER PRIMARY KEY); DELETE FROM temp.hide_shapes;');
  const addShape = db.prepare('INSERT INTO temp.hide_shapes (id) VALUES (?)');
  for (const id of actionByShape.keys()) addShape.run(id);
  const nameOf = db.prepare('SELECT name, last_day FROM name_by_id WHERE id = ?').raw();
  const intern = db
    .prepare(
      'INSERT INTO name_by_id (name, last_day) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_day = max(last_day, excluded.last_day) RETURNING id',
    )
    .pluck();
  const hiddenIds = new Map<number, number>();
  const hiddenId = (nameId: number): number => {
    let id = hiddenIds.get(nameId);
    if (id === undefined) {
      const found = nameOf.get(nameId) as [string, number] | undefined;
      id = !found || isHiddenName(found[0]) ? nameId : (intern.get(hider.hide(found[0]), found[1]) as number);
      hiddenIds.set(nameId, id);
    }
    return id;
  };
  let rows = 0;
  const bucketMs = NAME_BUCKET_MINUTES * MINUTE_MS * KEY_SLOTS;
  const days = listDays(db);
  for (const day of days) {
    const t = dayTables(day);
    // Table names come from dayTables (our own format), never from input.
    const minutes = db
      .prepare(`SELECT DISTINCT minute FROM ${t.rm} WHERE cat IN (SELECT value FROM json_each(?)) ORDER BY minute`)
      .pluck()
      .all(JSON.stringify(catIds)) as number[];
    if (minutes.length === 0) continue;
    const scan = db
      .prepare(`SELECT id, name, shape FROM ${t.q} WHERE id >= ? AND id < ? AND shape IN (SELECT id FROM temp.hide_shapes)`)
      .raw();
    const update = db.prepare(`UPDATE ${t.q} SET name = ? WHERE id = ?`);
    // (old name, new name, bucket) → [rows, blocked rows], to move in rn_D.
    const moves = new Map<string, [number, number, number, number, number]>();
    for (const minute of minutes) {
      const lo = minute * MINUTE_MS * KEY_SLOTS;
      for (const [id, name, shape] of scan.all(lo, lo + MINUTE_MS * KEY_SLOTS) as [number, number, number][]) {
        const to = hiddenId(name);
        if (to === name) continue;
        update.run(to, id);
        rows++;
        const bucket = Math.floor(id / bucketMs);
        const key = `${name},${to},${bucket}`;
        const m = moves.get(key) ?? [name, to, bucket, 0, 0];
        m[3]++;
        if (actionByShape.get(shape) === 1) m[4]++;
        moves.set(key, m);
      }
    }
    const take = db.prepare(`UPDATE ${t.rn} SET n = n - ?, blocked = blocked - ? WHERE name = ? AND bucket = ?`);
    const give = db.prepare(
      `INSERT INTO ${t.rn} (name, bucket, n, blocked) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n, blocked = blocked + excluded.blocked`,
    );
    const drop = db.prepare(`DELETE FROM ${t.rn} WHERE name = ? AND bucket = ? AND n <= 0`);
    for (const [from, to, bucket, n, blocked] of moves.values()) {
      take.run(n, blocked, from, bucket);
      drop.run(from, bucket);
      give.run(to, bucket, n, blocked);
    }
  }
  // The self-test's rows have no rollups.
  const checkRows = db.prepare('SELECT id, name FROM check_query WHERE shape IN (SELECT id FROM temp.hide_shapes)').raw().all() as [
    number,
    number,
  ][];
  const updateCheck = db.prepare('UPDATE check_query SET name = ? WHERE id = ?');
  for (const [id, name] of checkRows) {
    const to = hiddenId(name);
    if (to === name) continue;
    updateCheck.run(to, id);
    rows++;
  }
  // A clear name that no row uses any more goes (the rollups list every name a day's rows use).
  const inCheck = db.prepare('SELECT 1 FROM check_query WHERE name = ? LIMIT 1').pluck();
  const inDay = days.map((d) => db.prepare(`SELECT 1 FROM ${dayTables(d).rn} WHERE name = ? LIMIT 1`).pluck());
  const remove = db.prepare('DELETE FROM name_by_id WHERE id = ?');
  let dropped = 0;
  for (const [from, to] of hiddenIds) {
    if (from === to || inCheck.get(from) !== undefined || inDay.some((st) => st.get(from) !== undefined)) continue;
    remove.run(from);
    dropped++;
  }
  db.exec('DROP TABLE temp.hide_shapes');
  return { rows, dropped };
}

/** Copy name_by_id into a fresh table (its pages newly written) and drop the old one (its pages zeroed). */
function rebuildNames(db: Database): void {
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'name_by_id'").pluck().get() as string;
  db.transaction(() => {
    db.exec('DROP TABLE IF EXISTS name_by_id_fresh');
    // The CREATE statement is our own (migration 1); only the table name changes.
    db.exec(sql.replace(/CREATE TABLE name_by_id\b/, 'CREATE TABLE name_by_id_fresh'));
    db.exec(`INSERT INTO name_by_id_fresh SELECT * FROM name_by_id ORDER BY id;
      DROP TABLE name_by_id;
      ALTER TABLE name_by_id_fresh RENAME TO name_by_id;
      CREATE INDEX name_by_id_last_day ON name_by_id (last_day, name);`);
  })();
}

/** Overwrite every page on the free list with zeros: take them all with zero-filled rows, then free them again. */
function zeroFreePages(db: Database): void {
  const free = db.pragma('freelist_count', { simple: true }) as number;
  if (free === 0) return;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.transaction(() => {
    db.exec('CREATE TABLE scrub_fill (b BLOB NOT NULL)');
    // One row per page: a blob that fits in a leaf page without overflow.
    db.prepare(
      'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO scrub_fill (b) SELECT zeroblob(?) FROM n',
    ).run(free, pageSize - 100);
    db.exec('DROP TABLE scrub_fill');
  })();
}
