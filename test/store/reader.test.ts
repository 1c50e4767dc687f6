import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { StoreReader } from '../../src/store/reader.js';
import { search } from '../../src/store/search.js';
import { topDomains } from '../../src/store/rollups.js';
import { tempDir } from './helpers.js';
import { writeDataset } from './dataset.js';

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  tmp?.remove();
  tmp = undefined;
});

const START = Date.UTC(2026, 10, 23, 8);

describe('StoreReader (searches off the main thread)', () => {
  it('answers exactly as the synchronous functions do, and keeps error codes', async () => {
    tmp = tempDir();
    const path = tmp.path('gh.db');
    const db = openDatabase(path);
    writeDataset(db, START, 2000, 3000);
    const filter = { from: START, to: START + 2000 * 3000, domain: 'cdn', action: 'allow' as const, limit: 50 };
    const period = { from: START, to: START + 2000 * 3000, limit: 5 };
    const reader = new StoreReader(path);
    await reader.start();
    try {
      expect(await reader.search(filter)).toEqual(search(db, filter));
      expect(await reader.topDomains(period)).toEqual(topDomains(db, period));
      await expect(reader.search({ from: 2, to: 1 })).rejects.toMatchObject({ code: 'GH_ERR_STORE_QUERY' });
    } finally {
      db.close();
      await reader.close();
    }
  });

  it('a missing database: start() rejects with GH_ERR_STORE_OPEN', async () => {
    tmp = tempDir();
    const reader = new StoreReader(tmp.path('missing.db'));
    await expect(reader.start()).rejects.toMatchObject({ code: 'GH_ERR_STORE_OPEN' });
  });
});
