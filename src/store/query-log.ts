// The main-thread side of the query log. `record` is the hot path: it writes
// into columnar arrays (no allocation per row), never waits, and never throws.
// Full batches (or every `flushMs`) are moved to the writer thread. The queue
// between them is bounded by `queueMax` rows: when the disk stalls, new rows are
// dropped and counted instead of piling up, and a 'dropped' event says so.
// A name in an illegal category is replaced by its keyed hash here, before it
// is queued (hidden-names.ts): it never reaches the writer thread or the disk.
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { siblingModule, startWorker } from '../util/worker.js';
import { newBatch, pushRow, sealBatch, transferables, type Batch, type Dictionaries } from './batch.js';
import { StoreError, type StoreErrorCode } from './errors.js';
import { loadNameHider, type NameHider } from './hidden-names.js';
import type { WorkerReply, WorkerRequest } from './writer-protocol.js';
import type { LinkSwitch, ListRefresh, PurgeResult } from './writer.js';

export interface QueryLogOptions {
  /** The main database file (config.store.path). */
  path: string;
  /** Rows buffered or in the writer before new rows are dropped (config.store.queueMax). */
  queueMax: number;
  logger: Logger;
  /** Clock for stats and retention (tests inject one). */
  now?: () => number;
  /** Rows per batch posted to the writer (default 4096). */
  batchRows?: number;
  /** A partial batch is posted at least this often, in ms (default 250); bounds loss on a hard kill. */
  flushMs?: number;
  /** Cap on the database size in pages: a full cap behaves like a full disk (tests, small appliances). */
  maxPages?: number;
  /** Hides illegal-category names; default: keyed by the query-names.key beside `path`. */
  hider?: NameHider;
}

export interface QueryLogStats {
  queued: number;
  written: number;
  dropped: number;
  lastFlushAt: number;
  lastError?: string;
}

/** Emitted (at most once per flush interval) when rows were dropped since the last event. */
export interface DroppedEvent {
  /** Rows dropped since the previous event. */
  count: number;
  /** Rows dropped since start. */
  total: number;
  lastError?: string;
}

export const ACTION_CODES = { allow: 0, block: 1, rewrite: 2 } as const;

export class QueryLog extends EventEmitter {
  private worker: Worker | undefined;
  private batch: Batch;
  private readonly batchRows: number;
  private readonly queueMax: number;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Rows posted to the writer and not yet acknowledged. */
  private inFlight = 0;
  private written = 0;
  private droppedRows = 0;
  private reportedDropped = 0;
  private lastFlushAt = 0;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: WorkerReply) => void>();
  private closedPromise: Promise<void> | undefined;
  private onClosed: (() => void) | undefined;
  private dictionaries: Dictionaries | undefined;
  private readonly hider: NameHider;
  /** 1 per category index whose names are hidden. */
  private illegal = new Uint8Array(0);

  constructor(private readonly opts: QueryLogOptions) {
    super();
    this.hider = opts.hider ?? loadNameHider(opts.path);
    this.batchRows = opts.batchRows ?? 4096;
    this.queueMax = opts.queueMax;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger;
    this.batch = newBatch(this.batchRows);
  }

  get dropped(): number {
    return this.droppedRows;
  }

  /** Start the writer thread; rejects with a StoreError if the database cannot be opened. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('QueryLog already started');
    this.state = 'starting';
    const worker = startWorker(siblingModule(import.meta.url, 'writer-worker'));
    this.worker = worker;
    const ready = new Promise<void>((resolve, reject) => {
      const onFirst = (msg: WorkerReply) => {
        worker.off('error', onError);
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'failed') {
          const code = (msg.code?.startsWith('GH_ERR_') ? msg.code : 'GH_ERR_STORE_OPEN') as StoreErrorCode;
          reject(new StoreError(code, msg.message, this.opts.path));
        } else reject(new Error(`query-log writer: unexpected first message ${msg.type}`));
      };
      const onError = (err: Error) =>
        reject(new StoreError('GH_ERR_STORE_OPEN', `query-log writer failed to start: ${err.message}`, this.opts.path));
      worker.once('message', onFirst);
      worker.once('error', onError);
    });
    this.post({ type: 'open', path: this.opts.path, maxPages: this.opts.maxPages });
    try {
      await ready;
    } catch (err) {
      this.state = 'closed';
      await worker.terminate();
      throw err;
    }
    worker.on('message', (msg: WorkerReply) => this.onReply(msg));
    worker.on('error', (err) => this.onWorkerDeath(`query-log writer crashed: ${err.message}`));
    worker.on('exit', (code) => {
      if (this.state !== 'closing' && this.state !== 'closed') this.onWorkerDeath(`query-log writer exited (code ${code})`);
      this.state = 'closed';
      this.onClosed?.();
    });
    this.state = 'running';
    if (this.dictionaries) this.post({ type: 'dict', dict: this.dictionaries });
    this.postBatch();
    this.timer = setInterval(() => this.tick(), this.opts.flushMs ?? 250);
    this.timer.unref();
  }

  /** Hot path: log one answered query. O(1), never blocks, never throws. */
  record(
    ts: number,
    client: string,
    group: number,
    name: string,
    qtype: number,
    action: number,
    category: number,
    link: number,
    rcode: number,
    latencyUs: number,
    cached: boolean,
    reason = -1,
    list = -1,
    check = false,
    transport = 0,
    person = 0,
    device = 0,
  ): void {
    const b = this.batch;
    if (this.state === 'closing' || this.state === 'closed' || this.inFlight + b.n >= this.queueMax) {
      this.droppedRows++;
      return;
    }
    if (category >= 0 && this.illegal[category] === 1) name = this.hider.hide(String(name ?? ''));
    pushRow(
      b,
      ts,
      client,
      group,
      name,
      qtype,
      action,
      category,
      link,
      rcode,
      latencyUs,
      cached,
      reason,
      list,
      check,
      transport,
      person,
      device,
    );
    if (b.n === this.batchRows) {
      if (this.state === 'running') this.postBatch();
      else this.droppedRows += this.discardBatch(); // not started: nowhere to put it
    }
  }

  /** Names for the group / category / link indexes passed to `record`; call on start and on config reload. */
  setDictionaries(dict: Dictionaries): void {
    this.dictionaries = {
      groups: [...dict.groups],
      categories: [...dict.categories],
      links: [...dict.links],
      lists: [...(dict.lists ?? [])],
      reasons: [...(dict.reasons ?? [])],
    };
    this.illegal = Uint8Array.from(dict.categories, (_, i) => (dict.illegal?.[i] ? 1 : 0));
    if (this.state !== 'running') return;
    // Rows recorded so far belong to the old dictionaries: send them first.
    this.postBatch();
    this.post({ type: 'dict', dict: this.dictionaries });
  }

  recordLinkSwitch(record: LinkSwitch): void {
    if (this.state === 'running') this.post({ type: 'switch', record });
  }

  recordListRefresh(record: ListRefresh): void {
    if (this.state === 'running') this.post({ type: 'refresh', record });
  }

  /** Delete everything logged before `cutoff` (ms epoch); see retention.ts. */
  async purge(cutoff: number): Promise<PurgeResult> {
    const reply = await this.request({ type: 'purge', id: 0, cutoff });
    if (reply.type !== 'purged' || !reply.result)
      throw new Error(`query-log purge failed: ${reply.type === 'purged' ? reply.error : reply.type}`);
    return reply.result;
  }

  /** Rebuild the rollups of finished days (before `beforeDay`) in key order; see partitions.ts. */
  async compact(beforeDay: number): Promise<number[]> {
    const reply = await this.request({ type: 'compact', id: 0, beforeDay });
    if (reply.type !== 'compacted' || !reply.days)
      throw new Error(`query-log compaction failed: ${reply.type === 'compacted' ? reply.error : reply.type}`);
    return reply.days;
  }

  stats(): QueryLogStats {
    const s: QueryLogStats = {
      queued: this.inFlight + this.batch.n,
      written: this.written,
      dropped: this.droppedRows,
      lastFlushAt: this.lastFlushAt,
    };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }

  /** Resolves when everything recorded so far is committed (or counted as dropped). */
  async flush(): Promise<void> {
    if (this.state !== 'running') return;
    this.postBatch();
    await this.request({ type: 'flush', id: 0 });
  }

  /** Flush everything and stop the writer (SIGTERM). Safe to call twice. */
  close(): Promise<void> {
    if (this.closedPromise) return this.closedPromise;
    if (this.state !== 'running') {
      this.state = 'closed';
      this.closedPromise = Promise.resolve();
      return this.closedPromise;
    }
    clearInterval(this.timer);
    this.postBatch();
    this.state = 'closing';
    this.closedPromise = new Promise<void>((resolve) => {
      this.onClosed = resolve;
      this.post({ type: 'close' });
    }).then(() => this.tick());
    return this.closedPromise;
  }

  private tick(): void {
    if (this.state === 'running') this.postBatch();
    const fresh = this.droppedRows - this.reportedDropped;
    if (fresh > 0) {
      this.reportedDropped = this.droppedRows;
      this.log.warn({ dropped: fresh, total: this.droppedRows, lastError: this.lastError }, 'query log dropped rows');
      const event: DroppedEvent = { count: fresh, total: this.droppedRows };
      if (this.lastError !== undefined) event.lastError = this.lastError;
      this.emit('dropped', event);
    }
  }

  private postBatch(): void {
    const b = this.batch;
    if (b.n === 0 || !this.worker) return;
    sealBatch(b);
    this.inFlight += b.n;
    this.batch = newBatch(this.batchRows);
    this.worker.postMessage({ type: 'batch', batch: b } satisfies WorkerRequest, transferables(b));
  }

  private discardBatch(): number {
    const n = this.batch.n;
    this.batch.n = 0;
    return n;
  }

  private post(msg: WorkerRequest): void {
    this.worker?.postMessage(msg);
  }

  private request(msg: Extract<WorkerRequest, { id: number }>): Promise<WorkerReply> {
    if (this.state !== 'running') return Promise.reject(new Error('query log is not running'));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.post({ ...msg, id });
    });
  }

  private onReply(msg: WorkerReply): void {
    switch (msg.type) {
      case 'written':
        this.inFlight -= msg.written + msg.lost;
        this.written += msg.written;
        if (msg.lost > 0) {
          this.droppedRows += msg.lost;
          this.lastError = msg.error;
        } else this.lastFlushAt = this.now();
        return;
      case 'problem':
        this.lastError = msg.error;
        this.log.error({ err: msg.error }, 'query log writer problem');
        return;
      case 'purged':
      case 'compacted':
      case 'flushed': {
        const resolve = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        resolve?.(msg);
        return;
      }
      default:
        return;
    }
  }

  private onWorkerDeath(reason: string): void {
    this.lastError = reason;
    this.log.error(reason);
    this.state = 'closed';
    clearInterval(this.timer);
    // Rows in flight are lost with the thread; pending requests resolve so nobody hangs.
    this.droppedRows += this.inFlight + this.discardBatch();
    this.inFlight = 0;
    for (const [id, resolve] of this.waiting) resolve({ type: 'flushed', id });
    this.waiting.clear();
  }
}
