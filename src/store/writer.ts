// The database side of the query log: turns batches into rows of the day
// partitions and their rollups, one transaction per batch, with prepared
// statements only. Runs inside the writer worker (writer-worker.ts); the bench
// and the tests also drive it directly.
import type { Database, Statement } from 'better-sqlite3';
import type { Batch, Dictionaries } from './batch.js';
import {
  compactDay,
  createDay,
  dayOf,
  dropDay,
  listDays,
  dayTables,
  DAY_MS,
  KEY_SLOTS,
  MINUTE_MS,
  NAME_BUCKET_MINUTES,
  NAME_BUCKETS,
} from './partitions.js';
import { purgeDaily } from './daily.js';

interface DayStatements {
  /** One row, skipped if its id is taken (the slow path for late rows). */
  insert: Statement;
  /** ROWS_PER_INSERT rows, and one row, that must not collide (ids past maxId). */
  insertMany: Statement;
  insertOne: Statement;
  /** The highest id the day's table holds (or -1): an id above it cannot be taken. */
  maxId: number;
  rc: Statement;
  rn: Statement;
  rm: Statement;
  /** UPSERT_ROWS rollup rows per call (client or name rollup). */
  rcMany: Statement;
  rnMany: Statement;
  rw: Statement;
}

export interface LinkSwitch {
  at: number;
  from: string | null;
  to: string | null;
  reason: string;
}

export interface ListRefresh {
  at: number;
  listId: string;
  ok: boolean;
  entries?: number | null;
  error?: string | null;
}

export interface PurgeResult {
  droppedDays: number[];
  deletedRows: number;
}

/** Timestamps beyond this (year 2255) are treated as bad input. */
const MAX_TS = 9e12;

/**
 * Rows per multi-row INSERT on the fast path. One statement call per row was
 * the writer's largest cost; 64 rows (320 parameters) per call cut it by about
 * a third (measured under dnsperf), and a batch's remainder goes in one row at
 * a time.
 */
const ROWS_PER_INSERT = 64;
const COLUMNS = 6;

/**
 * Rollup rows per multi-row upsert, for the same reason: one statement call
 * per (client, minute) and per (name, bucket) was as costly as all the row
 * inserts (about 0.4 µs of CPU a query at 30,000 q/s here, each key of a
 * commit distinct); 64 per call cut that by about half (bench/store.ts).
 */
const UPSERT_ROWS = 64;

/** Interned ids are cached per day (the first use on a day also bumps last_day). */
const INTERN_CACHE_MAX = 500_000;

/**
 * Names per multi-row intern, for the same reason again: a cache miss logs a
 * name the writer has not seen that day, and one upsert call per new name
 * was over half of what such a row cost the writer; 64 per call take about
 * 20% less writer CPU per row when every name is new.
 */
const NAMES_PER_INTERN = 64;

export class LogWriter {
  private readonly days = new Map<number, DayStatements>();
  private readonly names = new Map<string, number>();
  private readonly clients = new Map<string, number>();
  /** who_by_id ids by (person, device) key (whoKey); reset with the day, as names are. */
  private readonly whos = new Map<number | string, number>();
  private cacheDay = -1;
  private groupIds: number[] = [];
  private categoryIds: number[] = [];
  private linkIds: number[] = [];
  private listIds: number[] = [];
  private reasonIds: number[] = [];
  /**
   * Shape ids by a key made of the batch's own fields (indexes, not dict ids),
   * one map per transport (the key has no bits left for it); reset with the dictionaries.
   */
  private readonly shapes: Map<number | string, number>[] = [new Map(), new Map(), new Map(), new Map(), new Map()];
  /** Every shape seen, by id (for the rollups). */
  private readonly shapeById = new Map<number, Shape>();
  // Tie-breaker state: the last millisecond key used and its next slot.
  private lastMsKey = -1;
  private nextSlot = 0;
  // Rows waiting for the next multi-row insert, all for one day's table.
  private readonly staged: number[] = new Array<number>(ROWS_PER_INSERT * COLUMNS).fill(0);
  private stagedRows = 0;
  private stagedFor: DayStatements | undefined;
  private readonly internName: Statement;
  private readonly internNames: Statement;
  private readonly internClient: Statement;
  private readonly internDict: Statement;
  private readonly internShape: Statement;
  private readonly internWho: Statement;
  private readonly insertSwitch: Statement;
  private readonly insertRefresh: Statement;
  private readonly insertCheck: Statement;

  constructor(private readonly db: Database) {
    this.internName = db
      .prepare(
        'INSERT INTO name_by_id (name, last_day) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_day = max(last_day, excluded.last_day) RETURNING id',
      )
      .pluck();
    this.internNames = db
      .prepare(
        `INSERT INTO name_by_id (name, last_day) VALUES ${new Array<string>(NAMES_PER_INTERN).fill('(?, ?)').join(', ')}
         ON CONFLICT (name) DO UPDATE SET last_day = max(last_day, excluded.last_day) RETURNING name, id`,
      )
      .raw();
    this.internClient = db
      .prepare(
        'INSERT INTO client_by_id (address, last_day) VALUES (?, ?) ON CONFLICT (address) DO UPDATE SET last_day = max(last_day, excluded.last_day) RETURNING id',
      )
      .pluck();
    this.internDict = db
      .prepare('INSERT INTO dict (kind, name) VALUES (?, ?) ON CONFLICT (kind, name) DO UPDATE SET name = excluded.name RETURNING id')
      .pluck();
    this.internShape = db
      .prepare(
        `INSERT INTO shape (qtype, grp, action, cached, rcode, cat, link, reason, list, transport) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (qtype, grp, action, cached, rcode, cat, link, reason, list, transport) DO UPDATE SET qtype = excluded.qtype RETURNING id`,
      )
      .pluck();
    // An erased person's pairs are left out of the key (erased = 1): a pair seen again is a new one.
    this.internWho = db
      .prepare(
        `INSERT INTO who_by_id (person, device, last_day) VALUES (?, ?, ?)
         ON CONFLICT (person, device) WHERE erased = 0 DO UPDATE SET last_day = max(last_day, excluded.last_day) RETURNING id`,
      )
      .pluck();
    this.insertSwitch = db.prepare('INSERT INTO link_switch (at, from_link, to_link, reason) VALUES (?, ?, ?, ?)');
    this.insertRefresh = db.prepare('INSERT INTO list_refresh (at, list_id, ok, entries, error) VALUES (?, ?, ?, ?, ?)');
    this.insertCheck = db.prepare('INSERT OR IGNORE INTO check_query (id, client, name, shape, lat, who) VALUES (?, ?, ?, ?, ?, ?)');
  }

  /** Map the config's group / category / link indexes to stable dict ids. */
  setDictionaries(d: Dictionaries): void {
    this.db.transaction(() => {
      this.groupIds = d.groups.map((n) => this.internDict.get('group', n) as number);
      this.categoryIds = d.categories.map((n) => this.internDict.get('category', n) as number);
      this.linkIds = d.links.map((n) => this.internDict.get('link', n) as number);
      this.listIds = (d.lists ?? []).map((n) => this.internDict.get('list', n) as number);
      this.reasonIds = (d.reasons ?? []).map((n) => this.internDict.get('reason', n) as number);
    })();
    for (const m of this.shapes) m.clear();
  }

  /** Write a batch in one transaction. Returns the number of rows written. */
  writeBatch(b: Batch): number {
    return this.writeBatches([b]);
  }

  /**
   * Write several batches in one transaction, with one round of rollup upserts
   * (the worker passes all the batches queued behind the first: group commit
   * when the writer falls behind). Returns the number of rows written.
   */
  writeBatches(batches: Batch[]): number {
    let total = 0;
    try {
      this.db.transaction(() => {
        const aggs = new Map<number, Aggregates>();
        for (const b of batches) total += this.writeRows(b, aggs);
        this.flushStaged();
        for (const [day, agg] of aggs) this.flushAggregates(this.statements(day), agg);
      })();
    } catch (err) {
      this.forgetUncommitted();
      throw err;
    }
    return total;
  }

  private writeRows(b: Batch, aggs: Map<number, Aggregates>): number {
    const n = b.n;
    const ts = b.ts;
    // Rows go in time order so they append at the end of each day's b-tree (full pages).
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = ts[i - 1] <= ts[i];
    let order: Uint32Array | undefined;
    if (!sorted) {
      order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((x, y) => ts[x] - ts[y]);
    }
    let day = -1;
    const oneDay = batchDay(b);
    const clientIds = new Int32Array(b.clients.length);
    const nameIds = new Int32Array(b.names.length);
    let st: DayStatements | undefined;
    let agg: Aggregates | undefined;
    for (let j = 0; j < n; j++) {
      const i = order ? order[j] : j;
      const t = rowTime(ts, i);
      const d = Math.floor(t / DAY_MS);
      if (d !== day) {
        day = d;
        clientIds.fill(-1);
        nameIds.fill(-1);
        st = this.statements(d);
        agg = aggs.get(d);
        if (!agg) aggs.set(d, (agg = newAggregates()));
        if (d > this.cacheDay) this.resetCaches(d);
        // All on one day (a batch across midnight is the rare exception): its new names go in together.
        if (d === oneDay) this.internNamesOf(b.names, nameIds, d);
      }
      const ms = t - d * DAY_MS;
      // Each distinct name and address of the batch is interned once a day (the batch holds each once).
      const ci = b.clientIx[i];
      const ni = b.nameIx[i];
      let clientId = clientIds[ci];
      if (clientId < 0) clientId = clientIds[ci] = this.clientId(b.clients[ci], d);
      let nameId = nameIds[ni];
      if (nameId < 0) nameId = nameIds[ni] = this.nameId(b.names[ni], d);
      const shapeId = this.shapeId(b, i);
      const lat = b.latencyUs[i];
      const whoId = b.person[i] === 0 && b.device[i] === 0 ? 0 : this.whoId(b.person[i], b.device[i], d);
      if (b.check[i] === 1) {
        // The self-test's own queries: kept apart, in no rollup (so in no report, top list or history).
        this.insertCheckRow(t, clientId, nameId, shapeId, lat, whoId);
        continue;
      }
      // The row's minute comes from where it landed (past 256 queries in a millisecond it moves on).
      const minute = Math.floor(this.insertRow(st!, d, ms, clientId, nameId, shapeId, lat, whoId) / MINUTE_MS);
      const blocked = b.action[i] === 1 ? 1 : 0;
      bump2(agg!.rc, clientId * 1440 + minute, blocked);
      if (whoId !== 0) bumpWho(agg!.rw, whoId, Math.floor(minute / 60), clientId, this.shapeById.get(shapeId)!.cat, blocked);
      bump2(agg!.rn, nameId * NAME_BUCKETS + Math.floor(minute / NAME_BUCKET_MINUTES), blocked);
      // Per (minute, shape) here; folded into (minute, group, category, link, action) on flush.
      const rmKey = minute * 2 ** 32 + shapeId;
      const m = agg!.rm.get(rmKey);
      if (m) {
        m[0]++;
        m[1] += b.cached[i];
        m[2] += lat;
      } else agg!.rm.set(rmKey, [1, b.cached[i], lat]);
    }
    return n;
  }

  /**
   * A check_query row under the query-log key of its millisecond. Slots are
   * taken from the top (255 down), as q_D rows take them from 0 up, so the two
   * never share a key unless a millisecond holds more than 256 queries.
   */
  private insertCheckRow(t: number, client: number, name: number, shape: number, lat: number, who: number): void {
    const base = t * KEY_SLOTS;
    for (let slot = KEY_SLOTS - 1; slot >= 0; slot--) {
      if (this.insertCheck.run(base + slot, client, name, shape, lat, who).changes === 1) return;
    }
  }

  recordLinkSwitch(s: LinkSwitch): void {
    this.insertSwitch.run(s.at, s.from, s.to, s.reason);
  }

  recordListRefresh(r: ListRefresh): void {
    this.insertRefresh.run(r.at, r.listId, r.ok ? 1 : 0, r.entries ?? null, r.error ?? null);
  }

  /**
   * Delete everything logged before `cutoff` (ms epoch), exactly: whole days
   * before it are dropped, the day it falls in loses the rows before it.
   */
  purge(cutoff: number): PurgeResult {
    const cutoffDay = dayOf(cutoff);
    const result: PurgeResult = { droppedDays: [], deletedRows: 0 };
    this.db.transaction(() => {
      for (const day of listDays(this.db)) {
        if (day < cutoffDay) {
          dropDay(this.db, day);
          this.days.delete(day);
          this.db.prepare('DELETE FROM compacted_day WHERE day = ?').run(day);
          result.droppedDays.push(day);
        } else if (day === cutoffDay) {
          const t = dayTables(day);
          const ms = cutoff - day * DAY_MS;
          const minute = Math.floor(ms / MINUTE_MS);
          // Table names come from dayTables (our own format), never from input.
          result.deletedRows += this.db.prepare(`DELETE FROM ${t.q} WHERE id < ?`).run(ms * KEY_SLOTS).changes;
          const bucket = Math.floor(minute / NAME_BUCKET_MINUTES);
          this.db.prepare(`DELETE FROM ${t.rc} WHERE minute <= ?`).run(minute);
          this.db.prepare(`DELETE FROM ${t.rm} WHERE minute <= ?`).run(minute);
          this.db.prepare(`DELETE FROM ${t.rn} WHERE bucket <= ?`).run(bucket);
          const hour = Math.floor(minute / 60);
          this.db.prepare(`DELETE FROM ${t.rw} WHERE hour <= ?`).run(hour);
          // The minute and the bucket the cutoff falls in are counted again from
          // the rows that remain, so the rollups hold nothing older either.
          this.recount(t, minute * MINUTE_MS * KEY_SLOTS, (minute + 1) * MINUTE_MS * KEY_SLOTS, 'minute');
          this.recount(
            t,
            bucket * NAME_BUCKET_MINUTES * MINUTE_MS * KEY_SLOTS,
            (bucket + 1) * NAME_BUCKET_MINUTES * MINUTE_MS * KEY_SLOTS,
            'bucket',
          );
          this.recount(t, hour * 60 * MINUTE_MS * KEY_SLOTS, (hour + 1) * 60 * MINUTE_MS * KEY_SLOTS, 'hour');
        }
      }
      this.db.prepare('DELETE FROM check_query WHERE id < ?').run(cutoff * KEY_SLOTS);
      this.db.prepare('DELETE FROM link_switch WHERE at < ?').run(cutoff);
      this.db.prepare('DELETE FROM list_refresh WHERE at < ?').run(cutoff);
      // The daily rollups of the days purged (and of the day the cutoff falls in, rolled up again later).
      purgeDaily(this.db, cutoff);
      // Names and addresses last seen on a purged day are personal data too.
      this.db.prepare('DELETE FROM name_by_id WHERE last_day < ?').run(cutoffDay);
      this.db.prepare('DELETE FROM client_by_id WHERE last_day < ?').run(cutoffDay);
      // Who pairs too: the people and devices they point at then go with identity's retention (identity/retention.ts).
      this.db.prepare('DELETE FROM who_by_id WHERE last_day < ?').run(cutoffDay);
    })();
    this.names.clear();
    this.clients.clear();
    this.whos.clear();
    return result;
  }

  /** Rebuild rollups from the q rows with lo <= id < hi (ids of one minute, one name bucket or one hour). */
  private recount(t: ReturnType<typeof dayTables>, lo: number, hi: number, which: 'minute' | 'bucket' | 'hour'): void {
    const minuteOf = `(q.id / ${MINUTE_MS * KEY_SLOTS})`;
    const rows = `FROM ${t.q} AS q JOIN shape AS s ON s.id = q.shape WHERE q.id >= ? AND q.id < ?`;
    if (which === 'minute') {
      this.db
        .prepare(
          `INSERT INTO ${t.rc} (client, minute, n, blocked) SELECT q.client, ${minuteOf}, count(*), sum(s.action = 1) ${rows} GROUP BY q.client`,
        )
        .run(lo, hi);
      this.db
        .prepare(
          `INSERT INTO ${t.rm} (minute, grp, cat, link, action, n, cached, lat)
           SELECT ${minuteOf}, s.grp, s.cat, s.link, s.action, count(*), sum(s.cached), sum(q.lat) ${rows} GROUP BY s.grp, s.cat, s.link, s.action`,
        )
        .run(lo, hi);
    } else if (which === 'hour') {
      this.db
        .prepare(
          `INSERT INTO ${t.rw} (who, hour, client, cat, n, blocked)
           SELECT q.who, ${minuteOf} / 60, q.client, s.cat, count(*), sum(s.action = 1) ${rows} AND q.who != 0 GROUP BY q.who, q.client, s.cat`,
        )
        .run(lo, hi);
    } else {
      this.db
        .prepare(
          `INSERT INTO ${t.rn} (name, bucket, n, blocked)
           SELECT q.name, ${minuteOf} / ${NAME_BUCKET_MINUTES}, count(*), sum(s.action = 1) ${rows} GROUP BY q.name`,
        )
        .run(lo, hi);
    }
  }

  /** Compact the rollups of every day before `beforeDay` not compacted yet. Returns the days done. */
  compact(beforeDay: number): number[] {
    const done = new Set(this.db.prepare('SELECT day FROM compacted_day').pluck().all() as number[]);
    const mark = this.db.prepare('INSERT OR IGNORE INTO compacted_day (day) VALUES (?)');
    const days = listDays(this.db).filter((d) => d < beforeDay && !done.has(d));
    for (const day of days) {
      this.db.transaction(() => {
        compactDay(this.db, day);
        mark.run(day);
      })();
    }
    return days;
  }

  /**
   * Place one row; returns the millisecond of the day it was stored under.
   * Rows arrive in time order, so almost every id lands past the highest id
   * the day holds and cannot collide: those are staged for a multi-row insert.
   * A late row (a batch held back, the clock stepped back) may meet a taken
   * slot: it is inserted alone, trying the next slot until one is free. Past
   * 256 rows in one millisecond a row moves to the next millisecond.
   */
  private insertRow(
    st: DayStatements,
    day: number,
    ms: number,
    client: number,
    name: number,
    shape: number,
    lat: number,
    who: number,
  ): number {
    const msKey = day * DAY_MS + ms;
    let slot = msKey === this.lastMsKey ? this.nextSlot : 0;
    let msOfDay = ms;
    if (slot >= KEY_SLOTS) {
      slot = 0;
      if (msOfDay < DAY_MS - 1) msOfDay++;
    }
    let id = msOfDay * KEY_SLOTS + slot;
    if (id > st.maxId) {
      this.stage(st, id, client, name, shape, lat, who);
    } else {
      this.flushStaged();
      for (;;) {
        if (slot >= KEY_SLOTS) {
          slot = 0;
          if (msOfDay < DAY_MS - 1) msOfDay++;
        }
        id = msOfDay * KEY_SLOTS + slot;
        if (st.insert.run(id, client, name, shape, lat, who).changes === 1) break;
        slot++;
      }
    }
    if (id > st.maxId) st.maxId = id;
    this.lastMsKey = day * DAY_MS + msOfDay;
    this.nextSlot = slot + 1;
    return msOfDay;
  }

  private stage(st: DayStatements, id: number, client: number, name: number, shape: number, lat: number, who: number): void {
    if (this.stagedFor !== st) this.flushStaged();
    this.stagedFor = st;
    const at = this.stagedRows * COLUMNS;
    const row = this.staged;
    row[at] = id;
    row[at + 1] = client;
    row[at + 2] = name;
    row[at + 3] = shape;
    row[at + 4] = lat;
    row[at + 5] = who;
    if (++this.stagedRows === ROWS_PER_INSERT) {
      st.insertMany.run(row);
      this.stagedRows = 0;
    }
  }

  /** Insert the staged rows that did not fill a multi-row insert. */
  private flushStaged(): void {
    const st = this.stagedFor;
    for (let i = 0; i < this.stagedRows; i++) {
      const at = i * COLUMNS;
      st!.insertOne.run(
        this.staged[at],
        this.staged[at + 1],
        this.staged[at + 2],
        this.staged[at + 3],
        this.staged[at + 4],
        this.staged[at + 5],
      );
    }
    this.stagedRows = 0;
  }

  private statements(day: number): DayStatements {
    let st = this.days.get(day);
    if (!st) {
      const t = createDay(this.db, day);
      st = {
        insert: this.db.prepare(`INSERT OR IGNORE INTO ${t.q} (id, client, name, shape, lat, who) VALUES (?, ?, ?, ?, ?, ?)`),
        insertMany: this.db.prepare(
          `INSERT INTO ${t.q} (id, client, name, shape, lat, who) VALUES ${Array(ROWS_PER_INSERT).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`,
        ),
        insertOne: this.db.prepare(`INSERT INTO ${t.q} (id, client, name, shape, lat, who) VALUES (?, ?, ?, ?, ?, ?)`),
        maxId: (this.db.prepare(`SELECT max(id) FROM ${t.q}`).pluck().get() as number | null) ?? -1,
        rc: this.db.prepare(rollupUpsert(t.rc, 'client, minute', 1)),
        rn: this.db.prepare(rollupUpsert(t.rn, 'name, bucket', 1)),
        rcMany: this.db.prepare(rollupUpsert(t.rc, 'client, minute', UPSERT_ROWS)),
        rnMany: this.db.prepare(rollupUpsert(t.rn, 'name, bucket', UPSERT_ROWS)),
        rm: this.db.prepare(
          `INSERT INTO ${t.rm} (minute, grp, cat, link, action, n, cached, lat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT DO UPDATE SET n = n + excluded.n, cached = cached + excluded.cached, lat = lat + excluded.lat`,
        ),
        rw: this.db.prepare(
          `INSERT INTO ${t.rw} (who, hour, client, cat, n, blocked) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT DO UPDATE SET n = n + excluded.n, blocked = blocked + excluded.blocked`,
        ),
      };
      this.days.set(day, st);
    }
    return st;
  }

  private flushAggregates(st: DayStatements, agg: Aggregates): void {
    upsertCounts(agg.rc, 1440, st.rcMany, st.rc);
    upsertCounts(agg.rn, NAME_BUCKETS, st.rnMany, st.rn);
    for (const [key, cats] of agg.rw) {
      const [who, hour, client] = typeof key === 'number' ? splitWhoKey(key) : key.split(',').map(Number);
      for (const [cat, v] of cats) st.rw.run(who, hour, client, cat, v[0], v[1]);
    }
    for (const [key, v] of agg.rm) {
      const minute = Math.floor(key / 2 ** 32);
      const shape = this.shapeById.get(key % 2 ** 32)!;
      st.rm.run(minute, shape.grp, shape.cat, shape.link, shape.action, v[0], v[1], v[2]);
    }
  }

  /** The shape id of row i, interned on first sight. */
  private shapeId(b: Batch, i: number): number {
    const qtype = b.qtype[i];
    const action = b.action[i];
    const cached = b.cached[i];
    const rcode = b.rcode[i];
    const g = b.group[i] + 1;
    const c = b.category[i] + 1;
    const l = b.link[i] + 1;
    const r = b.reason[i] + 1;
    const li = b.list[i] + 1;
    // 16 + 2 + 1 + 5 + 8 + 6 + 4 + 4 + 7 = 53 bits: an exact number key, no string per row
    // (anything wider, such as an extended rcode or a 17th link, takes the string key).
    const key: number | string =
      rcode < 32 && g >= 0 && g < 256 && c >= 0 && c < 64 && l >= 0 && l < 16 && r >= 0 && r < 16 && li >= 0 && li < 128 && action < 4
        ? (((((((qtype * 4 + action) * 2 + cached) * 32 + rcode) * 256 + g) * 64 + c) * 16 + l) * 16 + r) * 128 + li
        : `${qtype},${action},${cached},${rcode},${g},${c},${l},${r},${li}`;
    const transport = b.transport[i];
    const shapes = this.shapes[transport] ?? this.shapes[0];
    let id = shapes.get(key);
    if (id === undefined) {
      const shape: Shape = {
        grp: this.groupIds[g - 1] ?? 0,
        cat: c > 0 ? (this.categoryIds[c - 1] ?? 0) : 0,
        link: l > 0 ? (this.linkIds[l - 1] ?? 0) : 0,
        action,
      };
      const reason = r > 0 ? (this.reasonIds[r - 1] ?? 0) : 0;
      const list = li > 0 ? (this.listIds[li - 1] ?? 0) : 0;
      id = this.internShape.get(
        qtype,
        shape.grp,
        action,
        cached,
        rcode,
        shape.cat,
        shape.link,
        reason,
        list,
        shapes === this.shapes[0] ? 0 : transport,
      ) as number;
      shapes.set(key, id);
      this.shapeById.set(id, shape);
    }
    return id;
  }

  /**
   * After a rolled-back transaction (disk full, I/O error): the rows staged,
   * and the names, addresses, shapes and day tables it created, are gone from
   * the file, so they go from memory too. Otherwise a staged row of the failed
   * batch would be written with the next one, and a cached id would point at
   * nothing, or at the next name given the same id.
   */
  private forgetUncommitted(): void {
    this.stagedRows = 0;
    this.stagedFor = undefined;
    this.days.clear();
    this.names.clear();
    this.clients.clear();
    this.whos.clear();
    for (const m of this.shapes) m.clear();
    this.shapeById.clear();
  }

  private resetCaches(day: number): void {
    this.cacheDay = day;
    this.names.clear();
    this.clients.clear();
    this.whos.clear();
  }

  /** The who_by_id id of a (person, device) pair, interned on first sight (and first use each day, for last_day). */
  private whoId(person: number, device: number, day: number): number {
    // Both below 2^26 (67 million): an exact number key, no string per row.
    const key: number | string =
      person < 2 ** 26 && device < 2 ** 26 && person >= 0 && device >= 0 ? person * 2 ** 26 + device : `${person},${device}`;
    let id = this.whos.get(key);
    if (id === undefined) {
      id = this.internWho.get(person, device, day) as number;
      if (day === this.cacheDay) this.whos.set(key, id);
    }
    return id;
  }

  /**
   * Intern, NAMES_PER_INTERN to a statement, the names not yet interned on
   * `day`, writing their ids into `ids` (by the names' batch index). The rest
   * of a batch's new names, and every name of a batch across midnight, go
   * one at a time through nameId.
   */
  private internNamesOf(names: string[], ids: Int32Array, day: number): void {
    const fresh: number[] = [];
    for (let i = 0; i < names.length; i++) if (typeof names[i] === 'string' && !this.names.has(names[i])) fresh.push(i);
    const params = new Array<string | number>(NAMES_PER_INTERN * 2);
    for (let at = 0; at + NAMES_PER_INTERN <= fresh.length; at += NAMES_PER_INTERN) {
      for (let j = 0; j < NAMES_PER_INTERN; j++) {
        params[2 * j] = names[fresh[at + j]];
        params[2 * j + 1] = day;
      }
      const byName = new Map(this.internNames.all(params) as [string, number][]);
      for (let j = 0; j < NAMES_PER_INTERN; j++) {
        const name = names[fresh[at + j]];
        const id = byName.get(name)!;
        ids[fresh[at + j]] = id;
        this.rememberName(name, id, day);
      }
    }
  }

  private nameId(name: string, day: number): number {
    if (typeof name !== 'string') name = String(name ?? '');
    let id = this.names.get(name);
    if (id === undefined) {
      id = this.internName.get(name, day) as number;
      this.rememberName(name, id, day);
    }
    return id;
  }

  /** Cache a name's id for the rest of the day (only the cache's own day: a late row's day must bump last_day again). */
  private rememberName(name: string, id: number, day: number): void {
    if (day !== this.cacheDay) return;
    if (this.names.size >= INTERN_CACHE_MAX) this.names.clear();
    this.names.set(name, id);
  }

  private clientId(address: string, day: number): number {
    if (typeof address !== 'string') address = String(address ?? '');
    let id = this.clients.get(address);
    if (id === undefined) {
      id = this.internClient.get(address, day) as number;
      if (day === this.cacheDay) {
        if (this.clients.size >= INTERN_CACHE_MAX) this.clients.clear();
        this.clients.set(address, id);
      }
    }
    return id;
  }
}

interface Aggregates {
  rc: Map<number, [number, number]>;
  rn: Map<number, [number, number]>;
  rm: Map<number, [number, number, number]>;
  /** (who, hour, client) → category → [queries, blocked]. */
  rw: Map<number | string, Map<number, [number, number]>>;
}

/** What the rollups need of a shape (dict ids). */
interface Shape {
  grp: number;
  cat: number;
  link: number;
  action: number;
}

function newAggregates(): Aggregates {
  return { rc: new Map(), rn: new Map(), rm: new Map(), rw: new Map() };
}

const CLIENT_BITS = 2 ** 21;

/** Count one identified row in the who rollup; the key is a number while who < 2^27 and client < 2^21. */
function bumpWho(
  map: Map<number | string, Map<number, [number, number]>>,
  who: number,
  hour: number,
  client: number,
  cat: number,
  blocked: number,
): void {
  const key = who < 2 ** 27 && client < CLIENT_BITS ? (who * 24 + hour) * CLIENT_BITS + client : `${who},${hour},${client}`;
  let cats = map.get(key);
  if (!cats) map.set(key, (cats = new Map()));
  bump2(cats, cat, blocked);
}

function splitWhoKey(key: number): [number, number, number] {
  const client = key % CLIENT_BITS;
  const rest = (key - client) / CLIENT_BITS;
  return [Math.floor(rest / 24), rest % 24, client];
}

/** `INSERT INTO table (key columns, n, blocked)` of `rows` rows, adding the counts to a row already there. */
function rollupUpsert(table: string, keyColumns: string, rows: number): string {
  return `INSERT INTO ${table} (${keyColumns}, n, blocked) VALUES ${Array(rows).fill('(?, ?, ?, ?)').join(', ')}
    ON CONFLICT DO UPDATE SET n = n + excluded.n, blocked = blocked + excluded.blocked`;
}

/** The time row i is logged at: a bad timestamp must not sink the whole batch, so such a row is logged at the time it is written. */
function rowTime(ts: Float64Array, i: number): number {
  return ts[i] >= 0 && ts[i] < MAX_TS ? Math.floor(ts[i]) : Date.now();
}

/** The day every row of `b` is logged under, or -1 when they span more than one. */
function batchDay(b: Batch): number {
  let day = -1;
  for (let i = 0; i < b.n; i++) {
    const d = Math.floor(rowTime(b.ts, i) / DAY_MS);
    if (day === -1) day = d;
    else if (d !== day) return -1;
  }
  return day;
}

/**
 * Add (n, blocked) counts to a two-column-keyed rollup (key = a * radix + b),
 * UPSERT_ROWS rows per call of `many`, the rest one by one. Sorted keys:
 * neighbouring upserts touch neighbouring pages. Keys are distinct, so no
 * call holds two rows for one key.
 */
function upsertCounts(counts: Map<number, [number, number]>, radix: number, many: Statement, one: Statement): void {
  const keys = [...counts.keys()].sort((a, b) => a - b);
  const params = new Array<number>(UPSERT_ROWS * 4);
  let i = 0;
  for (; i + UPSERT_ROWS <= keys.length; i += UPSERT_ROWS) {
    for (let j = 0; j < UPSERT_ROWS; j++) {
      const key = keys[i + j];
      const v = counts.get(key)!;
      params[j * 4] = Math.floor(key / radix);
      params[j * 4 + 1] = key % radix;
      params[j * 4 + 2] = v[0];
      params[j * 4 + 3] = v[1];
    }
    many.run(params);
  }
  for (; i < keys.length; i++) {
    const v = counts.get(keys[i])!;
    one.run(Math.floor(keys[i] / radix), keys[i] % radix, v[0], v[1]);
  }
}

function bump2(map: Map<number, [number, number]>, key: number, blocked: number): void {
  const v = map.get(key);
  if (v) {
    v[0]++;
    v[1] += blocked;
  } else map.set(key, [1, blocked]);
}
