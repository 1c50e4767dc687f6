// Daily rollups: each finished local day of the query log turned into a few
// compact tables, so a report over any period up to a year reads a few
// thousand rows instead of scanning billions (a year of per-minute rollups is
// 500,000 minutes × shapes; a year of rows is ~2 billion).
//
// Days are the school's local days (reports.timezone), not the UTC days of the
// partitions: a weekly report runs Monday 00:00 to Monday 00:00 in Europe/London,
// which in summer starts at 23:00 UTC the day before. A local day is cut out of
// one or two UTC partitions by minute (rm_D), 15-minute bucket (rn_D) and rowid
// range (q_D), so zones whose offset is a multiple of 15 minutes cut exactly.
//
// Per local day L:
//   daily_traffic  (L, group, category, link, action): queries, cached, latency sum (from rm_D)
//   daily_names    (L, name): queries, blocked, for the day's top 1,000 names by
//                  queries and by blocks (from rn_D); hidden (illegal) names stay hidden
//   daily_clients  (L, client, person, device, group, category, action): lookups in
//                  safeguarding-relevant categories (blocks, and help-service lookups),
//                  from one scan of q_D; person and device come from the row's columns
//                  when the query log has them (identity), else 0
//   daily_summary  (L): totals, minutes with traffic, link switches, list refresh
//                  failures, the top-list cut values, and how it was built
// and, once all of a month's days are built, their sums by month (daily-months.ts).
// The self-test's own queries are in check_query, not q_D, so in none of these.
import type { Database } from 'better-sqlite3';
import { localParts, wallToInstant } from '../admin/views/time.js';
import { dayOf, dayTables, DAY_MS, KEY_SLOTS, MINUTE_MS, NAME_BUCKET_MINUTES } from './partitions.js';
import { deleteMonths, ROLLUP_TABLES } from './daily-months.js';

/** Bump when what a day's summary holds changes: days built by an older version are built again. */
export const DAILY_VERSION = 1;
/** Names kept per day, by queries and by blocks. */
export const DAILY_TOP_NAMES = 1000;

export const dailySchemaSql = `
  -- Daily rollups (store/daily.ts). day = the local date (reports.timezone) as days since 1970-01-01.
  CREATE TABLE daily_traffic (
    day INTEGER NOT NULL, grp INTEGER NOT NULL, cat INTEGER NOT NULL, link INTEGER NOT NULL, action INTEGER NOT NULL,
    n INTEGER NOT NULL, cached INTEGER NOT NULL, lat INTEGER NOT NULL,
    PRIMARY KEY (day, grp, cat, link, action)) WITHOUT ROWID;
  CREATE TABLE daily_names (
    day INTEGER NOT NULL, name INTEGER NOT NULL, n INTEGER NOT NULL, blocked INTEGER NOT NULL,
    PRIMARY KEY (day, name)) WITHOUT ROWID;
  CREATE TABLE daily_clients (
    day INTEGER NOT NULL, client INTEGER NOT NULL, person INTEGER NOT NULL, device INTEGER NOT NULL,
    grp INTEGER NOT NULL, cat INTEGER NOT NULL, action INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (day, client, person, device, grp, cat, action)) WITHOUT ROWID;
  CREATE TABLE daily_summary (
    day INTEGER PRIMARY KEY,
    zone TEXT NOT NULL,
    version INTEGER NOT NULL,
    built_at INTEGER NOT NULL,
    build_ms INTEGER NOT NULL,
    queries INTEGER NOT NULL,
    blocked INTEGER NOT NULL,
    active_minutes INTEGER NOT NULL,
    minutes INTEGER NOT NULL,
    link_switches INTEGER NOT NULL,
    list_failures INTEGER NOT NULL,
    -- The DAILY_TOP_NAMES-th values: a name left out of the day's top lists had at most these.
    names_cut_n INTEGER NOT NULL,
    names_cut_blocked INTEGER NOT NULL,
    -- JSON array of the category ids daily_clients counted that day.
    client_categories TEXT NOT NULL,
    -- 1 when the query log had person and device columns.
    identity INTEGER NOT NULL
  );
`;

/** Days since 1970-01-01 of the local calendar date of an instant. */
export function localDayOf(ms: number, zone: string): number {
  const p = localParts(ms, zone);
  return Date.UTC(p.year, p.month - 1, p.day) / DAY_MS;
}

/** The instant a local day starts (local midnight; the hour after if the clocks skip it). */
export function localDayStart(day: number, zone: string): number {
  return wallToInstant(day * DAY_MS, zone);
}

export interface ClientRow {
  client: number;
  person: number;
  device: number;
  grp: number;
  cat: number;
  action: number;
  n: number;
}

export interface TrafficRow {
  grp: number;
  cat: number;
  link: number;
  action: number;
  n: number;
  cached: number;
  lat: number;
}

export interface NameRow {
  name: number;
  n: number;
  blocked: number;
}

/** What the rollup of a span of time holds (one day, or the live part of a report's period). */
export interface SpanRollup {
  traffic: TrafficRow[];
  names: NameRow[];
  namesCutN: number;
  namesCutBlocked: number;
  clients: ClientRow[];
  queries: number;
  blocked: number;
  activeMinutes: number;
  minutes: number;
  linkSwitches: number;
  listFailures: number;
  clientCategories: string[];
  identity: boolean;
}

export interface RollupOptions {
  /** Category ids whose lookups are counted per client (blocks in them; every help-service lookup). */
  clientCategories: readonly string[];
}

/** One UTC partition's part of [from, to): minutes [first, end) of partition `day`. */
interface Piece {
  day: number;
  first: number;
  end: number;
}

function pieces(db: Database, from: number, to: number): Piece[] {
  const out: Piece[] = [];
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck();
  for (let day = dayOf(from); day * DAY_MS < to; day++) {
    const start = day * DAY_MS;
    const first = Math.max(0, Math.ceil((from - start) / MINUTE_MS));
    const end = Math.min(1440, Math.ceil((to - start) / MINUTE_MS));
    if (first < end && exists.get(dayTables(day).q)) out.push({ day, first, end });
  }
  return out;
}

/** Whether a query-log day table has the identity columns (person, device). */
function identityColumns(db: Database, table: string): boolean {
  const cols = new Set(db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[]);
  return cols.has('person') && cols.has('device');
}

function dictIds(db: Database, kind: string, names: readonly string[]): number[] {
  if (names.length === 0) return [];
  return db
    .prepare('SELECT id FROM dict WHERE kind = ? AND name IN (SELECT value FROM json_each(?))')
    .pluck()
    .all(kind, JSON.stringify(names)) as number[];
}

/**
 * Roll up [from, to) (minute resolution; 15 minutes for names) from the
 * partitions. Read-only: used by the daily job for whole days and by reports
 * for the part of a period no day summary covers yet (today).
 */
export function rollupSpan(db: Database, from: number, to: number, opts: RollupOptions): SpanRollup {
  const parts = pieces(db, from, to);
  const traffic = new Map<string, TrafficRow>();
  const active = new Set<number>();
  let queries = 0;
  let blocked = 0;
  let identity = parts.length > 0;
  for (const p of parts) {
    const t = dayTables(p.day);
    const rows = db
      .prepare(`SELECT minute, grp, cat, link, action, n, cached, lat FROM ${t.rm} WHERE minute >= ? AND minute < ?`)
      .raw()
      .iterate(p.first, p.end) as Iterable<number[]>;
    for (const [minute, grp, cat, link, action, n, cached, lat] of rows) {
      active.add(p.day * 1440 + minute);
      queries += n;
      if (action === 1) blocked += n;
      const key = `${grp},${cat},${link},${action}`;
      const r = traffic.get(key);
      if (r) {
        r.n += n;
        r.cached += cached;
        r.lat += lat;
      } else traffic.set(key, { grp, cat, link, action, n, cached, lat });
    }
    identity &&= identityColumns(db, t.q);
  }
  const names = topNames(db, parts);
  const clients = clientRows(db, parts, opts.clientCategories, identity);
  const count = (sql: string) => db.prepare(sql).pluck().get(from, to) as number;
  return {
    traffic: [...traffic.values()],
    ...names,
    clients,
    queries,
    blocked,
    activeMinutes: active.size,
    minutes: Math.round((to - from) / MINUTE_MS),
    linkSwitches: count('SELECT count(*) FROM link_switch WHERE at >= ? AND at < ?'),
    listFailures: count('SELECT count(*) FROM list_refresh WHERE ok = 0 AND at >= ? AND at < ?'),
    clientCategories: [...opts.clientCategories],
    identity,
  };
}

/** The top names by queries and by blocks over the pieces, with the cut values. */
function topNames(db: Database, parts: Piece[]): { names: NameRow[]; namesCutN: number; namesCutBlocked: number } {
  if (parts.length === 0) return { names: [], namesCutN: 0, namesCutBlocked: 0 };
  const union = parts
    .map((p) => `SELECT name, n, blocked FROM ${dayTables(p.day).rn} WHERE bucket >= ? AND bucket < ?`)
    .join(' UNION ALL ');
  const args = parts.flatMap((p) => [Math.floor(p.first / NAME_BUCKET_MINUTES), Math.ceil(p.end / NAME_BUCKET_MINUTES)]);
  // One partition is grouped in key order; two are merged first (the 1-2 s of a nightly job at nice 19).
  db.exec('CREATE TEMP TABLE IF NOT EXISTS span_names (name INTEGER PRIMARY KEY, n INTEGER NOT NULL, blocked INTEGER NOT NULL)');
  db.exec('DELETE FROM temp.span_names');
  db.prepare(`INSERT INTO temp.span_names SELECT name, sum(n), sum(blocked) FROM (${union}) GROUP BY name`).run(...args);
  const top = (order: string) =>
    db
      .prepare(`SELECT name, n, blocked FROM temp.span_names ORDER BY ${order} DESC, name LIMIT ?`)
      .raw()
      .all(DAILY_TOP_NAMES + 1) as [number, number, number][];
  const byN = top('n');
  const byBlocked = top('blocked');
  const kept = new Map<number, NameRow>();
  for (const [name, n, b] of [...byN.slice(0, DAILY_TOP_NAMES), ...byBlocked.slice(0, DAILY_TOP_NAMES)])
    if (n > 0) kept.set(name, { name, n, blocked: b });
  // A name outside a list had at most the value of the first one left out.
  const cutN = byN.length > DAILY_TOP_NAMES ? byN[DAILY_TOP_NAMES][1] : 0;
  const cutB = byBlocked.length > DAILY_TOP_NAMES ? byBlocked[DAILY_TOP_NAMES][2] : 0;
  db.exec('DELETE FROM temp.span_names');
  return { names: [...kept.values()].filter((r) => r.blocked > 0 || r.n > 0), namesCutN: cutN, namesCutBlocked: cutB };
}

/** Lookups per client (and person, device) in the counted categories: blocks, and any action for help services. */
function clientRows(db: Database, parts: Piece[], categories: readonly string[], identity: boolean): ClientRow[] {
  const cats = dictIds(db, 'category', categories);
  if (parts.length === 0 || cats.length === 0) return [];
  const help = dictIds(db, 'category', ['help-services']);
  const shapes = new Map<number, { grp: number; cat: number; action: number }>();
  for (const [id, grp, cat, action] of db
    .prepare(
      `SELECT id, grp, cat, action FROM shape WHERE cat IN (SELECT value FROM json_each(?)) AND (action = 1 OR cat IN (SELECT value FROM json_each(?)))`,
    )
    .raw()
    .all(JSON.stringify(cats), JSON.stringify(help)) as number[][])
    shapes.set(id, { grp, cat, action });
  if (shapes.size === 0) return [];
  db.exec('CREATE TEMP TABLE IF NOT EXISTS span_shapes (id INTEGER PRIMARY KEY)');
  db.exec('DELETE FROM temp.span_shapes');
  const add = db.prepare('INSERT INTO temp.span_shapes (id) VALUES (?)');
  for (const id of shapes.keys()) add.run(id);
  const out = new Map<string, ClientRow>();
  const who = identity ? 'person, device' : '0, 0';
  const by = identity ? 'client, person, device, shape' : 'client, shape';
  for (const p of parts) {
    const t = dayTables(p.day);
    // One pass over the piece's rows (a rowid range); only the counted shapes are grouped.
    const rows = db
      .prepare(`SELECT client, ${who}, shape, count(*) FROM ${t.q} WHERE id >= ? AND id < ? AND shape IN temp.span_shapes GROUP BY ${by}`)
      .raw()
      .iterate(p.first * MINUTE_MS * KEY_SLOTS, p.end * MINUTE_MS * KEY_SLOTS) as Iterable<number[]>;
    for (const [client, person, device, shape, n] of rows) {
      const s = shapes.get(shape)!;
      const key = `${client},${person},${device},${s.grp},${s.cat},${s.action}`;
      const r = out.get(key);
      if (r) r.n += n;
      else out.set(key, { client, person: person ?? 0, device: device ?? 0, grp: s.grp, cat: s.cat, action: s.action, n });
    }
  }
  db.exec('DELETE FROM temp.span_shapes');
  return [...out.values()];
}

/** Replace one local day's rollup with `r` (one transaction). */
export function storeDay(db: Database, day: number, zone: string, r: SpanRollup, buildMs: number, now: number): void {
  db.transaction(() => {
    deleteDays(db, day, day);
    const traffic = db.prepare('INSERT INTO daily_traffic (day, grp, cat, link, action, n, cached, lat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const t of r.traffic) traffic.run(day, t.grp, t.cat, t.link, t.action, t.n, t.cached, t.lat);
    const names = db.prepare('INSERT INTO daily_names (day, name, n, blocked) VALUES (?, ?, ?, ?)');
    for (const n of r.names) names.run(day, n.name, n.n, n.blocked);
    const clients = db.prepare(
      'INSERT INTO daily_clients (day, client, person, device, grp, cat, action, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (const c of r.clients) clients.run(day, c.client, c.person, c.device, c.grp, c.cat, c.action, c.n);
    db.prepare(
      `INSERT INTO daily_summary (day, zone, version, built_at, build_ms, queries, blocked, active_minutes, minutes, link_switches,
         list_failures, names_cut_n, names_cut_blocked, client_categories, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      day,
      zone,
      DAILY_VERSION,
      now,
      Math.round(buildMs),
      r.queries,
      r.blocked,
      r.activeMinutes,
      r.minutes,
      r.linkSwitches,
      r.listFailures,
      r.namesCutN,
      r.namesCutBlocked,
      JSON.stringify(r.clientCategories),
      r.identity ? 1 : 0,
    );
  })();
}

/** Delete the rollups of local days first..last (inclusive), and the monthly sums that held them. */
export function deleteDays(db: Database, first: number, last: number): void {
  for (const table of [...ROLLUP_TABLES.map((t) => t.daily), 'daily_summary'])
    db.prepare(`DELETE FROM ${table} WHERE day >= ? AND day <= ?`).run(first, last);
  deleteMonths(db, first, last);
}

/**
 * Retention (called in the writer's purge transaction): the rollups of every
 * local day that starts before the cutoff go, so nothing older is kept; the
 * day the cutoff falls in is rolled up again by the job from the rows left.
 */
export function purgeDaily(db: Database, cutoff: number): void {
  if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'daily_summary'").get()) return;
  const zones = db.prepare('SELECT DISTINCT zone FROM daily_summary').pluck().all() as string[];
  // A day starts before the cutoff if its local date is on or before the cutoff's, in its own zone.
  if (zones.length === 0) return;
  deleteDays(db, -1e9, Math.max(...zones.map((zone) => localDayOf(cutoff, zone))));
}

export interface DayToBuild {
  day: number;
  from: number;
  to: number;
}

/**
 * Local days with query-log data that have finished (by `now`) and have no
 * current rollup: never built, built by an older version or in another zone.
 */
export function daysToBuild(db: Database, zone: string, now: number, partitions: readonly number[]): DayToBuild[] {
  if (partitions.length === 0) return [];
  const built = new Map(
    (db.prepare('SELECT day, zone, version FROM daily_summary').raw().all() as [number, string, number][]).map(([d, z, v]) => [
      d,
      z === zone && v === DAILY_VERSION,
    ]),
  );
  const first = localDayOf(partitions[0] * DAY_MS, zone);
  const last = localDayOf((partitions[partitions.length - 1] + 1) * DAY_MS - 1, zone);
  const out: DayToBuild[] = [];
  for (let day = first; day <= last; day++) {
    const from = localDayStart(day, zone);
    const to = localDayStart(day + 1, zone);
    if (to > now) break;
    if (built.get(day) === true) continue;
    const hasData = partitions.includes(dayOf(from)) || partitions.includes(dayOf(to - 1));
    if (hasData) out.push({ day, from, to });
  }
  return out;
}
