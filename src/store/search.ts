// Searching the query log: the one module the admin UI and `gatehouse log
// search` use. Results come newest first, a page at a time; the cursor is the
// `id` of the last row of the previous page (keyset paging, stable while the
// writer appends).
//
// How a search stays fast on billions of rows: a time range is a rowid range
// in each day's q_D table. When the search names a client, a domain, a group,
// a category or an action, the day's rollups (rc_D, rn_D, rm_D) say which
// minutes can hold a match, and only those minutes are scanned.
//
// A filter on the name never selects a row of an illegal category (IWF,
// CTIRU), whatever else it says: otherwise whether any row comes back would
// tell whether the text is part of a hidden name (an oracle that rebuilt one a
// character at a time). Their names are hidden anyway (hidden-names.ts); the
// hidden forms are left out of every name match too.
//
// The self-test's own queries (check_query) are left out unless asked for.
//
// A person or device filter (user, device, personId, deviceId) is turned into
// their who ids (who.ts); the day's rw_D says at which addresses and in which
// hours those were seen, and rc_D which minutes of those hours the addresses
// were active: only those minutes are scanned.
import type { Database, Statement } from 'better-sqlite3';
import { findDevices, findPeople } from '../identity/find.js';
import { StoreError } from './errors.js';
import { describeWho, NOBODY, whoIdsFor, type WhoView } from './who.js';
import { HIDDEN_NAME_END, HIDDEN_NAME_PREFIX } from './hidden-names.js';
import { dayOf, dayTables, globalKey, listDays, splitKey, DAY_MS, KEY_SLOTS, MINUTE_MS, NAME_BUCKET_MINUTES } from './partitions.js';
import { TRANSPORT_NAMES } from './batch.js';

export type ActionName = 'allow' | 'block' | 'rewrite';
export const ACTIONS: readonly ActionName[] = ['allow', 'block', 'rewrite'];

export interface SearchFilter {
  /** Inclusive start, ms epoch. */
  from: number;
  /** Exclusive end, ms epoch. */
  to: number;
  /** Exact client address. */
  client?: string;
  /** Group name as logged. */
  group?: string;
  /** Substring of the query name (case-insensitive; names are logged lower-case). */
  domain?: string;
  action?: ActionName;
  /** Category id as logged. */
  category?: string;
  /** A person, as typed: user name, email, part of the display name, or #id (identity/find.ts). */
  user?: string;
  /** A device, as typed: name, host name, asset tag, MAC, or #id. */
  device?: string;
  /** Exactly this person (identity_people.id): the person page. */
  personId?: number;
  /** Exactly this device (identity_devices.id). */
  deviceId?: number;
  /** Page size, 1..10000 (default 100). */
  limit?: number;
  /** Cursor: return rows older than this id (the `next` of the previous page). */
  before?: number;
  /** The self-test's own queries: left out (default), included, or only those. */
  checks?: CheckTraffic;
}

export type CheckTraffic = 'exclude' | 'include' | 'only';
export const CHECK_TRAFFIC: readonly CheckTraffic[] = ['exclude', 'include', 'only'];

export interface LogRow extends WhoView {
  /** Unique and time-ordered: ts * 256 + tie-breaker. */
  id: number;
  ts: number;
  client: string;
  group: string | null;
  name: string;
  qtype: number;
  action: ActionName;
  category: string | null;
  link: string | null;
  rcode: number;
  latencyUs: number;
  cached: boolean;
  /** Why it was decided so (policy.ts reasons: category, schedule, keyword, deny-exception, …); null when not recorded. */
  reason: string | null;
  /** The list that matched, for list-based decisions. */
  list: string | null;
  /** One of the self-test's own queries. */
  check: boolean;
  /** udp, tcp, doh or dot; null for rows logged before the transport was recorded. */
  transport: string | null;
  /** The row's who_by_id id (0: nobody known); the fields of WhoView say who that was. */
  whoId: number;
}

export interface SearchPage {
  rows: LogRow[];
  /** Pass as `before` to get the next page; absent on the last page. */
  next?: number;
}

const MINUTES = 1440;
/** Candidate minutes closer than this are scanned as one range (fewer statements). */
const MERGE_GAP_MINUTES = 2;

export function search(db: Database, filter: SearchFilter): SearchPage {
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new StoreError('GH_ERR_STORE_QUERY', 'limit must be 1..10000');
  if (!Number.isFinite(filter.from) || !Number.isFinite(filter.to) || filter.from >= filter.to) {
    throw new StoreError('GH_ERR_STORE_QUERY', 'the time range is empty or invalid (need from < to)');
  }
  if (filter.action !== undefined && !ACTIONS.includes(filter.action)) {
    throw new StoreError('GH_ERR_STORE_QUERY', `unknown action "${String(filter.action)}" (allow, block or rewrite)`);
  }
  if (filter.before !== undefined && !Number.isSafeInteger(filter.before)) throw new StoreError('GH_ERR_STORE_QUERY', 'bad cursor');
  const checks = filter.checks ?? 'exclude';
  if (!CHECK_TRAFFIC.includes(checks)) throw new StoreError('GH_ERR_STORE_QUERY', `unknown check-traffic choice "${String(checks)}"`);

  const ids = resolveFilter(db, filter);
  if (!ids) return { rows: [] };
  // Global key bounds: [lo, hi).
  const lo = Math.max(0, Math.floor(filter.from)) * KEY_SLOTS;
  const hi = Math.min(Math.ceil(filter.to) * KEY_SLOTS, filter.before ?? Number.MAX_SAFE_INTEGER);
  if (lo >= hi) return { rows: [] };
  const firstDay = dayOf(lo / KEY_SLOTS);
  const lastDay = splitKey(hi - 1).day;
  const days = listDays(db)
    .filter((d) => d >= firstDay && d <= lastDay)
    .reverse();

  const dict = loadDict(db);
  const shapes = loadShapes(db);
  const rows = checks === 'only' ? [] : scanDays(db, ids, days, lo, hi, limit, dict, shapes);
  if (checks !== 'exclude') {
    // The self-test's rows are few (one table, no rollups): merged in by key.
    const found = scanStatement(db, 'check_query').all({
      lo,
      hi,
      client: ids.client,
      names: ids.names,
      shapes: ids.shapes,
      who: ids.who,
      limit,
    }) as RawRow[];
    for (const r of found) rows.push(toRow(0, r, dict, shapes, true, r.id));
    rows.sort((a, b) => b.id - a.id);
    rows.length = Math.min(rows.length, limit);
  }
  // Who each row was: the names as they are now (an erased person has none).
  const who = describeWho(
    db,
    rows.map((r) => r.whoId),
  );
  for (const r of rows) Object.assign(r, who.get(r.whoId) ?? NOBODY);
  return rows.length >= limit ? { rows, next: rows[rows.length - 1].id } : { rows };
}

function scanDays(
  db: Database,
  ids: FilterIds,
  days: number[],
  lo: number,
  hi: number,
  limit: number,
  dict: Map<number, string>,
  shapes: Map<number, ShapeRow>,
): LogRow[] {
  const rows: LogRow[] = [];
  for (const day of days) {
    const dayLo = Math.max(lo - globalKey(day, 0), 0);
    const dayHi = Math.min(hi - globalKey(day, 0), DAY_MS * KEY_SLOTS);
    const minutes = candidateMinutes(
      db,
      day,
      ids,
      Math.floor(dayLo / KEY_SLOTS / MINUTE_MS),
      Math.floor((dayHi - 1) / KEY_SLOTS / MINUTE_MS),
    );
    const scan = scanStatement(db, dayTables(day).q);
    for (const [mFirst, mLast] of rangesNewestFirst(minutes)) {
      const rLo = Math.max(dayLo, mFirst * MINUTE_MS * KEY_SLOTS);
      const rHi = Math.min(dayHi, (mLast + 1) * MINUTE_MS * KEY_SLOTS);
      if (rLo >= rHi) continue;
      const found = scan.all({
        lo: rLo,
        hi: rHi,
        client: ids.client,
        names: ids.names,
        shapes: ids.shapes,
        who: ids.who,
        limit: limit - rows.length,
      }) as RawRow[];
      for (const r of found) rows.push(toRow(day, r, dict, shapes, false));
      if (rows.length >= limit) return rows;
    }
  }
  return rows;
}

const liveIllegal = new WeakMap<Database, (name: string) => boolean>();

/**
 * Whether the lists in use now put a name in an illegal category (the reader
 * thread gets one after every list swap: lists/illegal-names.ts). With it, a
 * name search also leaves out names logged before they were listed.
 */
export function setLiveIllegalTest(db: Database, test: ((name: string) => boolean) | null): void {
  if (test) liveIllegal.set(db, test);
  else liveIllegal.delete(db);
}

/** Filter values turned into ids; null when the filter is absent. Returns null if nothing can match. */
interface FilterIds {
  client: number | null;
  /** 1 when the matching name ids are in temp.search_names, else null. */
  names: number | null;
  group: number | null;
  category: number | null;
  action: number | null;
  /** 1 when the shape ids matching group, category and action are in temp.search_shapes, else null. */
  shapes: number | null;
  /** 1 when the who ids of the person / device filter are in temp.search_who, else null. */
  who: number | null;
}

function resolveFilter(db: Database, f: SearchFilter): FilterIds | null {
  const ids: FilterIds = { client: null, names: null, group: null, category: null, action: null, shapes: null, who: null };
  if (f.client !== undefined && f.client !== '') {
    const id = db.prepare('SELECT id FROM client_by_id WHERE address = ?').pluck().get(f.client) as number | undefined;
    if (id === undefined) return null;
    ids.client = id;
  }
  const byName = f.domain !== undefined && f.domain !== '';
  if (byName) {
    const needle = f.domain!.toLowerCase();
    // A name used in the period was used on or after its first day (last_day only grows).
    // Hidden names (illegal categories) never match, whatever the text; nor do names
    // logged before the lists in use now put them in an illegal category.
    const found = db
      .prepare('SELECT id, name FROM name_by_id WHERE last_day >= ? AND instr(name, ?) > 0 AND NOT (name >= ? AND name < ?)')
      .raw()
      .all(dayOf(Math.max(0, f.from)), needle, HIDDEN_NAME_PREFIX, HIDDEN_NAME_END) as [number, string][];
    const illegalNow = liveIllegal.get(db);
    const list = (illegalNow ? found.filter(([, name]) => !illegalNow(name)) : found).map(([id]) => id);
    if (list.length === 0) return null;
    fillIdSet(db, 'search_names', list);
    ids.names = 1;
  }
  const persons = f.personId !== undefined ? [f.personId] : f.user ? findPeople(db, f.user) : null;
  const devices = f.deviceId !== undefined ? [f.deviceId] : f.device ? findDevices(db, f.device) : null;
  if (persons !== null || devices !== null) {
    if (persons?.length === 0 || devices?.length === 0) return null;
    const list = whoIdsFor(db, persons, devices);
    if (list.length === 0) return null;
    fillIdSet(db, 'search_who', list);
    ids.who = 1;
  }
  const dictId = (kind: string, name: string) =>
    db.prepare('SELECT id FROM dict WHERE kind = ? AND name = ?').pluck().get(kind, name) as number | undefined;
  if (f.group !== undefined && f.group !== '') {
    const id = dictId('group', f.group);
    if (id === undefined) return null;
    ids.group = id;
  }
  if (f.category !== undefined && f.category !== '') {
    const id = dictId('category', f.category);
    if (id === undefined) return null;
    ids.category = id;
  }
  if (f.action !== undefined) ids.action = ACTIONS.indexOf(f.action);
  if (ids.group !== null || ids.category !== null || ids.action !== null || byName) {
    // With a name filter, the shapes of illegal categories are left out: such rows never match a name.
    const list = db
      .prepare(
        `SELECT id FROM shape WHERE (@grp IS NULL OR grp = @grp) AND (@cat IS NULL OR cat = @cat) AND (@action IS NULL OR action = @action)
           AND (@byName = 0 OR cat NOT IN (SELECT id FROM dict WHERE kind = 'category' AND illegal = 1))`,
      )
      .pluck()
      .all({ grp: ids.group, cat: ids.category, action: ids.action, byName: byName ? 1 : 0 }) as number[];
    if (list.length === 0) return null;
    fillIdSet(db, 'search_shapes', list);
    ids.shapes = 1;
  }
  return ids;
}

/**
 * Put a set of ids in a TEMP table (private to this connection; allowed on a
 * read-only one). `IN (SELECT id FROM temp.x)` then probes its primary key,
 * where a bound JSON list would be parsed again for every range scanned.
 * Searches are synchronous, so one table per connection cannot be shared by two.
 */
function fillIdSet(db: Database, table: 'search_names' | 'search_shapes' | 'search_who', ids: number[]): void {
  ensureIdSets(db);
  const insert = db.prepare(`INSERT OR IGNORE INTO temp.${table} (id) VALUES (?)`);
  // Temp tables only: no need for the main database's write lock (db.ts lockBeforeReading).
  db.transaction(() => {
    db.prepare(`DELETE FROM temp.${table}`).run();
    for (const id of ids) insert.run(id);
  }).deferred();
}

function ensureIdSets(db: Database): void {
  db.exec(
    `CREATE TEMP TABLE IF NOT EXISTS search_names (id INTEGER PRIMARY KEY); CREATE TEMP TABLE IF NOT EXISTS search_shapes (id INTEGER PRIMARY KEY);
     CREATE TEMP TABLE IF NOT EXISTS search_who (id INTEGER PRIMARY KEY);`,
  );
}

/** Minutes (0..1439) of `day` that can hold a match, from the rollups. */
function candidateMinutes(db: Database, day: number, ids: FilterIds, first: number, last: number): Uint8Array {
  const t = dayTables(day);
  const out = new Uint8Array(MINUTES);
  out.fill(1, first, last + 1);
  const blockedOnly = ids.action === 1 ? 1 : 0;
  const narrow = (minutes: Iterable<number>, width = 1) => {
    const keep = new Uint8Array(MINUTES);
    for (const m of minutes) keep.fill(1, m * width, m * width + width);
    for (let i = 0; i < MINUTES; i++) out[i] &= keep[i];
  };
  if (ids.client !== null) {
    narrow(
      db
        .prepare(`SELECT minute FROM ${t.rc} WHERE client = ? AND minute BETWEEN ? AND ? AND (? = 0 OR blocked > 0)`)
        .pluck()
        .iterate(ids.client, first, last, blockedOnly) as Iterable<number>,
    );
  }
  if (ids.who !== null) {
    // The addresses and hours the person or device was seen at, then those addresses' active minutes.
    const seen = db
      .prepare(
        `SELECT DISTINCT client, hour FROM ${t.rw} WHERE who IN (SELECT id FROM temp.search_who)
           AND hour BETWEEN ? AND ? AND (? = 0 OR blocked > 0)`,
      )
      .raw()
      .all(Math.floor(first / 60), Math.floor(last / 60), blockedOnly) as [number, number][];
    const minutes = db.prepare(`SELECT minute FROM ${t.rc} WHERE client = ? AND minute BETWEEN ? AND ? AND (? = 0 OR blocked > 0)`).pluck();
    const found: number[] = [];
    for (const [client, hour] of seen)
      for (const m of minutes.iterate(client, Math.max(first, hour * 60), Math.min(last, hour * 60 + 59), blockedOnly) as Iterable<number>)
        found.push(m);
    narrow(found);
  }
  if (ids.names !== null) {
    narrow(
      db
        .prepare(`SELECT DISTINCT bucket FROM ${t.rn} WHERE name IN (SELECT id FROM temp.search_names) AND (? = 0 OR blocked > 0)`)
        .pluck()
        .iterate(blockedOnly) as Iterable<number>,
      NAME_BUCKET_MINUTES,
    );
  }
  if (ids.group !== null || ids.category !== null || ids.action !== null) {
    narrow(
      db
        .prepare(
          `SELECT DISTINCT minute FROM ${t.rm} WHERE minute BETWEEN @first AND @last
             AND (@grp IS NULL OR grp = @grp) AND (@cat IS NULL OR cat = @cat) AND (@action IS NULL OR action = @action)`,
        )
        .pluck()
        .iterate({ first, last, grp: ids.group, cat: ids.category, action: ids.action }) as Iterable<number>,
    );
  }
  return out;
}

/** Runs of candidate minutes, newest first, with small gaps merged. */
function* rangesNewestFirst(minutes: Uint8Array): Generator<[number, number]> {
  let m = MINUTES - 1;
  while (m >= 0) {
    if (!minutes[m]) {
      m--;
      continue;
    }
    const end = m;
    let start = m;
    let gap = 0;
    for (m--; m >= 0; m--) {
      if (minutes[m]) {
        start = m;
        gap = 0;
      } else if (++gap > MERGE_GAP_MINUTES) break;
    }
    yield [start, end];
  }
}

interface RawRow {
  id: number;
  client: string;
  name: string;
  shape: number;
  lat: number;
  who: number;
}

interface ShapeRow {
  qtype: number;
  grp: number;
  action: number;
  cached: number;
  rcode: number;
  cat: number;
  link: number;
  reason: number;
  list: number;
  transport: number;
}

const scans = new WeakMap<Database, Map<string, Statement>>();

/**
 * The scan of one rows table over a key range with the filters: a day's q_D
 * (whose ids are that day's rowids) or check_query (ids are global keys).
 */
function scanStatement(db: Database, table: string): Statement {
  let perDb = scans.get(db);
  if (!perDb) scans.set(db, (perDb = new Map()));
  let st = perDb.get(table);
  if (!st) {
    ensureIdSets(db);
    // q is the outer loop, walked backwards over its rowid range; the joins are lookups.
    // The table name is ours (dayTables or check_query), never input.
    st = db.prepare(
      `SELECT q.id, c.address AS client, n.name, q.shape, q.lat, q.who
         FROM ${table} AS q
         LEFT JOIN client_by_id AS c ON c.id = q.client
         LEFT JOIN name_by_id AS n ON n.id = q.name
        WHERE q.id >= @lo AND q.id < @hi
          AND (@client IS NULL OR q.client = @client)
          AND (@names IS NULL OR q.name IN (SELECT id FROM temp.search_names))
          AND (@shapes IS NULL OR q.shape IN (SELECT id FROM temp.search_shapes))
          AND (@who IS NULL OR q.who IN (SELECT id FROM temp.search_who))
        ORDER BY q.id DESC
        LIMIT @limit`,
    );
    perDb.set(table, st);
  }
  return st;
}

function loadDict(db: Database): Map<number, string> {
  const map = new Map<number, string>();
  for (const r of db.prepare('SELECT id, name FROM dict').all() as { id: number; name: string }[]) map.set(r.id, r.name);
  return map;
}

function loadShapes(db: Database): Map<number, ShapeRow> {
  const map = new Map<number, ShapeRow>();
  for (const r of db
    .prepare('SELECT id, qtype, grp, action, cached, rcode, cat, link, reason, list, transport FROM shape')
    .all() as (ShapeRow & {
    id: number;
  })[]) {
    map.set(r.id, r);
  }
  return map;
}

const UNKNOWN_SHAPE: ShapeRow = { qtype: 0, grp: 0, action: 0, cached: 0, rcode: 0, cat: 0, link: 0, reason: 0, list: 0, transport: 0 };

function toRow(day: number, r: RawRow, dict: Map<number, string>, shapes: Map<number, ShapeRow>, check: boolean, key?: number): LogRow {
  const id = key ?? globalKey(day, r.id);
  const s = shapes.get(r.shape) ?? UNKNOWN_SHAPE;
  return {
    id,
    ts: Math.floor(id / KEY_SLOTS),
    client: r.client ?? '',
    group: dict.get(s.grp) ?? null,
    name: r.name ?? '',
    qtype: s.qtype,
    action: ACTIONS[s.action] ?? 'allow',
    category: s.cat ? (dict.get(s.cat) ?? null) : null,
    link: s.link ? (dict.get(s.link) ?? null) : null,
    rcode: s.rcode,
    latencyUs: r.lat,
    cached: s.cached === 1,
    reason: s.reason ? (dict.get(s.reason) ?? null) : null,
    list: s.list ? (dict.get(s.list) ?? null) : null,
    check,
    transport: TRANSPORT_NAMES[s.transport] || null,
    whoId: r.who,
    ...NOBODY,
  };
}
