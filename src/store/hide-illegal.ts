// Hiding the names of illegal-category rows that were logged in the clear: by a
// version before names were hidden at record time (query-log.ts), or before a
// category was marked illegal in the config. Runs on the main connection at
// start (before the writer thread opens) and after a reload that marks a new
// category illegal; dict.illegal records which categories are done, so a
// start with nothing new costs a few small queries.
//
// Every name such a row uses is replaced by its hidden form (hidden-names.ts)
// in the dictionary, so all the rows of that name are hidden. SQLite leaves
// deleted bytes in place unless told otherwise, and old copies of a row can
// sit in a page's unused space or in free pages after the b-tree has moved
// it, so with anything changed name_by_id (the only table holding names as
// text) is rebuilt, the free pages zeroed and the WAL truncated (scrub.ts).
import type { Database } from 'better-sqlite3';
import { isHiddenName, type NameHider } from './hidden-names.js';
import { dayTables, listDays, KEY_SLOTS, MINUTE_MS, NAME_BUCKET_MINUTES } from './partitions.js';
import { rewriteTable, truncateWal, zeroFreePages } from './scrub.js';

export interface HideResult {
  /** Categories newly marked as hidden. */
  categories: string[];
  /** Names hidden in the dictionary (with every row that uses them). */
  names: number;
}

/** Hide the names of every row in `illegalCategories` (category ids) not hidden yet. */
export function hideIllegalNames(db: Database, illegalCategories: readonly string[], hider: NameHider): HideResult {
  const result: HideResult = { categories: [], names: 0 };
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
    ? (db.prepare('SELECT id FROM shape WHERE cat IN (SELECT value FROM json_each(?))').pluck().all(JSON.stringify(catIds)) as number[])
    : [];
  if (shapes.length === 0) {
    // Nothing was ever logged in these categories.
    db.transaction(mark)();
    return result;
  }
  db.pragma('secure_delete = ON');
  try {
    db.transaction(() => {
      for (const id of namesIn(db, catIds, shapes)) if (hideName(db, id, hider)) result.names++;
      mark();
    })();
    if (result.names > 0) {
      rewriteTable(db, 'name_by_id');
      zeroFreePages(db);
    }
  } finally {
    db.pragma('secure_delete = OFF');
  }
  truncateWal(db, 1);
  return result;
}

/**
 * The names that rows of the given categories (and shapes) use. Only the
 * minutes whose rollups hold such a category are read, so this costs little
 * however long the log is.
 */
function namesIn(db: Database, catIds: number[], shapeIds: number[]): Set<number> {
  db.exec('CREATE TEMP TABLE IF NOT EXISTS hide_shapes (id INTEGER PRIMARY KEY); DELETE FROM temp.hide_shapes;');
  const addShape = db.prepare('INSERT INTO temp.hide_shapes (id) VALUES (?)');
  for (const id of shapeIds) addShape.run(id);
  const names = new Set<number>();
  for (const day of listDays(db)) {
    const t = dayTables(day);
    // Table names come from dayTables (our own format), never from input.
    const minutes = db
      .prepare(`SELECT DISTINCT minute FROM ${t.rm} WHERE cat IN (SELECT value FROM json_each(?)) ORDER BY minute`)
      .pluck()
      .all(JSON.stringify(catIds)) as number[];
    const scan = db
      .prepare(`SELECT DISTINCT name FROM ${t.q} WHERE id >= ? AND id < ? AND shape IN (SELECT id FROM temp.hide_shapes)`)
      .pluck();
    for (const minute of minutes) {
      const lo = minute * MINUTE_MS * KEY_SLOTS;
      for (const id of scan.all(lo, lo + MINUTE_MS * KEY_SLOTS) as number[]) names.add(id);
    }
  }
  // The self-test's rows have no rollups: the table is small and read whole.
  const checkNames = db.prepare('SELECT DISTINCT name FROM check_query WHERE shape IN (SELECT id FROM temp.hide_shapes)').pluck();
  for (const id of checkNames.all() as number[]) names.add(id);
  db.exec('DROP TABLE temp.hide_shapes');
  return names;
}

/**
 * Hide one name. In place, so every row and rollup keeps its id: the rows of
 * the same name logged before it was listed are hidden too (the same site).
 * When the hidden form is in the dictionary already (rows logged hidden since),
 * the clear name's rows and rollups move to it and the clear name goes.
 */
function hideName(db: Database, id: number, hider: NameHider): boolean {
  const found = db.prepare('SELECT name, last_day FROM name_by_id WHERE id = ?').raw().get(id) as [string, number] | undefined;
  if (!found || isHiddenName(found[0])) return false;
  const hidden = hider.hide(found[0]);
  const existing = db.prepare('SELECT id FROM name_by_id WHERE name = ?').pluck().get(hidden) as number | undefined;
  if (existing === undefined) {
    db.prepare('UPDATE name_by_id SET name = ? WHERE id = ?').run(hidden, id);
    return true;
  }
  const bucketKeys = NAME_BUCKET_MINUTES * MINUTE_MS * KEY_SLOTS;
  for (const day of listDays(db)) {
    const t = dayTables(day);
    const buckets = db.prepare(`SELECT bucket, n, blocked FROM ${t.rn} WHERE name = ?`).raw().all(id) as [number, number, number][];
    const move = db.prepare(`UPDATE ${t.q} SET name = ? WHERE id >= ? AND id < ? AND name = ?`);
    const add = db.prepare(
      `INSERT INTO ${t.rn} (name, bucket, n, blocked) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n, blocked = blocked + excluded.blocked`,
    );
    for (const [bucket, n, blocked] of buckets) {
      move.run(existing, bucket * bucketKeys, (bucket + 1) * bucketKeys, id);
      add.run(existing, bucket, n, blocked);
    }
    db.prepare(`DELETE FROM ${t.rn} WHERE name = ?`).run(id);
  }
  db.prepare('UPDATE check_query SET name = ? WHERE name = ?').run(existing, id);
  db.prepare('UPDATE name_by_id SET last_day = max(last_day, ?) WHERE id = ?').run(found[1], existing);
  db.prepare('DELETE FROM name_by_id WHERE id = ?').run(id);
  return true;
}
