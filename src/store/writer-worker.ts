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
import type { Batch } from './batch.js';
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

/**
 * How long a batch waits for others to share its transaction. Each commit also
 * upserts the rollups once per (name, bucket), (client, minute) and (minute,
 * shape) it touched, and a popular name touched in four batches costs four
 * upserts in four commits but one in a shared one: at 120k queries/s the
 * rollups fell from about a third of the writer's work to under a tenth. It adds at most this much to
 * what a hard kill can lose (still well under a second).
 */
const COMMIT_WINDOW_MS = 200;

let pending: Batch[] = [];
let pendingRows = 0;
let windowTimer: NodeJS.Timeout | undefined;

/** Write every pending batch in one transaction and report it. */
function commitPending(): void {
  clearTimeout(windowTimer);
  windowTimer = undefined;
  if (pending.length === 0) return;
  const batches = pending;
  const n = pendingRows;
  pending = [];
  pendingRows = 0;
  try {
    writer!.writeBatches(batches);
    reply({ type: 'written', written: n, lost: 0, at: Date.now() });
  } catch (err) {
    reply({ type: 'written', written: 0, lost: n, at: Date.now(), error: message(err) });
  }
}

port.on('message', handle);

function handle(msg: WorkerRequest): void {
  // Anything but more rows (a flush, new dictionaries, a purge, close) comes
  // after the rows posted before it: write those first.
  if (msg.type !== 'batch') commitPending();
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
      pending.push(msg.batch);
      pendingRows += msg.batch.n;
      // Take every batch already queued behind this one: when the writer falls
      // behind, commits get bigger, not more.
      while (pendingRows < GROUP_COMMIT_ROWS) {
        const queued = receiveMessageOnPort(port)?.message as WorkerRequest | undefined;
        if (!queued) break;
        if (queued.type !== 'batch') return handle(queued); // commits the pending rows first
        pending.push(queued.batch);
        pendingRows += queued.batch.n;
      }
      if (pendingRows >= GROUP_COMMIT_ROWS) commitPending();
      else windowTimer ??= setTimeout(commitPending, COMMIT_WINDOW_MS);
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
