// Making deleted text really gone from the file: SQLite leaves deleted bytes
// in place unless told otherwise, and old copies of a row can sit in a page's
// unused space or in free pages after the b-tree has moved it, and in the
// WAL's old page images. Used where a name must leave the disk: illegal
// names logged in the clear (hide-illegal.ts) and an erased person
// (identity/erase.ts). With `secure_delete` on while deleting:
//   - a table that held the text is copied into a fresh table and the old one
//     dropped: every page that ever held it is freed, and zeroed;
//   - every free page is taken once by a table of zero-filled rows and freed
//     again, which zeroes pages freed before secure_delete was on;
//   - the WAL is checkpointed and truncated, so its old page images go too.
// That is proportional to the tables rebuilt and the free pages, not to the
// whole log (a VACUUM would rewrite a year of rows).
import type { Database } from 'better-sqlite3';

/**
 * Copy a table into a fresh one (its pages newly written), drop the old one
 * (its pages zeroed under secure_delete), and put back its indexes, triggers
 * and AUTOINCREMENT counter, so no id is ever given out twice. The statement
 * stays as it was (store/rebuild-table.ts is the migrations' kind, which
 * changes it).
 */
export function rewriteTable(db: Database, table: string): void {
  const schema = db.prepare('SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL').all(table) as {
    type: string;
    name: string;
    sql: string;
  }[];
  const create = schema.find((s) => s.type === 'table');
  if (!create) return;
  const hasSequence = (db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'").pluck().get() as number) > 0;
  const seq = hasSequence
    ? (db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(table) as number | undefined)
    : undefined;
  // Other tables' foreign keys name this one (alert_history → alerts): with the checks on,
  // DROP TABLE would fail; the rows are copied whole, so nothing they point at changes.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    copyTable(db, table, create.sql, schema, seq);
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
  }
}

function copyTable(db: Database, table: string, sql: string, schema: { type: string; sql: string }[], seq: number | undefined): void {
  const fresh = `${table}_fresh`;
  db.transaction(() => {
    // The statements are our own schema (sqlite_master); only the table name changes.
    db.exec(`DROP TABLE IF EXISTS ${fresh}`);
    db.exec(sql.replace(new RegExp(`^CREATE TABLE (IF NOT EXISTS )?"?${table}"?`), `CREATE TABLE ${fresh}`));
    db.exec(`INSERT INTO ${fresh} SELECT * FROM ${table}; DROP TABLE ${table}; ALTER TABLE ${fresh} RENAME TO ${table};`);
    for (const s of schema) if (s.type === 'index' || s.type === 'trigger') db.exec(s.sql);
    if (seq !== undefined) {
      db.prepare('DELETE FROM sqlite_sequence WHERE name = ?').run(table);
      db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table, seq);
    }
  })();
}

/** Overwrite every page on the free list with zeros: take them all with zero-filled rows, then free them again. */
export function zeroFreePages(db: Database): void {
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

/**
 * Fold the WAL into the database and cut it to nothing. Another process (the
 * service) reading at that moment can hold it up: tried a few times; false
 * when it never went through (the service's next checkpoint finishes the job).
 */
export function truncateWal(db: Database, tries = 10): boolean {
  for (let i = 0; i < tries; i++) {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (r?.busy === 0) return true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  return false;
}
