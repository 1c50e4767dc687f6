// The query log is partitioned by UTC day: each day has its own tables, so the
// retention purge drops a day's tables (their pages go to SQLite's free list
// and are reused by new days) instead of deleting rows from one huge table.
//
// Per day D (named YYYYMMDD):
//   q_D   one row per query: (key, client id, name id, shape id, latency, who id). The rowid
//         is the key: (ms since the day's start) * 256 + k,
//         k a tie-breaker for queries in the same millisecond. Time order is rowid order,
//         so a time range is a rowid range and there is no separate time index.
//   rc_D  per (client, minute): queries and blocks. Rollup for dashboards, and the
//         index a client search uses to find the minutes worth scanning.
//   rn_D  per (name, 15-minute bucket): the same for domains (top domains, domain search).
//   rm_D  per (minute, group, category, link, action): counts, cached, latency sum.
//   rw_D  per (who, hour, client, category): queries and blocks of the rows whose person or
//         device was known (who > 0, who_by_id). Small (a few rows per identified device per
//         hour): the index a person or device search uses to find the addresses and hours
//         worth scanning, and the person page's counts.
import type { Database } from 'better-sqlite3';

export const DAY_MS = 86_400_000;
export const MINUTE_MS = 60_000;
/** Width of a domain-rollup bucket, in minutes. */
export const NAME_BUCKET_MINUTES = 15;
/** Domain-rollup buckets per day. */
export const NAME_BUCKETS = 1440 / NAME_BUCKET_MINUTES;
/** Tie-breaker slots per millisecond in a q_D rowid. */
export const KEY_SLOTS = 256;

export interface DayTables {
  day: number;
  q: string;
  rc: string;
  rn: string;
  rm: string;
  rw: string;
}

/** Days since the Unix epoch (UTC) of a millisecond timestamp. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** "20261123" for a day number. */
export function dayLabel(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '');
}

export function dayFromLabel(label: string): number {
  return dayOf(Date.parse(`${label.slice(0, 4)}-${label.slice(4, 6)}-${label.slice(6, 8)}T00:00:00Z`));
}

export function dayTables(day: number): DayTables {
  if (!Number.isInteger(day)) throw new Error(`bad day ${day}`);
  const label = dayLabel(day);
  return { day, q: `q_${label}`, rc: `rc_${label}`, rn: `rn_${label}`, rm: `rm_${label}`, rw: `rw_${label}` };
}

/** Global row key (what search returns as `id` and takes as a cursor): ts * 256 + k. */
export function globalKey(day: number, rowid: number): number {
  return day * DAY_MS * KEY_SLOTS + rowid;
}

export function splitKey(key: number): { day: number; rowid: number; ts: number } {
  const ts = Math.floor(key / KEY_SLOTS);
  const day = dayOf(ts);
  return { day, rowid: key - day * DAY_MS * KEY_SLOTS, ts };
}

export function createDay(db: Database, day: number): DayTables {
  const t = dayTables(day);
  // q: client, name, shape and who are ids (client_by_id, name_by_id, shape, who_by_id; who 0 = nobody
  // known); lat in microseconds. rm, rw: grp, cat, link are dict ids, 0 meaning none.
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${t.q} (
      id INTEGER PRIMARY KEY, client INTEGER NOT NULL, name INTEGER NOT NULL, shape INTEGER NOT NULL, lat INTEGER NOT NULL,
      who INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS ${t.rc} (
      client INTEGER NOT NULL, minute INTEGER NOT NULL, n INTEGER NOT NULL, blocked INTEGER NOT NULL,
      PRIMARY KEY (client, minute)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS ${t.rn} (
      name INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, blocked INTEGER NOT NULL,
      PRIMARY KEY (name, bucket)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS ${t.rm} (
      minute INTEGER NOT NULL, grp INTEGER NOT NULL, cat INTEGER NOT NULL, link INTEGER NOT NULL,
      action INTEGER NOT NULL, n INTEGER NOT NULL, cached INTEGER NOT NULL, lat INTEGER NOT NULL,
      PRIMARY KEY (minute, grp, cat, link, action)) WITHOUT ROWID;
  `);
  createWhoRollup(db, t);
  return t;
}

/** The day's rw table (also made by migration 10 for days logged before it). */
export function createWhoRollup(db: Database, t: DayTables): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${t.rw} (
      who INTEGER NOT NULL, hour INTEGER NOT NULL, client INTEGER NOT NULL, cat INTEGER NOT NULL,
      n INTEGER NOT NULL, blocked INTEGER NOT NULL,
      PRIMARY KEY (who, hour, client, cat)) WITHOUT ROWID;`);
}

/**
 * Rewrite a finished day's rollup tables in key order. While a day is being
 * written their keys arrive in random order and the pages end up about two
 * thirds full; rebuilt in order they are full (about a third smaller).
 */
export function compactDay(db: Database, day: number): void {
  const t = dayTables(day);
  for (const [table, key] of [
    [t.rc, 'client, minute'],
    [t.rn, 'name, bucket'],
    [t.rw, 'who, hour, client, cat'],
  ] as const) {
    const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(table) as string | undefined;
    if (!sql) continue;
    const tmp = `${table}_compact`;
    db.exec(`DROP TABLE IF EXISTS ${tmp}`);
    // The CREATE statement is our own (from createDay); only the table name changes.
    db.exec(sql.replace(`CREATE TABLE ${table}`, `CREATE TABLE ${tmp}`));
    db.exec(`INSERT INTO ${tmp} SELECT * FROM ${table} ORDER BY ${key}; DROP TABLE ${table}; ALTER TABLE ${tmp} RENAME TO ${table};`);
  }
}

/** Days that have a query-log partition, oldest first. */
export function listDays(db: Database): number[] {
  const rows = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'q_[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'")
    .pluck()
    .all() as string[];
  return rows.map((n) => dayFromLabel(n.slice(2))).sort((a, b) => a - b);
}

export function dropDay(db: Database, day: number): void {
  const t = dayTables(day);
  db.exec(
    `DROP TABLE IF EXISTS ${t.q}; DROP TABLE IF EXISTS ${t.rc}; DROP TABLE IF EXISTS ${t.rn}; DROP TABLE IF EXISTS ${t.rm}; DROP TABLE IF EXISTS ${t.rw};`,
  );
}
