// Shared by the store tests: throw-away database paths under os.tmpdir(), and
// another connection holding the write lock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export function tempDir(): { dir: string; path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-store-'));
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Another connection, in its own thread, takes the database's write lock
 * (BEGIN IMMEDIATE and an insert), holds it `ms` and commits: as the
 * service's own connection does while it writes an alert. Resolves once the
 * lock is held; `done` once the thread has committed and exited.
 */
export async function holdWriteLock(path: string, ms: number): Promise<{ done: Promise<unknown> }> {
  const holder = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const Database = require(workerData.module);
     const db = new Database(workerData.path);
     db.exec('CREATE TABLE IF NOT EXISTS lock_holder (x)');
     db.exec('BEGIN IMMEDIATE');
     db.prepare('INSERT INTO lock_holder VALUES (1)').run();
     parentPort.postMessage('holding');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
     db.exec('COMMIT');
     db.close();`,
    { eval: true, workerData: { path, ms, module: createRequire(import.meta.url).resolve('better-sqlite3') } },
  );
  const done = new Promise((resolve, reject) => {
    holder.once('exit', resolve);
    holder.once('error', reject);
  });
  await Promise.race([new Promise((resolve) => holder.once('message', resolve)), done]);
  return { done };
}
