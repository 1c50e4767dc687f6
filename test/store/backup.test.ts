import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync } from 'node:fs';
import { QueryLog } from '../../src/store/query-log.js';
import { openDatabase } from '../../src/store/db.js';
import { backupDatabase } from '../../src/store/backup.js';
import { search } from '../../src/store/search.js';
import { linkSwitches } from '../../src/store/history.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  tmp?.remove();
  tmp = undefined;
});

describe('backup', () => {
  it('an online backup taken while the writer runs restores with every partition and row', async () => {
    tmp = tempDir();
    const live = tmp.path('data/gh.db');
    const log = new QueryLog({ path: live, queueMax: 100_000, logger: silentLogger() });
    log.setDictionaries({ groups: ['staff', 'pupils'], categories: ['adult'], links: ['fibre'] });
    await log.start();
    const day = 86_400_000;
    const t0 = Date.UTC(2026, 10, 20, 12);
    // Three days, so three partitions.
    for (let i = 0; i < 3000; i++)
      log.record(
        t0 + (i % 3) * day + i,
        `10.5.0.${i % 9}`,
        i % 2,
        `site${i % 30}.example`,
        1,
        i % 5 === 0 ? 1 : 0,
        i % 5 === 0 ? 0 : -1,
        0,
        0,
        40,
        false,
      );
    log.recordLinkSwitch({ at: t0, from: 'fibre', to: '4g', reason: 'fibre down' });
    await log.flush();

    // Back up from a second connection while the writer keeps committing.
    let pumping = true;
    let extra = 0;
    const pump = setInterval(() => {
      for (let i = 0; pumping && i < 200; i++, extra++)
        log.record(t0 + 3 * day + extra, '10.5.1.1', 0, 'during.example', 1, 0, -1, 0, 0, 1, false);
      void log.flush();
    }, 5);
    const reader = openDatabase(live, { readonly: true });
    const result = await backupDatabase(reader, tmp.path('gh-backup.db'));
    pumping = false;
    clearInterval(pump);
    await expect(backupDatabase(reader, result.file)).rejects.toMatchObject({ code: 'GH_ERR_STORE_OPEN' });
    reader.close();
    expect(result.pages).toBeGreaterThan(0);
    // More rows after the backup are not in it.
    log.record(t0 + 5, '10.5.0.99', 0, 'after-backup.example', 1, 0, -1, 0, 0, 1, false);
    await log.close();

    // Restore: the service is stopped; the backup file replaces the database (no -wal / -shm beside it).
    const restored = tmp.path('restored/gh.db');
    openDatabase(restored).close(); // creates the directory, as a fresh install would
    copyFileSync(result.file, restored);
    for (const suffix of ['-wal', '-shm']) expect(existsSync(result.file + suffix)).toBe(false);
    const db = openDatabase(restored);
    try {
      const rows = search(db, { from: t0 - 1, to: t0 + 3 * day, limit: 10_000 }).rows;
      expect(rows).toHaveLength(3000);
      // Taken while the writer was committing, the copy is still a consistent database.
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(rows.filter((r) => r.action === 'block').every((r) => r.category === 'adult')).toBe(true);
      expect(new Set(rows.map((r) => r.group))).toEqual(new Set(['staff', 'pupils']));
      expect(rows.some((r) => r.name === 'after-backup.example')).toBe(false);
      expect(linkSwitches(db)).toEqual([{ at: t0, from: 'fibre', to: '4g', reason: 'fibre down' }]);
    } finally {
      db.close();
    }
  });
});
