// Reports' view of the query log over any period: whole local days that have
// a current daily rollup are read from the daily tables (store/daily.ts); the
// rest (today, a day the job has not reached yet, a period that starts or ends
// mid-day) is rolled up from the per-minute tables on the spot. Names of
// groups, categories, links, clients and query names are resolved here, so
// callers get words; hidden (illegal) names are never returned, only counted.
import type { Database } from 'better-sqlite3';
import { DAILY_VERSION, localDayOf, localDayStart, rollupSpan, type RollupOptions, type SpanRollup } from './daily.js';
import { isHiddenName } from './hidden-names.js';
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

export interface PeriodTraffic {
  day: number;
  group: string | null;
  category: string | null;
  link: string | null;
  action: string;
  queries: number;
  cached: number;
  latencyUs: number;
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

export interface PeriodRollup {
  from: number;
  to: number;
  zone: string;
  days: PeriodDay[];
  traffic: PeriodTraffic[];
  clients: PeriodClient[];
  /** The most queried and the most blocked names (each list up to 1,000 a day), hidden names left out. */
  names: PeriodName[];
  /** Hidden (illegal-category) names among the top names: counted, never named. */
  withheldNames: number;
  /** A name missing from `names` had at most this many queries / blocks (0: the lists are complete). */
  namesBound: { queries: number; blocked: number };
  /** Every day's rows carried person and device (identity in the query log). */
  identity: boolean;
  /** Category ids counted per client, on every day of the period. */
  clientCategories: string[];
}

interface Dicts {
  names: Map<number, string>;
}

function dicts(db: Database): Dicts {
  return { names: new Map((db.prepare('SELECT id, name FROM dict').raw().all() as [number, string][]).map(([id, n]) => [id, n])) };
}

/** Everything reports read of the query log for [from, to), by local day of `zone`. */
export function readPeriod(db: Database, from: number, to: number, zone: string, opts: RollupOptions): PeriodRollup {
  const d = dicts(db);
  const name = (id: number) => (id === 0 ? null : (d.names.get(id) ?? null));
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

  // The range as well as the list: with only `IN (json_each)` SQLite may scan a whole table of a year's days.
  const storedRange = [stored[0] ?? 0, stored[stored.length - 1] ?? -1, JSON.stringify(stored)] as const;
  const traffic: PeriodTraffic[] = [];
  const addTraffic = (day: number, grp: number, cat: number, link: number, action: number, n: number, cached: number, lat: number) =>
    traffic.push({
      day,
      group: name(grp),
      category: name(cat),
      link: name(link),
      action: ACTIONS[action] ?? String(action),
      queries: n,
      cached,
      latencyUs: lat,
    });
  for (const [day, grp, cat, link, action, n, cached, lat] of db
    .prepare(
      'SELECT day, grp, cat, link, action, n, cached, lat FROM daily_traffic WHERE day BETWEEN ? AND ? AND day IN (SELECT value FROM json_each(?))',
    )
    .raw()
    .iterate(...storedRange) as Iterable<number[]>)
    addTraffic(day, grp, cat, link, action, n, cached, lat);
  live.forEach((r, i) => {
    for (const t of r.traffic) addTraffic(liveDays[i], t.grp, t.cat, t.link, t.action, t.n, t.cached, t.lat);
  });

  // Clients: summed over the period by SQL for the stored days, then the live parts added.
  const clients = new Map<string, [number, number, number, number, number, number, number]>();
  const addClient = (client: number, person: number, device: number, grp: number, cat: number, action: number, n: number) => {
    const key = `${client},${person},${device},${grp},${cat},${action}`;
    const c = clients.get(key);
    if (c) c[6] += n;
    else clients.set(key, [client, person, device, grp, cat, action, n]);
  };
  for (const r of db
    .prepare(
      `SELECT client, person, device, grp, cat, action, sum(n) FROM daily_clients WHERE day BETWEEN ? AND ? AND day IN (SELECT value FROM json_each(?))
       GROUP BY client, person, device, grp, cat, action`,
    )
    .raw()
    .iterate(...storedRange) as Iterable<[number, number, number, number, number, number, number]>)
    addClient(...r);
  for (const r of live) for (const c of r.clients) addClient(c.client, c.person, c.device, c.grp, c.cat, c.action, c.n);
  const address = db.prepare('SELECT address FROM client_by_id WHERE id = ?').pluck();
  const clientRows: PeriodClient[] = [...clients.values()].map(([client, person, device, grp, cat, action, n]) => ({
    address: (address.get(client) as string | undefined) ?? '',
    personId: person,
    deviceId: device,
    group: name(grp),
    category: name(cat),
    action: ACTIONS[action] ?? String(action),
    lookups: n,
  }));

  // Names: the days' top lists added up; the bound is the sum of the days' cut values.
  const names = new Map<number, [number, number]>();
  const addName = (id: number, n: number, b: number) => {
    const x = names.get(id);
    if (x) {
      x[0] += n;
      x[1] += b;
    } else names.set(id, [n, b]);
  };
  for (const [id, n, b] of db
    .prepare(
      'SELECT name, sum(n), sum(blocked) FROM daily_names WHERE day BETWEEN ? AND ? AND day IN (SELECT value FROM json_each(?)) GROUP BY name',
    )
    .raw()
    .iterate(...storedRange) as Iterable<[number, number, number]>)
    addName(id, n, b);
  for (const r of live) for (const n of r.names) addName(n.name, n.n, n.blocked);
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
  const text = db.prepare('SELECT name FROM name_by_id WHERE id = ?').pluck();
  const nameRows: PeriodName[] = [];
  let withheld = 0;
  for (const [id, [n, b]] of names) {
    const t = text.get(id) as string | undefined;
    if (t === undefined) continue;
    if (isHiddenName(t)) withheld++;
    else nameRows.push({ name: t, queries: n, blocked: b });
  }
  return {
    from,
    to,
    zone,
    days,
    traffic,
    clients: clientRows,
    names: nameRows,
    withheldNames: withheld,
    namesBound: bound,
    identity: identity && days.some((x) => x.queries > 0),
    clientCategories: categories ?? [],
  };
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
