// StoreReader: the query-log searches and reports (search.ts, rollups.ts,
// history.ts) run in a worker thread with its own read-only connection, so a
// slow report never delays a DNS answer. Same arguments and results as the
// synchronous functions, as promises; errors keep their `code`.
import type { Worker } from 'node:worker_threads';
import { siblingModule, startWorker } from '../util/worker.js';
import { StoreError, type StoreErrorCode } from './errors.js';
import { readers, type ReaderControl, type ReaderName, type ReaderReply } from './reader-protocol.js';
import { matcherBuffers, type MatcherData } from '../lists/matcher.js';
import type { Database } from 'better-sqlite3';

type Fn = typeof readers;
type Arg<K extends ReaderName> = Parameters<Fn[K]>[1];
type Result<K extends ReaderName> = ReturnType<Fn[K]>;

export class StoreReader {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly ready: Promise<void>;

  constructor(path: string) {
    this.worker = startWorker(siblingModule(import.meta.url, 'reader-worker'), { workerData: { path } });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('error', (err) => reject(new StoreError('GH_ERR_STORE_OPEN', `store reader: ${err.message}`, path)));
      this.worker.on('message', (msg: ReaderReply) => {
        if (msg.id === 0) return resolve();
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (!p) return;
        if (msg.ok) p.resolve(msg.value);
        else if (msg.code?.startsWith('GH_ERR_')) p.reject(new StoreError(msg.code as StoreErrorCode, msg.message));
        else p.reject(new Error(msg.message));
      });
    });
    this.worker.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  /** Resolves once the database is open; rejects with GH_ERR_STORE_OPEN if it cannot be. */
  start(): Promise<void> {
    return this.ready;
  }

  call<K extends ReaderName>(fn: K, arg: Arg<K>): Promise<Result<K>> {
    return this.ready.then(
      () =>
        new Promise<Result<K>>((resolve, reject) => {
          const id = this.nextId++;
          this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
          this.worker.postMessage({ id, fn, arg });
        }),
    );
  }

  search(arg: Arg<'search'>) {
    return this.call('search', arg);
  }
  topDomains(arg: Arg<'topDomains'>) {
    return this.call('topDomains', arg);
  }
  topClients(arg: Arg<'topClients'>) {
    return this.call('topClients', arg);
  }
  minuteSeries(arg: Arg<'minuteSeries'>) {
    return this.call('minuteSeries', arg);
  }
  breakdown(arg: Arg<'breakdown'>) {
    return this.call('breakdown', arg);
  }
  whoAtClients(arg: Arg<'whoAtClients'>) {
    return this.call('whoAtClients', arg);
  }
  personActivity(arg: Arg<'personActivity'>) {
    return this.call('personActivity', arg);
  }

  /** The illegal categories' part of the lists now in use (lists/illegal-names.ts); name searches leave out what it matches. */
  setIllegalNames(data: MatcherData | null): void {
    this.worker.postMessage({ type: 'illegal', data } satisfies ReaderControl, data ? matcherBuffers(data) : []);
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: 'close' } satisfies ReaderControl);
    await new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
  }
}

/** The reports the admin UI reads: a StoreReader in the service, inlineReports in tests and tools. */
export type Reports = Pick<
  StoreReader,
  'search' | 'topDomains' | 'topClients' | 'minuteSeries' | 'breakdown' | 'whoAtClients' | 'personActivity'
>;

/**
 * The same reports run on the calling thread. For tests and one-shot tools
 * only: in the service a slow report would hold up DNS answers.
 */
export function inlineReports(db: Database): Reports {
  const run =
    <K extends ReaderName>(fn: K) =>
    (arg: Arg<K>) =>
      new Promise<Result<K>>((resolve) => resolve((readers[fn] as (db: Database, a: Arg<K>) => Result<K>)(db, arg)));
  return {
    search: run('search'),
    topDomains: run('topDomains'),
    topClients: run('topClients'),
    minuteSeries: run('minuteSeries'),
    breakdown: run('breakdown'),
    whoAtClients: run('whoAtClients'),
    personActivity: run('personActivity'),
  };
}
