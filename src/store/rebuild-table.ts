// Changing a table's CHECK constraint (a new role, a new outbox kind): SQLite
// cannot ALTER a constraint, so the table is rebuilt as its documentation says
// (https://www.sqlite.org/lang_altertable.html#otheralter): with foreign keys
// off, create the new table, copy the rows, drop the old one, rename the new
// one, put its indexes and triggers back, and check every foreign key before
// the commit. Runs inside a migration that says `foreignKeys: 'off'`.
import type { Database } from 'better-sqlite3';

/**
 * Rebuild `table` with `createSql` (a CREATE TABLE statement for the same
 * name). Columns present in both are copied by name; indexes and triggers of
 * the old table are recreated as they were. Foreign keys pointing at the table
 * from other tables are checked once the rows are back.
 */
export function rebuildTable(db: Database, table: string, createSql: string): void {
  if (!db.inTransaction) throw new Error('rebuildTable runs inside a migration transaction');
  // With foreign keys on, DROP TABLE would count every row pointing here as broken until the commit, and fail it.
  if (db.pragma('foreign_keys', { simple: true }) !== 0) throw new Error("rebuildTable needs a migration with foreignKeys: 'off'");
  const temp = `${table}__rebuild`;
  // A table once renamed is stored as CREATE TABLE "name"(…): its statement may come back quoted.
  const named = new RegExp(`^(\\s*CREATE TABLE\\s+)(?:${table}\\b|"${table}")`, 'i');
  if (!named.test(createSql)) throw new Error(`rebuildTable: the statement does not create ${table}`);
  const extras = db
    .prepare("SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name")
    .pluck()
    .all(table) as string[];
  const oldColumns = columnsOf(db, table);
  db.exec(createSql.replace(named, `$1${temp}`));
  const shared = columnsOf(db, temp).filter((c) => oldColumns.includes(c));
  const list = shared.map((c) => `"${c}"`).join(', ');
  db.exec(`INSERT INTO ${temp} (${list}) SELECT ${list} FROM ${table}`);
  db.exec(`DROP TABLE ${table}`);
  db.exec(`ALTER TABLE ${temp} RENAME TO ${table}`);
  for (const sql of extras) db.exec(sql);
  const broken = db.pragma('foreign_key_check') as unknown[];
  if (broken.length > 0) throw new Error(`rebuilding ${table} left ${broken.length} foreign key problem(s)`);
}

function columnsOf(db: Database, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[]).slice();
}

/**
 * Add `value` to the `CHECK (column IN (…))` list of `table` (a new role, a new
 * outbox kind), rebuilding the table from its own statement, so whatever other
 * migrations allowed before stays allowed. Runs where rebuildTable does.
 */
export function widenCheck(db: Database, table: string, column: string, value: string): void {
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(table) as string | undefined;
  if (!sql) throw new Error(`widenCheck: no table ${table}`);
  const check = new RegExp(`CHECK\\s*\\(\\s*${column}\\s+IN\\s*\\(([^)]*)\\)\\s*\\)`, 'i').exec(sql);
  if (!check) throw new Error(`widenCheck: ${table}.${column} has no CHECK (… IN (…)) to widen`);
  const quoted = `'${value.replaceAll("'", "''")}'`;
  if (check[1].split(',').some((v) => v.trim() === quoted)) return;
  rebuildTable(db, table, sql.replace(check[0], `CHECK (${column} IN (${check[1].trim()}, ${quoted}))`));
}
