// Dashboards and reports from the per-minute rollups (never from the raw rows):
// a time series, breakdowns by group / category / link / action, and top
// domains and clients for any period. A period is [from, to) in ms epoch; it is
// applied at the rollup's resolution (a minute; fifteen minutes for domains).
import type { Database } from 'better-sqlite3';
import { HIDDEN_NAME_END, HIDDEN_NAME_PREFIX } from './hidden-names.js';
import { dayTables, listDays, DAY_MS, MINUTE_MS, NAME_BUCKET_MINUTES } from './partitions.js';
import { ACTIONS } from './search.js';

export interface Period {
  from: number;
  to: number;
}

export interface SeriesPoint {
  /** Start of the minute, ms epoch. */
  at: number;
  queries: number;
  blocked: number;
  cached: number;
  avgLatencyUs: number;
}

export interface Count {
  queries: number;
  blocked: number;
}

export type BreakdownBy = 'group' | 'category' | 'link' | 'action';

/** One day's slice of a period, in minutes of that day: [first, end). */
interface DaySlice {
  day: number;
  first: number;
  end: number;
}

function slices(db: Database, p: Period): DaySlice[] {
  const out: DaySlice[] = [];
  for (const day of listDays(db)) {
    const start = day * DAY_MS;
    if (start + DAY_MS <= p.from || start >= p.to) continue;
    const first = Math.max(0, Math.ceil((p.from - start) / MINUTE_MS));
    const end = Math.min(1440, Math.ceil((p.to - start) / MINUTE_MS));
    if (first < end) out.push({ day, first, end });
  }
  return out;
}

/** Queries per minute (optionally for one group), oldest first. */
export function minuteSeries(db: Database, p: Period & { group?: string }): SeriesPoint[] {
  const grp = p.group === undefined ? null : dictId(db, 'group', p.group);
  if (p.group !== undefined && grp === null) return [];
  const points: SeriesPoint[] = [];
  for (const s of slices(db, p)) {
    const t = dayTables(s.day);
    const rows = db
      .prepare(
        `SELECT minute, sum(n) AS queries, sum(CASE WHEN action = 1 THEN n ELSE 0 END) AS blocked, sum(cached) AS cached, sum(lat) AS lat
           FROM ${t.rm} WHERE minute >= ? AND minute < ? AND (? IS NULL OR grp = ?) GROUP BY minute ORDER BY minute`,
      )
      .all(s.first, s.end, grp, grp) as { minute: number; queries: number; blocked: number; cached: number; lat: number }[];
    for (const r of rows) {
      points.push({
        at: s.day * DAY_MS + r.minute * MINUTE_MS,
        queries: r.queries,
        blocked: r.blocked,
        cached: r.cached,
        avgLatencyUs: Math.round(r.lat / r.queries),
      });
    }
  }
  return points;
}

/** Totals per group, category, link or action over the period, largest first. `key` null = none. */
export function breakdown(db: Database, p: Period & { by: BreakdownBy }): ({ key: string | null } & Count)[] {
  const column = { group: 'grp', category: 'cat', link: 'link', action: 'action' }[p.by];
  const totals = new Map<number, Count>();
  for (const s of slices(db, p)) {
    const t = dayTables(s.day);
    const rows = db
      .prepare(
        `SELECT ${column} AS k, sum(n) AS queries, sum(CASE WHEN action = 1 THEN n ELSE 0 END) AS blocked
           FROM ${t.rm} WHERE minute >= ? AND minute < ? GROUP BY ${column}`,
      )
      .all(s.first, s.end) as ({ k: number } & Count)[];
    for (const r of rows) {
      const c = totals.get(r.k) ?? { queries: 0, blocked: 0 };
      c.queries += r.queries;
      c.blocked += r.blocked;
      totals.set(r.k, c);
    }
  }
  const names = dictNames(db);
  return [...totals]
    .map(([k, c]) => ({ key: p.by === 'action' ? (ACTIONS[k] ?? null) : k === 0 ? null : (names.get(k) ?? null), ...c }))
    .sort((a, b) => b.queries - a.queries);
}

/**
 * The most queried (or, with `blocked`, most blocked) domains over the period.
 * Hidden names (illegal categories, see hidden-names.ts) are left out unless
 * `hidden` is set (the dashboard counts them as withheld).
 */
export function topDomains(
  db: Database,
  p: Period & { limit?: number; blocked?: boolean; hidden?: boolean },
): ({ name: string } & Count)[] {
  // The primary key is (name, bucket): SQL groups in one ordered pass.
  const rows = topIds(
    db,
    p,
    (t) => t.rn,
    'name',
    'bucket',
    (s) => [Math.floor(s.first / NAME_BUCKET_MINUTES), Math.ceil(s.end / NAME_BUCKET_MINUTES)],
    p.hidden
      ? undefined
      : { sql: ' AND name NOT IN (SELECT id FROM name_by_id WHERE name >= ? AND name < ?)', args: [HIDDEN_NAME_PREFIX, HIDDEN_NAME_END] },
  );
  const lookup = db.prepare('SELECT name FROM name_by_id WHERE id = ?').pluck();
  return rows.map(([id, c]) => ({ name: (lookup.get(id) as string | undefined) ?? '', ...c }));
}

/** The clients with the most (or, with `blocked`, most blocked) queries over the period. */
export function topClients(db: Database, p: Period & { limit?: number; blocked?: boolean }): ({ client: string } & Count)[] {
  const rows = topIds(
    db,
    p,
    (t) => t.rc,
    'client',
    'minute',
    (s) => [s.first, s.end],
  );
  const lookup = db.prepare('SELECT address FROM client_by_id WHERE id = ?').pluck();
  return rows.map(([id, c]) => ({ client: (lookup.get(id) as string | undefined) ?? '', ...c }));
}

/** Top ids of a (id, time unit) rollup. Table and column names are ours, never input. */
function topIds(
  db: Database,
  p: Period & { limit?: number; blocked?: boolean },
  table: (t: ReturnType<typeof dayTables>) => string,
  id: 'name' | 'client',
  unit: 'bucket' | 'minute',
  range: (s: DaySlice) => [number, number],
  /** A condition on the rows (our own SQL, values bound). */
  exclude: { sql: string; args: unknown[] } = { sql: '', args: [] },
): [number, Count][] {
  const limit = p.limit ?? 20;
  const blocked = p.blocked ? 1 : 0;
  const order = p.blocked ? 'sum(blocked)' : 'sum(n)';
  const days = slices(db, p);
  const grouped = (t: string) =>
    `SELECT ${id}, sum(n), sum(blocked) FROM ${t} WHERE ${unit} >= ? AND ${unit} < ?${exclude.sql} GROUP BY ${id} HAVING (? = 0 OR sum(blocked) > 0)`;
  const where = (s: DaySlice) => [...range(s), ...exclude.args];
  if (days.length === 1) {
    // One day: SQL keeps only the top rows (a bounded sort), nothing else reaches JavaScript.
    const rows = db
      .prepare(`${grouped(table(dayTables(days[0].day)))} ORDER BY ${order} DESC, ${id} ASC LIMIT ?`)
      .raw()
      .all(...where(days[0]), blocked, limit) as [number, number, number][];
    return rows.map(([i, queries, b]) => [i, { queries, blocked: b }]);
  }
  // Several days: each day's top M, then the exact totals of those candidates.
  // Anything outside every day's top M totals at most the sum of the days' M-th
  // values (`bound`); if the limit-th candidate beats that, the answer is exact
  // without merging every name of every day (7 days: ~1 s instead of ~7 s).
  const m = Math.max(1000, limit * 20);
  const value = (r: [number, number, number]) => (p.blocked ? r[2] : r[1]);
  const candidates = new Set<number>();
  const lists: [number, number, number][][] = [];
  let bound = 0;
  for (const s of days) {
    const rows = db
      .prepare(`${grouped(table(dayTables(s.day)))} ORDER BY ${order} DESC LIMIT ?`)
      .raw()
      // No HAVING here: a name's queries on a day without blocks still count.
      .all(...where(s), 0, m) as [number, number, number][];
    for (const r of rows) candidates.add(r[0]);
    if (rows.length === m) bound += value(rows[m - 1]);
    lists.push(rows);
  }
  if (bound === 0) {
    // Every day was listed in full (a school's clients, say): just add them up.
    const totals = new Map<number, Count>();
    for (const rows of lists) sum(totals, rows);
    return ranked(totals);
  }
  const exact = new Map<number, Count>();
  for (const s of days) {
    const one = db
      .prepare(`SELECT sum(n), sum(blocked) FROM ${table(dayTables(s.day))} WHERE ${id} = ? AND ${unit} >= ? AND ${unit} < ?`)
      .raw();
    const [lo, hi] = range(s);
    for (const c of candidates) {
      const [n, b] = one.get(c, lo, hi) as [number | null, number | null];
      if (!n) continue;
      const t = exact.get(c) ?? { queries: 0, blocked: 0 };
      t.queries += n;
      t.blocked += b ?? 0;
      exact.set(c, t);
    }
  }
  const best = ranked(exact);
  const last = best[limit - 1];
  if (last && (p.blocked ? last[1].blocked : last[1].queries) > bound) return best;
  const totals = new Map<number, Count>();
  for (const s of days) {
    sum(
      totals,
      db
        .prepare(grouped(table(dayTables(s.day))))
        .raw()
        .iterate(...where(s), 0) as Iterable<[number, number, number]>,
    );
  }
  return ranked(totals);

  function ranked(totals: Map<number, Count>): [number, Count][] {
    if (p.blocked) for (const [k, c] of totals) if (c.blocked === 0) totals.delete(k);
    return top(totals, limit, p.blocked ?? false);
  }
}

function sum(totals: Map<number, Count>, rows: Iterable<[number, number, number]>): void {
  for (const [id, n, blocked] of rows) {
    const c = totals.get(id);
    if (c) {
      c.queries += n;
      c.blocked += blocked;
    } else totals.set(id, { queries: n, blocked });
  }
}

function top(totals: Map<number, Count>, limit: number, byBlocked: boolean): [number, Count][] {
  const key = (c: Count) => (byBlocked ? c.blocked : c.queries);
  return [...totals].sort((a, b) => key(b[1]) - key(a[1]) || a[0] - b[0]).slice(0, limit);
}

function dictId(db: Database, kind: string, name: string): number | null {
  return (db.prepare('SELECT id FROM dict WHERE kind = ? AND name = ?').pluck().get(kind, name) as number | undefined) ?? null;
}

function dictNames(db: Database): Map<number, string> {
  return new Map((db.prepare('SELECT id, name FROM dict').raw().all() as [number, string][]).map(([id, name]) => [id, name]));
}
