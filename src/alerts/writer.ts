// Batched writes from the hot path to SQLite. observe() hands over new alerts
// and repeat counts in memory; a timer writes them in small transactions
// (slices), so neither a lookup nor the event loop ever waits long on SQLite.
//
// A new high or critical safeguarding alert does not wait for the timer: its
// write is scheduled for the next turn of the event loop (setImmediate), after
// the answer has been sent and off the query path, so it is in the database
// (WAL, committed: it survives kill -9) within milliseconds of the lookup
// instead of up to flushMs later.
import type { Database } from 'better-sqlite3';
import type { ChannelName } from './config.js';
import { errorText } from './dispatcher.js';
import type { Outbox } from './outbox.js';
import type { AlertStore } from './store.js';
import type { PendingAlert } from './tracker.js';
import type { Logger } from '../log.js';

/** New alerts held in memory between flushes (or while SQLite cannot take them); beyond this they are counted and dropped. */
const MAX_PENDING = 100_000;
/** Items per transaction, so one slice never holds the event loop for long. */
const SLICE_NEW = 250;
const SLICE_DIRTY = 1000;

export interface WriterHooks {
  /** Channels that get an immediate message for this alert. */
  channelsFor(alert: PendingAlert): readonly ChannelName[];
  /** Outbox rows were committed: wake the dispatcher. */
  queued(): void;
  /** Repeats arrived for an alert someone closed; `repeats` of them, from `since`. */
  closed(alert: PendingAlert, repeats: number, since: number): void;
  /** After every slice, committed or not. */
  afterFlush(): void;
}

type SliceResult = { ids: number[]; queued: number; closed: PendingAlert[] };

export class AlertWriter {
  private newAlerts: PendingAlert[] = [];
  private dirty: PendingAlert[] = [];
  private timer: NodeJS.Timeout | null = null;
  private urgent: NodeJS.Immediate | null = null;
  private readonly tx: (newN: number, dirtyN: number) => SliceResult;
  readonly counters = { dropped: 0, errors: 0 };

  constructor(
    db: Database,
    private readonly store: AlertStore,
    private readonly outbox: Outbox,
    private readonly flushMs: number,
    private readonly hooks: WriterHooks,
    private readonly log: Logger,
  ) {
    this.tx = db.transaction((newN: number, dirtyN: number) => this.write(newN, dirtyN));
  }

  /** Queue a new alert; false when the queue is full and it was dropped. */
  add(alert: PendingAlert): boolean {
    if (this.newAlerts.length >= MAX_PENDING) {
      // Logged once per burst, not per lookup.
      if (this.counters.dropped++ % 10_000 === 0)
        this.log.error({ dropped: this.counters.dropped }, 'alert queue full; new alerts dropped');
      return false;
    }
    this.newAlerts.push(alert);
    if (alert.row.kind === 'safeguarding' && (alert.row.severity === 'high' || alert.row.severity === 'critical')) this.writeSoon();
    else this.schedule();
    return true;
  }

  /** Write on the next turn of the event loop (one write for every urgent alert of this turn). */
  private writeSoon(): void {
    if (this.urgent !== null) return;
    this.urgent = setImmediate(() => {
      this.urgent = null;
      if (this.slice() && this.pending) this.schedule(0);
    });
  }

  /** Count one more lookup (or event) for an alert. */
  repeat(alert: PendingAlert, at: number): void {
    if (alert.delta++ === 0) alert.deltaSince = at;
    if (at > alert.lastAt) alert.lastAt = at;
    // Not yet inserted: the insert will carry the repeats.
    if (!alert.dirty && alert.id !== null) {
      alert.dirty = true;
      this.dirty.push(alert);
    }
    this.schedule();
  }

  get pending(): boolean {
    return this.newAlerts.length > 0 || this.dirty.length > 0;
  }

  /** Write everything pending now, slice by slice. */
  flush(): void {
    // Bounded: each successful slice writes at least one item; a failed one stops the loop.
    while (this.pending) if (!this.slice()) break;
  }

  stop(): void {
    this.flush();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.urgent !== null) clearImmediate(this.urgent);
    this.urgent = null;
  }

  private schedule(delay = this.flushMs): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // One slice, then yield to the event loop before the next.
      if (this.slice() && this.pending) this.schedule(0);
    }, delay);
    this.timer.unref();
  }

  /** One slice in one transaction. Returns false when it failed (it is retried later). */
  private slice(): boolean {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    let ok = true;
    if (this.pending) {
      const newN = Math.min(this.newAlerts.length, SLICE_NEW);
      const dirtyN = Math.min(this.dirty.length, SLICE_DIRTY);
      try {
        const result = this.tx(newN, dirtyN);
        this.committed(result, dirtyN);
      } catch (err) {
        // Kept in memory and tried again on the next tick.
        this.counters.errors++;
        this.log.error({ err: errorText(err) }, 'writing alerts to the database failed; will retry');
        this.schedule();
        ok = false;
      }
    }
    this.hooks.afterFlush();
    return ok;
  }

  /**
   * Runs inside the transaction. It only writes: memory is updated after the
   * commit (committed()), so a failed transaction leaves everything pending.
   */
  private write(newN: number, dirtyN: number): SliceResult {
    const now = Date.now();
    const ids: number[] = [];
    let queued = 0;
    for (let i = 0; i < newN; i++) {
      const a = this.newAlerts[i];
      const id = this.store.insert({ ...a.row, count: a.row.count + a.delta, lastAt: a.lastAt });
      for (const ch of this.hooks.channelsFor(a)) {
        this.outbox.enqueue(ch, 'alert', id, null, now);
        queued++;
      }
      ids.push(id);
    }
    // Repeats for an alert closed meanwhile (by the engine or the admin UI) are not added to it.
    const closed: PendingAlert[] = [];
    for (let i = 0; i < dirtyN; i++) {
      const a = this.dirty[i];
      if (a.delta > 0 && !this.store.addCount(a.id!, a.delta, a.lastAt)) closed.push(a);
    }
    return { ids, queued, closed };
  }

  private committed({ ids, queued, closed }: SliceResult, dirtyN: number): void {
    ids.forEach((id, i) => {
      const a = this.newAlerts[i];
      a.id = id;
      // Repeats counted before the insert are in the inserted count.
      a.delta = 0;
    });
    const lost = closed.map((a) => [a, a.delta, a.deltaSince] as const);
    for (let i = 0; i < dirtyN; i++) {
      this.dirty[i].delta = 0;
      this.dirty[i].dirty = false;
    }
    this.newAlerts = ids.length === this.newAlerts.length ? [] : this.newAlerts.slice(ids.length);
    this.dirty = dirtyN === this.dirty.length ? [] : this.dirty.slice(dirtyN);
    if (queued > 0) this.hooks.queued();
    for (const [a, repeats, since] of lost) this.hooks.closed(a, repeats, since);
  }
}
