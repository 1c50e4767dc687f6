// The disk failing under the log must never reach the DNS hot path: `record`
// keeps returning, rows are dropped and counted, and the log says why.
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { QueryLog, type DroppedEvent } from '../../src/store/query-log.js';
import { openDatabase } from '../../src/store/db.js';
import { listDays, dayTables } from '../../src/store/partitions.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  tmp?.remove();
  tmp = undefined;
});

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);

function countRows(path: string): number {
  const db = openDatabase(path, { readonly: true });
  try {
    return listDays(db).reduce(
      (n, d) =>
        n +
        (db
          .prepare(`SELECT count(*) FROM ${dayTables(d).q}`)
          .pluck()
          .get() as number),
      0,
    );
  } finally {
    db.close();
  }
}

describe('a failing disk under the query log', () => {
  it('a disk that fills: rows are dropped and counted, record keeps returning, the event names the error', async () => {
    tmp = tempDir();
    const path = tmp.path('gh.db');
    // 250 pages of 4 KiB: the schema takes about 85 of them, the rest is room for a few
    // thousand rows, then SQLITE_FULL, as on a full disk.
    const log = new QueryLog({ path, queueMax: 1_000_000, logger: silentLogger(), batchRows: 1000, flushMs: 20, maxPages: 250 });
    log.setDictionaries({ groups: ['pupils'], categories: [], links: ['fibre'] });
    await log.start();
    const events: DroppedEvent[] = [];
    log.on('dropped', (e: DroppedEvent) => events.push(e));
    const total = 60_000;
    for (let i = 0; i < total; i++) {
      // Distinct names so the file really grows. A throw here fails the test.
      log.record(T0 + i, `10.3.${i % 200}.9`, 0, `host-${i}.fill.example`, 1, 0, -1, 0, 0, 30, false);
      // Let each batch reach the disk on its own, so some fit before it is full.
      if (i % 1000 === 999) await log.flush();
    }
    await log.flush();
    await new Promise((r) => setTimeout(r, 60)); // one more tick to emit the event
    const s = log.stats();
    await log.close();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.written).toBeGreaterThan(0);
    expect(s.written + s.dropped).toBe(total);
    expect(s.lastError).toMatch(/full/i);
    expect(events.reduce((n, e) => n + e.count, 0)).toBe(s.dropped);
    expect(events.at(-1)?.lastError).toMatch(/full/i);
    // What was committed is intact and readable: whole batches, nothing half-written.
    expect(countRows(path)).toBe(s.written);
  });

  it('a disk that stalls: the queue stays bounded, extra rows are dropped and counted, nothing else is lost', async () => {
    tmp = tempDir();
    const path = tmp.path('gh.db');
    const queueMax = 5000;
    const log = new QueryLog({ path, queueMax, logger: silentLogger(), batchRows: 500, flushMs: 20 });
    log.setDictionaries({ groups: ['pupils'], categories: [], links: [] });
    await log.start();
    // Another connection holds the write lock: the writer thread blocks in
    // SQLite, as it would on a stalled disk.
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    const total = 20_000;
    for (let i = 0; i < total; i++) log.record(T0 + i, '10.4.0.1', 0, `n${i % 50}.example`, 28, 0, -1, -1, 0, 10, true);
    // All 20,000 calls returned while the writer was stuck: record never waits for it.
    expect(log.stats().queued).toBe(queueMax);
    expect(log.dropped).toBe(total - queueMax);
    blocker.exec('ROLLBACK');
    blocker.close();
    await log.flush();
    await log.close();
    expect(log.stats()).toMatchObject({ written: queueMax, dropped: total - queueMax, queued: 0 });
    expect(countRows(path)).toBe(queueMax);
  });
});
