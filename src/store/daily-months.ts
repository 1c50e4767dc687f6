// Monthly sums of the daily rollups (store/daily.ts), so a report over a year
// reads 12 months and the days at its edges instead of 365 days of rows. A
// year of the per-client table alone is over a million rows at 5 million
// queries a day (3,000 clients with a safeguarding-relevant lookup each day):
// grouping them took a second; 12 months of them and a month of edge days take
// a tenth of that.
//
// A month is a local calendar month of the days (reports.timezone), keyed by
// its first day (days since 1970-01-01, as the daily tables key days). Its
// rows are the sums of the rows of the days it holds (every day of the month
// with a current rollup when it was built; its summary lists them), table by
// table, under the same keys (the names' sums are sums of each day's top
// lists, exactly what adding up the days gives; their cut values stay per day
// in daily_summary). Any change to one of a month's days (a day built or built
// again, a day purged) deletes the month, and the job sums it again after its
// days, so a month that exists always equals the days it lists: the current
// month is summed again each night, and the oldest after each retention purge.
// A reader that finds no month reads the days instead.
import type { Database } from 'better-sqlite3';
import { DAY_MS } from './partitions.js';

/** The daily tables, their monthly sums, and their columns: keys are grouped, values summed. */
export const ROLLUP_TABLES = [
  { daily: 'daily_traffic', monthly: 'monthly_traffic', keys: ['grp', 'cat', 'link', 'action'], sums: ['n', 'cached', 'lat'] },
  { daily: 'daily_names', monthly: 'monthly_names', keys: ['name'], sums: ['n', 'blocked'] },
  {
    daily: 'daily_clients',
    monthly: 'monthly_clients',
    keys: ['client', 'person', 'device', 'grp', 'cat', 'action'],
    sums: ['n'],
  },
] as const;

export type RollupTable = (typeof ROLLUP_TABLES)[number];

export const monthlySchemaSql = `
  -- Monthly sums of the daily rollups (store/daily-months.ts). month = the local month's first day, days since 1970-01-01.
  CREATE TABLE monthly_traffic (
    month INTEGER NOT NULL, grp INTEGER NOT NULL, cat INTEGER NOT NULL, link INTEGER NOT NULL, action INTEGER NOT NULL,
    n INTEGER NOT NULL, cached INTEGER NOT NULL, lat INTEGER NOT NULL,
    PRIMARY KEY (month, grp, cat, link, action)) WITHOUT ROWID;
  CREATE TABLE monthly_names (
    month INTEGER NOT NULL, name INTEGER NOT NULL, n INTEGER NOT NULL, blocked INTEGER NOT NULL,
    PRIMARY KEY (month, name)) WITHOUT ROWID;
  CREATE TABLE monthly_clients (
    month INTEGER NOT NULL, client INTEGER NOT NULL, person INTEGER NOT NULL, device INTEGER NOT NULL,
    grp INTEGER NOT NULL, cat INTEGER NOT NULL, action INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (month, client, person, device, grp, cat, action)) WITHOUT ROWID;
  -- A month is there (even with no rows in a table) when its summary is.
  CREATE TABLE monthly_summary (
    month INTEGER PRIMARY KEY,
    -- JSON array of the days summed (each with a current daily rollup then).
    days TEXT NOT NULL,
    zone TEXT NOT NULL,
    version INTEGER NOT NULL,
    built_at INTEGER NOT NULL,
    build_ms INTEGER NOT NULL
  );
`;

/** The first day of the month a day is in. */
export function monthOf(day: number): number {
  const d = new Date(day * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / DAY_MS;
}

/** The first day of the month after. */
export function nextMonth(month: number): number {
  const d = new Date(month * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / DAY_MS;
}

/** Delete the months that hold any of the days first..last (inclusive): they no longer equal their days. */
export function deleteMonths(db: Database, first: number, last: number): void {
  // A range from the distant past (the retention purge's) starts before any month.
  const from = first < -100_000 ? first : monthOf(first);
  for (const table of [...ROLLUP_TABLES.map((t) => t.monthly), 'monthly_summary'])
    db.prepare(`DELETE FROM ${table} WHERE month >= ? AND month <= ?`).run(from, last);
}

/**
 * Sum every month that has days with a current rollup (in `zone`, at
 * `version`) and no current sum. The daily job calls this after the days it
 * built; returns the months summed.
 */
export function buildMonths(db: Database, zone: string, version: number, now: number): number[] {
  const days = db
    .prepare('SELECT day FROM daily_summary WHERE zone = ? AND version = ? ORDER BY day')
    .pluck()
    .all(zone, version) as number[];
  const byMonth = new Map<number, number[]>();
  for (const day of days) {
    const list = byMonth.get(monthOf(day));
    if (list) list.push(day);
    else byMonth.set(monthOf(day), [day]);
  }
  const current = new Set(
    db.prepare('SELECT month FROM monthly_summary WHERE zone = ? AND version = ?').pluck().all(zone, version) as number[],
  );
  const built: number[] = [];
  for (const [month, list] of byMonth) {
    if (current.has(month)) continue;
    const started = performance.now();
    // The days listed only: the month may also hold rows of days built in another zone or version.
    const args = { month, first: list[0], last: list[list.length - 1], days: JSON.stringify(list) };
    db.transaction(() => {
      deleteMonths(db, month, month);
      for (const t of ROLLUP_TABLES)
        db.prepare(
          `INSERT INTO ${t.monthly} (month, ${t.keys.join(', ')}, ${t.sums.join(', ')})
           SELECT @month, ${t.keys.join(', ')}, ${t.sums.map((c) => `sum(${c})`).join(', ')} FROM ${t.daily}
           WHERE day BETWEEN @first AND @last AND day IN (SELECT value FROM json_each(@days)) GROUP BY ${t.keys.join(', ')}`,
        ).run(args);
      db.prepare('INSERT INTO monthly_summary (month, days, zone, version, built_at, build_ms) VALUES (?, ?, ?, ?, ?, ?)').run(
        month,
        args.days,
        zone,
        version,
        now,
        Math.round(performance.now() - started),
      );
    })();
    built.push(month);
  }
  return built;
}

/** The months of `zone` at `version` that are summed, among those starting in first..last, with the days each holds. */
export function builtMonths(db: Database, zone: string, version: number, first: number, last: number): Map<number, Set<number>> {
  const rows = db
    .prepare('SELECT month, days FROM monthly_summary WHERE month >= ? AND month <= ? AND zone = ? AND version = ?')
    .raw()
    .all(first, last, zone, version) as [number, string][];
  return new Map(rows.map(([month, days]) => [month, new Set(JSON.parse(days) as number[])]));
}
