import { afterEach, describe, expect, it } from 'vitest';
import { QueryLog } from '../../src/store/query-log.js';
import { Retention, retentionCutoff } from '../../src/store/retention.js';
import { openDatabase } from '../../src/store/db.js';
import { search } from '../../src/store/search.js';
import { topClients, topDomains } from '../../src/store/rollups.js';
import { linkSwitches, listRefreshes } from '../../src/store/history.js';
import { listDays, dayOf, DAY_MS } from '../../src/store/partitions.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  tmp?.remove();
  tmp = undefined;
});

// "Now" is injected: 2026-11-23 10:07 UTC; with 365 days the cutoff is 2025-11-23 10:07.
const NOW = Date.UTC(2026, 10, 23, 10, 7, 0);
const CUTOFF = retentionCutoff(NOW, 365);

describe('retention', () => {
  it('deletes exactly what is older than retentionDays, and nothing else', async () => {
    tmp = tempDir();
    const path = tmp.path('gh.db');
    const log = new QueryLog({ path, queueMax: 10_000, logger: silentLogger(), now: () => NOW });
    log.setDictionaries({ groups: ['pupils'], categories: [], links: ['fibre'] });
    await log.start();
    const old = [CUTOFF - 40 * DAY_MS, CUTOFF - 2 * DAY_MS, CUTOFF - 61_000, CUTOFF - 1];
    const kept = [CUTOFF, CUTOFF + 1, CUTOFF + 59_999, CUTOFF + DAY_MS, NOW - 1000];
    for (const ts of old)
      log.record(ts, '10.9.9.9', 0, ts < CUTOFF - DAY_MS ? 'only-old.example' : 'both.example', 1, 0, -1, 0, 0, 10, false);
    for (const ts of kept) log.record(ts, '10.1.1.1', 0, 'both.example', 1, 0, -1, 0, 0, 10, false);
    log.recordLinkSwitch({ at: CUTOFF - 1, from: 'fibre', to: '4g', reason: 'old' });
    log.recordLinkSwitch({ at: CUTOFF, from: '4g', to: 'fibre', reason: 'kept' });
    log.recordListRefresh({ at: CUTOFF - 1, listId: 'ut1-adult', ok: false, error: 'old' });
    log.recordListRefresh({ at: CUTOFF, listId: 'ut1-adult', ok: true, entries: 12 });
    await log.flush();

    const retention = new Retention({ log, retentionDays: 365, logger: silentLogger(), now: () => NOW });
    const result = await retention.runOnce();
    expect(result.droppedDays.sort()).toEqual([dayOf(CUTOFF - 40 * DAY_MS), dayOf(CUTOFF - 2 * DAY_MS)].sort());
    expect(result.deletedRows).toBe(2); // the two on the cutoff's own day
    // A second run finds nothing more.
    expect(await retention.runOnce()).toEqual({ droppedDays: [], deletedRows: 0 });
    await log.close();

    const db = openDatabase(path, { readonly: true });
    try {
      const rows = search(db, { from: 0, to: NOW + 1, limit: 1000 }).rows;
      expect(rows.map((r) => r.ts).sort((a, b) => a - b)).toEqual(kept);
      expect(listDays(db)).toEqual([dayOf(CUTOFF), dayOf(CUTOFF + DAY_MS), dayOf(NOW)]);
      // Rollups lose the purged minutes too.
      expect(topClients(db, { from: 0, to: NOW + 1 })).toEqual([{ client: '10.1.1.1', queries: kept.length, blocked: 0 }]);
      expect(topDomains(db, { from: 0, to: NOW + 1 })).toEqual([{ name: 'both.example', queries: kept.length, blocked: 0 }]);
      expect(linkSwitches(db).map((s) => s.reason)).toEqual(['kept']);
      expect(listRefreshes(db)).toEqual([{ at: CUTOFF, listId: 'ut1-adult', ok: true, entries: 12, error: null }]);
      // Names and addresses seen only on purged days are gone as well.
      expect(db.prepare('SELECT name FROM name_by_id ORDER BY name').pluck().all()).toEqual(['both.example']);
      expect(db.prepare('SELECT address FROM client_by_id WHERE address = ?').pluck().all('10.9.9.9')).toEqual(
        // 10.9.9.9 was also seen on the cutoff's own day (its rows there are gone); it goes with that day.
        ['10.9.9.9'],
      );
    } finally {
      db.close();
    }
  });

  it('start() purges at once (catching up after downtime) and schedules the daily run', async () => {
    tmp = tempDir();
    const path = tmp.path('gh.db');
    const log = new QueryLog({ path, queueMax: 1000, logger: silentLogger() });
    log.setDictionaries({ groups: ['pupils'], categories: [], links: [] });
    await log.start();
    log.record(CUTOFF - 1, '10.0.0.1', 0, 'old.example', 1, 0, -1, -1, 0, 1, false);
    log.record(CUTOFF, '10.0.0.1', 0, 'new.example', 1, 0, -1, -1, 0, 1, false);
    await log.flush();
    const retention = new Retention({ log, retentionDays: 365, logger: silentLogger(), now: () => NOW, schedule: '17 3 * * *' });
    retention.start();
    // runOnce() while the start-up purge is running shares it.
    const result = await retention.runOnce();
    retention.stop();
    await log.close();
    expect(result.deletedRows).toBe(1);
    const db = openDatabase(path, { readonly: true });
    expect(search(db, { from: 0, to: NOW }).rows.map((r) => r.name)).toEqual(['new.example']);
    db.close();
  });

  it('compacts finished days and keeps every rollup count', async () => {
    tmp = tempDir();
    const path = tmp.path('gh.db');
    const log = new QueryLog({ path, queueMax: 100_000, logger: silentLogger() });
    log.setDictionaries({ groups: ['pupils'], categories: [], links: [] });
    await log.start();
    const day0 = Date.UTC(2026, 10, 20);
    for (let i = 0; i < 20_000; i++)
      log.record(day0 + i * 12_000, `10.2.${i % 40}.1`, 0, `n${i % 300}.example`, 1, i % 7 === 0 ? 1 : 0, -1, -1, 0, 5, false);
    await log.flush();
    const before = openDatabase(path, { readonly: true });
    const period = { from: day0, to: day0 + 3 * DAY_MS, limit: 1000 };
    const domainsBefore = topDomains(before, period);
    const clientsBefore = topClients(before, period);
    before.close();
    const days = await log.compact(dayOf(day0) + 2);
    expect(days).toEqual([dayOf(day0), dayOf(day0) + 1]);
    expect(await log.compact(dayOf(day0) + 2)).toEqual([]);
    await log.close();
    const after = openDatabase(path, { readonly: true });
    expect(topDomains(after, period)).toEqual(domainsBefore);
    expect(topClients(after, period)).toEqual(clientsBefore);
    expect(
      search(after, { from: day0, to: day0 + 3 * DAY_MS, client: '10.2.3.1', domain: 'n3.', limit: 10_000 }).rows.length,
    ).toBeGreaterThan(0);
    after.close();
  });
});
