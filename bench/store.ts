// Store benchmarks (run: npx tsx bench/store.ts [--day-rows N] [--big-rows N] [--big-days N] [--skip-big]).
//  1. bytes on disk per logged query, over one simulated school day;
//  2. writer throughput: LogWriter in one thread, and QueryLog end to end (record → worker → commit);
//  3. a synthetic big database (default 50 million rows over 10 days): first page of a
//     search for one client, and for one domain, over 7 days.
// Every phase is bounded by its row count; the big build also stops after --big-seconds.
import { existsSync, statSync, rmSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src/store/db.js';
import { dayTables, listDays } from '../src/store/partitions.js';
import { LogWriter } from '../src/store/writer.js';
import { clientOf, nameOf } from '../src/store/batch.js';
import { QueryLog } from '../src/store/query-log.js';
import { search, type SearchFilter } from '../src/store/search.js';
import { topDomains, topClients } from '../src/store/rollups.js';
import { silentLogger } from '../src/log.js';
import { TrafficMix } from './store-mix.js';
import { bulkBuild } from './store-bulk.js';

const { values } = parseArgs({
  options: {
    'day-rows': { type: 'string', default: '5000000' },
    'writer-rows': { type: 'string', default: '1000000' },
    'big-rows': { type: 'string', default: '50000000' },
    'big-days': { type: 'string', default: '10' },
    'big-seconds': { type: 'string', default: '900' },
    'skip-big': { type: 'boolean', default: false },
    'only-big': { type: 'boolean', default: false },
    /** Search an existing --dir big.db instead of building it again. */
    reuse: { type: 'boolean', default: false },
    dir: { type: 'string' },
  },
});

const dictionaries = {
  groups: ['staff', 'pupils', 'guests'],
  categories: ['adult', 'gambling', 'vpn', 'proxy', 'doh', 'malware', 'phishing', 'social'],
  links: ['fibre', '4g'],
};
const DAY0 = Math.floor(Date.UTC(2026, 8, 1) / 86_400_000);
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const out: Record<string, unknown> = {};

function fileBytes(path: string): number {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(path + suffix).size;
    } catch {
      /* absent */
    }
  }
  return total;
}

function tableBytes(db: ReturnType<typeof openDatabase>, pattern: string): number {
  return db.prepare('SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name GLOB ?').pluck().get(pattern) as number;
}

/** 1 and 2a: one day through LogWriter (the code the worker runs). */
function bytesPerQuery(rows: number) {
  const path = join(dir, 'day.db');
  rmSync(path, { force: true });
  const db = openDatabase(path);
  const writer = new LogWriter(db);
  writer.setDictionaries(dictionaries);
  const mix = new TrafficMix({ seed: 1 });
  const times = mix.dayTimes(DAY0, rows);
  const batchRows = 8192;
  let writeMs = 0;
  let cpuUs = 0;
  for (let i = 0; i < rows; i += batchRows) {
    const b = mix.batch(times, i, Math.min(rows, i + batchRows));
    const t = performance.now();
    const c = process.cpuUsage();
    writer.writeBatch(b);
    const dc = process.cpuUsage(c);
    cpuUs += dc.user + dc.system;
    writeMs += performance.now() - t;
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  const rollupsBeforeCompaction = (tableBytes(db, 'rc_*') + tableBytes(db, 'rn_*')) / rows;
  // What the nightly maintenance does to a finished day.
  writer.compact(DAY0 + 1);
  db.exec('VACUUM'); // only so the file size below has no free pages left from the compaction
  const perTable = {
    q: tableBytes(db, 'q_*') / rows,
    rc: tableBytes(db, 'rc_*') / rows,
    rn: tableBytes(db, 'rn_*') / rows,
    rm: tableBytes(db, 'rm_*') / rows,
    names: (tableBytes(db, 'name_by_id') + tableBytes(db, 'sqlite_autoindex_name_by_id_1')) / rows,
    clients: (tableBytes(db, 'client_by_id') + tableBytes(db, 'sqlite_autoindex_client_by_id_1')) / rows,
  };
  const distinctNames = db.prepare('SELECT count(*) FROM name_by_id').pluck().get() as number;
  db.close();
  const file = fileBytes(path);
  out.bytesPerQuery = {
    rows,
    distinctNames,
    fileBytesPerQuery: +(file / rows).toFixed(2),
    dayPartitionBytesPerQuery: +(perTable.q + perTable.rc + perTable.rn + perTable.rm).toFixed(2),
    rollupBytesPerQueryBeforeCompaction: +rollupsBeforeCompaction.toFixed(2),
    perTable: Object.fromEntries(Object.entries(perTable).map(([k, v]) => [k, +v.toFixed(2)])),
  };
  // Wall-clock rate, and the rate per second of CPU the writer got (the machine is shared).
  out.writerInThread = { rows, rowsPerSecond: Math.round(rows / (writeMs / 1000)), rowsPerCpuSecond: Math.round(rows / (cpuUs / 1e6)) };
  rmSync(path, { force: true });
}

/** 2b: QueryLog end to end: main-thread record() cost and worker throughput. */
async function endToEnd(rows: number) {
  const path = join(dir, 'e2e.db');
  rmSync(path, { force: true });
  const log = new QueryLog({ path, queueMax: rows + 1, logger: silentLogger(), batchRows: 8192 });
  log.setDictionaries(dictionaries);
  await log.start();
  const mix = new TrafficMix({ seed: 2 });
  const times = mix.dayTimes(DAY0, rows);
  // Pre-build the rows so only record() is timed on the main thread.
  const src = mix.batch(times, 0, rows);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let recordMs = 0;
  for (let i = 0; i < rows; i += 10_000) {
    const t = performance.now();
    const end = Math.min(rows, i + 10_000);
    for (let j = i; j < end; j++) {
      log.record(
        src.ts[j],
        clientOf(src, j),
        src.group[j],
        nameOf(src, j),
        src.qtype[j],
        src.action[j],
        src.category[j],
        src.link[j],
        src.rcode[j],
        src.latencyUs[j],
        src.cached[j] === 1,
      );
    }
    recordMs += performance.now() - t;
    // Yield so replies from the writer are processed, as they would be in the server.
    await new Promise((r) => setImmediate(r));
  }
  await log.flush();
  const totalMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s = log.stats();
  await log.close();
  out.queryLogEndToEnd = {
    rows,
    written: s.written,
    dropped: s.dropped,
    rowsPerSecond: Math.round(s.written / (totalMs / 1000)),
    recordNsPerCall: Math.round((recordMs * 1e6) / rows),
    // CPU of both threads (main + writer) per row.
    processCpuUsPerRow: +((cpu.user + cpu.system) / rows).toFixed(2),
  };
  rmSync(path, { force: true });
}

/** 3: the big database, bulk-built (store-bulk.ts), then searched. */
function big(rows: number, days: number, maxSeconds: number) {
  const path = join(dir, 'big.db');
  const mix = new TrafficMix({ seed: 3, names: 1_000_000, clients: 1500 });
  let written: number;
  let buildSeconds = 0;
  if (values.reuse && existsSync(path)) {
    const db = openDatabase(path); // applies any new migration
    written = listDays(db).reduce(
      (n, d) =>
        n +
        (db
          .prepare(`SELECT count(*) FROM ${dayTables(d).q}`)
          .pluck()
          .get() as number),
      0,
    );
    db.close();
  } else {
    rmSync(path, { force: true });
    rmSync(path + '-wal', { force: true });
    const db = openDatabase(path);
    db.pragma('wal_autocheckpoint = 100000');
    const t0 = performance.now();
    written = bulkBuild(db, mix, dictionaries, DAY0, days, Math.ceil(rows / days), Date.now() + maxSeconds * 1000);
    db.pragma('wal_checkpoint(TRUNCATE)');
    buildSeconds = (performance.now() - t0) / 1000;
    db.close();
  }

  // Search from a fresh read-only connection, as the admin UI or the CLI would.
  const reader = openDatabase(path, { readonly: true });
  const lastDayEnd = (DAY0 + days) * 86_400_000;
  const week = { from: lastDayEnd - 7 * 86_400_000, to: lastDayEnd };
  const busiest = topClients(reader, { ...week, limit: 1 })[0]?.client ?? mix.clients[0];
  const quiet = topClients(reader, { ...week, limit: 1500 }).at(-1)?.client ?? mix.clients[1];
  const timed = (label: string, f: SearchFilter) => {
    const t = performance.now();
    const page = search(reader, f);
    const ms = performance.now() - t;
    return { label, filter: { ...f, from: undefined, to: undefined }, rows: page.rows.length, ms: +ms.toFixed(1) };
  };
  // A name queried exactly once on the last day: the needle in the haystack.
  const lastTables = `rn_${new Date((DAY0 + days - 1) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')}`;
  const rareName = reader
    .prepare(
      `SELECT n.name FROM ${lastTables} AS r JOIN name_by_id AS n ON n.id = r.name GROUP BY r.name HAVING sum(r.n) = 1 LIMIT 1 OFFSET 500`,
    )
    .pluck()
    .get() as string;
  const results = [
    timed('one client (busiest), 7 days', { ...week, client: busiest, limit: 100 }),
    timed('one client (quietest), 7 days', { ...week, client: quiet, limit: 100 }),
    timed('one domain (popular, exact name), 7 days', { ...week, domain: 'www.bbc.co.uk', limit: 100 }),
    timed('one domain (rare), 7 days', { ...week, domain: rareName, limit: 100 }),
    timed('domain substring "googlevideo", 7 days', { ...week, domain: 'googlevideo', limit: 100 }),
    timed('blocked, category gambling, 7 days', { ...week, action: 'block', category: 'gambling', limit: 100 }),
    timed('everything, 7 days', { ...week, limit: 100 }),
    timed('client + domain, 7 days', { ...week, client: busiest, domain: 'google', limit: 100 }),
  ];
  let t = performance.now();
  const top = topDomains(reader, { ...week, limit: 20 });
  const topMs = performance.now() - t;
  t = performance.now();
  topClients(reader, { ...week, limit: 20 });
  const topClientsMs = performance.now() - t;
  reader.close();
  out.big = {
    loadAverage: loadavg().map((x) => +x.toFixed(1)),
    rareName,
    rows: written,
    days,
    buildSeconds: +buildSeconds.toFixed(1),
    buildRowsPerSecond: buildSeconds ? Math.round(written / buildSeconds) : undefined,
    fileBytesPerQuery: +(fileBytes(path) / written).toFixed(2),
    firstPage: results,
    topDomains7dMs: +topMs.toFixed(0),
    topClients7dMs: +topClientsMs.toFixed(0),
    topDomain: top[0],
  };
  if (!values.dir) rmSync(path, { force: true });
}

out.loadAverage = loadavg().map((x) => +x.toFixed(1));
out.cpus = cpus().length;
if (!values['only-big']) {
  bytesPerQuery(Number(values['day-rows']));
  console.log(JSON.stringify(out, null, 2));
  await endToEnd(Number(values['writer-rows']));
  console.log(JSON.stringify({ queryLogEndToEnd: out.queryLogEndToEnd }, null, 2));
}
if (!values['skip-big']) {
  big(Number(values['big-rows']), Number(values['big-days']), Number(values['big-seconds']));
  console.log(JSON.stringify({ big: out.big }, null, 2));
}
if (!values.dir) rmSync(dir, { recursive: true, force: true });
