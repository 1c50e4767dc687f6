// Reports' view of the query log over any period: whole local days that have
// a current daily rollup are read from the daily tables (store/daily.ts), and
// whole months of them from their monthly sums (daily-months.ts); the rest
// (today, a day the job has not reached yet, a period that starts or ends
// mid-day) is rolled up from the per-minute tables on the spot. SQL does the
// summing and the ranking, so a year returns a few thousand rows, not millions;
// a report asks only for the parts it shows (per-day traffic, clients, top
// names). Names of groups, categories, links, clients and query names are
// resolved here, so callers get words; hidden (illegal) names are never
// returned, only counted.
import type { Database } from 'better-sqlite3';
import { DAILY_VERSION, localDayOf, localDayStart, rollupSpan, type RollupOptions, type SpanRollup } from './daily.js';
import { HIDDEN_NAME_END, HIDDEN_NAME_PREFIX } from './hidden-names.js';
import { builtMonths, monthOf, ROLLUP_TABLES, type RollupTable } from './daily-months.js';
import { ACTIONS } from './search.js';

export interface PeriodDay {
  /** The local date, days since 1970-01-01. */
  day: number;
  from: number;
  to: number;
  /** Rolled up on the spot (no daily rollup covered it). */
  live: boolean;
  queries: number;
  blocked: number;
  activeMinutes: number;
  minutes: number;
  linkSwitches: number;
  listFailures: number;
}

/** Lookups over the whole period by group, category, link and action. */
export interface PeriodTraffic {
  group: string | null;
  category: string | null;
  link: string | null;
  action: string;
  queries: number;
  cached: number;
  latencyUs: number;
}

/** Lookups of one local day by category and action (the charts by day, week or month). */
export interface PeriodDayTraffic {
  day: number;
  category: string | null;
  action: string;
  queries: number;
}

export interface PeriodClient {
  address: string;
  personId: number;
  deviceId: number;
  group: string | null;
  category: string | null;
  action: string;
  lookups: number;
}

export interface PeriodName {
  name: string;
  queries: number;
  blocked: number;
}

/** What a report reads besides the days and the period's traffic, which every reader gets. */
export interface PeriodOptions extends RollupOptions {
  /** The traffic of each day by category and action (`byDay`). */
  byDay?: boolean;
  /** The counted lookups per client, person and device over the period (`clients`). */
  clients?: boolean;
  /** The `limit` names with the most queries or blocks (`names`). */
  topNames?: { by: 'queries' | 'blocked'; limit: number };
}

export interface PeriodRollup {
  from: number;
  to: number;
  zone: string;
  days: PeriodDay[];
  traffic: PeriodTraffic[];
  /** Empty unless asked for (`byDay`). */
  byDay: PeriodDayTraffic[];
  /** Empty unless asked for (`clients`). */
  clients: PeriodClient[];
  /** The top names asked for, the most first (each day's lists hold 1,000 by queries and 1,000 by blocks), hidden names left out. */
  names: PeriodName[];
  /** Hidden (illegal-category) names among the period's top names: counted, never named (when names are asked for). */
  withheldNames: number;
  /** A name missing from the days' lists had at most this many queries / blocks (0: the lists are complete). */
  namesBound: { queries: number; blocked: number };
  /** Every day's rows carried person and device (identity in the query log). */
  identity: boolean;
  /** Category ids counted per client, on every day of the period. */
  clientCategories: string[];
  /** Where the days were read from: months from their sums (less `minus` days outside the period), other days from the daily tables, the rest rolled up on the spot. */
  read: { months: number; days: number; minus: number; live: number };
}

interface Dicts {
  names: Map<number, string>;
}

function dicts(db: Database): Dicts {
  return { names: new Map((db.prepare('SELECT id, name FROM dict').raw().all() as [number, string][]).map(([id, n]) => [id, n])) };
}

/**
 * The stored days of a period as the tables hold them. A month's sum
 * (daily-months.ts) is read when it holds every day of the period in that
 * month and fewer others: whole, or less the days it holds outside the period
 * (their rows subtracted: the sums are plain additions, so a month less its
 * other days is exactly the days wanted); every other day is read from the
 * daily tables. A year from 2 December to 1 December is then 13 months, one
 * of them less a day.
 */
interface Sources {
  months: number[];
  days: number[];
  minus: number[];
  args: { months: string; first: number; last: number; days: string; minusFirst: number; minusLast: number; minus: string };
  /** The period's rows of a table summed by its keys (keys with no lookups left out). */
  grouped(t: RollupTable): string;
}

function sources(db: Database, stored: number[], zone: string): Sources {
  const have = new Set(stored);
  const byMonth = new Map<number, number[]>();
  for (const day of stored) {
    const m = monthOf(day);
    const list = byMonth.get(m);
    if (list) list.push(day);
    else byMonth.set(m, [day]);
  }
  const built =
    stored.length === 0
      ? new Map<number, Set<number>>()
      : builtMonths(db, zone, DAILY_VERSION, monthOf(stored[0]), stored[stored.length - 1]);
  const months: number[] = [];
  const days: number[] = [];
  const minus: number[] = [];
  for (const [m, list] of byMonth) {
    const held = built.get(m);
    const others = held ? [...held].filter((day) => !have.has(day)) : [];
    if (held && list.every((day) => held.has(day)) && others.length < list.length) {
      months.push(m);
      minus.push(...others.sort((a, b) => a - b));
    } else days.push(...list);
  }
  const range = (list: number[]) => [list[0] ?? 0, list[list.length - 1] ?? -1];
  const [first, last] = range(days);
  const [minusFirst, minusLast] = range(minus);
  return {
    months,
    days,
    minus,
    // The range as well as the list: with only `IN (json_each)` SQLite may scan a whole table of a year's days.
    args: { months: JSON.stringify(months), first, last, days: JSON.stringify(days), minusFirst, minusLast, minus: JSON.stringify(minus) },
    grouped: (t) => {
      const keys = t.keys.join(', ');
      const sums = t.sums.join(', ');
      return `SELECT ${keys}, ${t.sums.map((c) => `sum(${c})`).join(', ')} FROM (
          SELECT ${keys}, ${sums} FROM ${t.monthly} WHERE month IN (SELECT value FROM json_each(@months))
          UNION ALL SELECT ${keys}, ${sums} FROM ${t.daily} WHERE day BETWEEN @first AND @last AND day IN (SELECT value FROM json_each(@days))
          UNION ALL SELECT ${keys}, ${t.sums.map((c) => `-${c}`).join(', ')} FROM ${t.daily}
            WHERE day BETWEEN @minusFirst AND @minusLast AND day IN (SELECT value FROM json_each(@minus)))
        GROUP BY ${keys} HAVING sum(n) > 0`;
    },
  };
}

const [TRAFFIC, NAMES, CLIENTS] = ROLLUP_TABLES;

/** Everything reports read of the query log for [from, to), by local day of `zone`. */
export function readPeriod(db: Database, from: number, to: number, zone: string, opts: PeriodOptions): PeriodRollup {
  const d = dicts(db);
  const name = (id: number) => (id === 0 ? null : (d.names.get(id) ?? null));
  const action = (a: number) => ACTIONS[a] ?? String(a);
  const summaries = new Map(
    (
      db
        .prepare('SELECT * FROM daily_summary WHERE day >= ? AND day <= ? AND zone = ? AND version = ?')
        .all(localDayOf(from, zone), localDayOf(to - 1, zone), zone, DAILY_VERSION) as Record<string, number | string>[]
    ).map((s) => [s.day as number, s]),
  );
  const days: PeriodDay[] = [];
  const stored: number[] = [];
  const live: SpanRollup[] = [];
  const liveDays: number[] = [];
  let identity = true;
  let categories: string[] | null = null;
  const sameCategories = (list: string[]) => {
    categories = categories === null ? list : categories.filter((c) => list.includes(c));
  };
  for (let day = localDayOf(from, zone); ; day++) {
    const dayFrom = localDayStart(day, zone);
    const dayTo = localDayStart(day + 1, zone);
    if (dayFrom >= to) break;
    const s = summaries.get(day);
    const whole = dayFrom >= from && dayTo <= to;
    if (whole && s) {
      stored.push(day);
      identity &&= s.identity === 1;
      sameCategories(JSON.parse(s.client_categories as string) as string[]);
      days.push({
        day,
        from: dayFrom,
        to: dayTo,
        live: false,
        queries: s.queries as number,
        blocked: s.blocked as number,
        activeMinutes: s.active_minutes as number,
        minutes: s.minutes as number,
        linkSwitches: s.link_switches as number,
        listFailures: s.list_failures as number,
      });
    } else {
      const spanFrom = Math.max(from, dayFrom);
      const spanTo = Math.min(to, dayTo);
      const r = rollupSpan(db, spanFrom, spanTo, opts);
      live.push(r);
      liveDays.push(day);
      if (r.queries > 0) identity &&= r.identity;
      sameCategories(r.clientCategories);
      days.push({ day, from: spanFrom, to: spanTo, live: true, ...pick(r) });
    }
  }
  const src = sources(db, stored, zone);

  // Traffic over the period: summed by SQL (whole months from their sums), then the live parts added.
  const traffic = new Map<string, number[]>();
  const addTraffic = (grp: number, cat: number, link: number, act: number, n: number, cached: number, lat: number) => {
    const key = `${grp},${cat},${link},${act}`;
    const t = traffic.get(key);
    if (t) {
      t[4] += n;
      t[5] += cached;
      t[6] += lat;
    } else traffic.set(key, [grp, cat, link, act, n, cached, lat]);
  };
  for (const r of db.prepare(src.grouped(TRAFFIC)).raw().iterate(src.args) as Iterable<
    [number, number, number, number, number, number, number]
  >)
    addTraffic(...r);
  for (const r of live) for (const t of r.traffic) addTraffic(t.grp, t.cat, t.link, t.action, t.n, t.cached, t.lat);
  const trafficRows: PeriodTraffic[] = [...traffic.values()].map(([grp, cat, link, act, n, cached, lat]) => ({
    group: name(grp),
    category: name(cat),
    link: name(link),
    action: action(act),
    queries: n,
    cached,
    latencyUs: lat,
  }));

  // Each day by category and action (a year: 271,560 rows in, 34,000 out, in 50 ms), then the live days.
  const byDay: PeriodDayTraffic[] = [];
  if (opts.byDay) {
    const all = { first: stored[0] ?? 0, last: stored[stored.length - 1] ?? -1, days: JSON.stringify(stored) };
    for (const [day, cat, act, n] of db
      .prepare(
        `SELECT day, cat, action, sum(n) FROM daily_traffic
         WHERE day BETWEEN @first AND @last AND day IN (SELECT value FROM json_each(@days)) GROUP BY day, cat, action`,
      )
      .raw()
      .iterate(all) as Iterable<[number, number, number, number]>)
      byDay.push({ day, category: name(cat), action: action(act), queries: n });
    live.forEach((r, i) => {
      const sums = new Map<string, PeriodDayTraffic>();
      for (const t of r.traffic) {
        const key = `${t.cat},${t.action}`;
        const x = sums.get(key);
        if (x) x.queries += t.n;
        else sums.set(key, { day: liveDays[i], category: name(t.cat), action: action(t.action), queries: t.n });
      }
      byDay.push(...sums.values());
    });
  }

  // Clients: summed over the period by SQL, then the live parts added.
  const clientRows: PeriodClient[] = [];
  if (opts.clients) {
    const clients = new Map<string, [number, number, number, number, number, number, number]>();
    const addClient = (client: number, person: number, device: number, grp: number, cat: number, act: number, n: number) => {
      const key = `${client},${person},${device},${grp},${cat},${act}`;
      const c = clients.get(key);
      if (c) c[6] += n;
      else clients.set(key, [client, person, device, grp, cat, act, n]);
    };
    for (const r of db.prepare(src.grouped(CLIENTS)).raw().iterate(src.args) as Iterable<
      [number, number, number, number, number, number, number]
    >)
      addClient(...r);
    for (const r of live) for (const c of r.clients) addClient(c.client, c.person, c.device, c.grp, c.cat, c.action, c.n);
    const address = db.prepare('SELECT address FROM client_by_id WHERE id = ?').pluck();
    const addresses = new Map<number, string>();
    const addressOf = (id: number) => {
      let a = addresses.get(id);
      if (a === undefined) addresses.set(id, (a = (address.get(id) as string | undefined) ?? ''));
      return a;
    };
    for (const [client, person, device, grp, cat, act, n] of clients.values())
      clientRows.push({
        address: addressOf(client),
        personId: person,
        deviceId: device,
        group: name(grp),
        category: name(cat),
        action: action(act),
        lookups: n,
      });
  }

  // Names: the days' top lists added up; the bound is the sum of the days' cut values.
  const bound = { queries: 0, blocked: 0 };
  for (const day of stored) {
    const s = summaries.get(day)!;
    bound.queries += s.names_cut_n as number;
    bound.blocked += s.names_cut_blocked as number;
  }
  for (const r of live) {
    bound.queries += r.namesCutN;
    bound.blocked += r.namesCutBlocked;
  }
  const names = opts.topNames ? topNames(db, src, live, opts.topNames) : { rows: [], withheld: 0 };
  return {
    from,
    to,
    zone,
    days,
    traffic: trafficRows,
    byDay,
    clients: clientRows,
    names: names.rows,
    withheldNames: names.withheld,
    namesBound: bound,
    identity: identity && days.some((x) => x.queries > 0),
    clientCategories: categories ?? [],
    read: { months: src.months.length, days: src.days.length, minus: src.minus.length, live: live.length },
  };
}

/**
 * The period's names summed in a temporary table (by SQL, the live parts
 * added), then ranked there: the top `limit` by queries or blocks, hidden
 * names left out and counted. The tie-break is the name's text (byte order).
 */
function topNames(
  db: Database,
  src: Sources,
  live: SpanRollup[],
  top: NonNullable<PeriodOptions['topNames']>,
): { rows: PeriodName[]; withheld: number } {
  db.exec('CREATE TEMP TABLE IF NOT EXISTS period_names (name INTEGER PRIMARY KEY, n INTEGER NOT NULL, blocked INTEGER NOT NULL)');
  db.exec('DELETE FROM temp.period_names');
  try {
    db.prepare(`INSERT INTO temp.period_names (name, n, blocked) ${src.grouped(NAMES)}`).run(src.args);
    const add = db.prepare(
      'INSERT INTO temp.period_names (name, n, blocked) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n, blocked = blocked + excluded.blocked',
    );
    for (const r of live) for (const n of r.names) add.run(n.name, n.n, n.blocked);
    const hidden = { from: HIDDEN_NAME_PREFIX, end: HIDDEN_NAME_END };
    // The column ranked by is one of two fixed names, never input.
    const by = top.by === 'blocked' ? 'blocked' : 'n';
    const rows = db
      .prepare(
        `SELECT t.name, p.n, p.blocked FROM temp.period_names p JOIN name_by_id t ON t.id = p.name
         WHERE NOT (t.name >= @from AND t.name < @end) AND p.${by} > 0 ORDER BY p.${by} DESC, t.name LIMIT @limit`,
      )
      .raw()
      .all({ ...hidden, limit: top.limit }) as [string, number, number][];
    const withheld = db
      .prepare('SELECT count(*) FROM temp.period_names p JOIN name_by_id t ON t.id = p.name WHERE t.name >= @from AND t.name < @end')
      .pluck()
      .get(hidden) as number;
    return { rows: rows.map(([n, queries, blocked]) => ({ name: n, queries, blocked })), withheld };
  } finally {
    db.exec('DELETE FROM temp.period_names');
  }
}

function pick(r: SpanRollup): Omit<PeriodDay, 'day' | 'from' | 'to' | 'live'> {
  return {
    queries: r.queries,
    blocked: r.blocked,
    activeMinutes: r.activeMinutes,
    minutes: r.minutes,
    linkSwitches: r.linkSwitches,
    listFailures: r.listFailures,
  };
}
