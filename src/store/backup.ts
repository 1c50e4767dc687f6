// Online backup of the main database (every partition lives in it), made with
// SQLite's backup API while the service keeps writing.
import { existsSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { StoreError } from './errors.js';

export interface BackupResult {
  file: string;
  pages: number;
  bytes: number;
}

export async function backupDatabase(db: Database, file: string, options: { overwrite?: boolean } = {}): Promise<BackupResult> {
  if (!options.overwrite && existsSync(file)) throw new StoreError('GH_ERR_STORE_OPEN', `backup file ${file} already exists`, file);
  try {
    // All pages in one step, under one read snapshot. In steps of 100 pages (the
    // default) every commit by the query-log writer between two steps would
    // restart the copy, and a large database being written all day would never
    // finish. In WAL mode the writer goes on meanwhile. (The step blocks the
    // calling thread for the whole copy: run it from the CLI or a worker.)
    const result = await db.backup(file, { progress: () => 0x7fffffff });
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    return { file, pages: result.totalPages, bytes: result.totalPages * pageSize };
  } catch (err) {
    throw new StoreError('GH_ERR_STORE_OPEN', `backup to ${file} failed: ${(err as Error).message}`, file, { cause: err });
  }
}
