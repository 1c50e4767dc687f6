// The query-log writer thread. It owns the only writing connection to the
// log tables and handles messages strictly in order, so a `flush` reply means
// everything posted before it is committed. A failed batch (disk full, I/O
// error, lock timeout) is dropped and reported as dropped: the log must never
// make the main thread wait or grow without bound.
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { openDatabase } from './db.js';
import { LogWriter } from './writer.js';
import type { WorkerRequest, WorkerReply } from './writer-protocol.js';
import { runInBackground } from '../util/background.js';

runInBackground();

const port = parentPort!;
let db: Database | undefined;
let writer: LogWriter | undefined;

function reply(msg: WorkerReply): void {
  port.postMessage(msg);
}

function message(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    return code ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/**
 * Most rows one transaction takes when batches queue up. It bounds how long the
 * write lock is held (~0.1 s at 100,000 rows/s): other connections writing to
 * the same file (admin, alerts) wait for it.
 */
const GROUP_COMMIT_ROWS = 16_384;

port.on('message', handle);

function handle(msg: WorkerRequest): void {
  switch (msg.type) {
    case 'open':
      try {
        db = openDatabase(msg.path);
        // Checkpoint (and sync) every ~40 MB of WAL rather than every 4 MB: fewer
        // stalls in the writer; the WAL file is cut back to 64 MB afterwards.
        db.pragma('wal_autocheckpoint = 10000');
        db.pragma('journal_size_limit = 67108864');
        // Caps the file size (pages); a full cap behaves like a full disk.
        if (msg.maxPages) db.pragma(`max_page_count = ${msg.maxPages | 0}`);
        writer = new LogWriter(db);
        reply({ type: 'ready' });
      } catch (err) {
        reply({ type: 'failed', message: message(err), code: (err as { code?: string }).code });
      }
      return;
    case 'batch': {
      // Take every batch already queued behind this one into the same
      // transaction: when the writer falls behind, commits get bigger, not more.
      const batches = [msg.batch];
      let n = msg.batch.n;
      let next: WorkerRequest | undefined;
      while (n < GROUP_COMMIT_ROWS) {
        const queued = receiveMessageOnPort(port)?.message as WorkerRequest | undefined;
        if (!queued) break;
        if (queued.type !== 'batch') {
          next = queued;
          break;
        }
        batches.push(queued.batch);
        n += queued.batch.n;
      }
      try {
        writer!.writeBatches(batches);
        reply({ type: 'written', written: n, lost: 0, at: Date.now() });
      } catch (err) {
        reply({ type: 'written', written: 0, lost: n, at: Date.now(), error: message(err) });
      }
      if (next) handle(next);
      return;
    }
    case 'dict':
      try {
        writer!.setDictionaries(msg.dict);
      } catch (err) {
        reply({ type: 'problem', error: message(err) });
      }
      return;
    case 'switch':
      try {
        writer!.recordLinkSwitch(msg.record);
      } catch (err) {
        reply({ type: 'problem', error: message(err) });
      }
      return;
    case 'refresh':
      try {
        writer!.recordListRefresh(msg.record);
      } catch (err) {
        reply({ type: 'problem', error: message(err) });
      }
      return;
    case 'purge':
      try {
        reply({ type: 'purged', id: msg.id, result: writer!.purge(msg.cutoff) });
      } catch (err) {
        reply({ type: 'purged', id: msg.id, error: message(err) });
      }
      return;
    case 'compact':
      try {
        reply({ type: 'compacted', id: msg.id, days: writer!.compact(msg.beforeDay) });
      } catch (err) {
        reply({ type: 'compacted', id: msg.id, error: message(err) });
      }
      return;
    case 'flush':
      reply({ type: 'flushed', id: msg.id });
      return;
    case 'close':
      try {
        // Fold the WAL back into the database so the file is complete on its own.
        db?.pragma('wal_checkpoint(TRUNCATE)');
        db?.close();
      } finally {
        reply({ type: 'closed' });
        port.close();
      }
      return;
  }
}
