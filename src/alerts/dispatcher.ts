// Sends pending outbox rows to their channels, oldest first, one channel
// independent of another. A failed send backs the row off exponentially and
// pauses that channel until the row is due again, so a down channel is probed
// once per back-off step rather than once per waiting alert.
import type { ChannelName } from './config.js';
import { backoffDelay, type Outbox, type OutboxRow } from './outbox.js';
import type { Channel, OutgoingMessage } from './types.js';
import type { Logger } from '../log.js';

export interface DispatcherOptions {
  retryBaseMs: number;
  retryMaxMs: number;
  /** Rows read per channel per pass. */
  batch?: number;
  /** Sends in flight per channel: a backlog drains in parallel over a slow mail server. */
  concurrency?: number;
  now?: () => number;
}

/** Renders an outbox row, or returns null when what it refers to no longer exists. */
export type RenderRow = (row: OutboxRow, key: string) => OutgoingMessage | null;

export function idempotencyKey(row: Pick<OutboxRow, 'id' | 'createdAt'>): string {
  return `gh-${row.id}-${row.createdAt.toString(36)}`;
}

export class Dispatcher {
  private readonly running = new Map<ChannelName, Promise<void>>();
  private readonly timers = new Map<ChannelName, NodeJS.Timeout>();
  private readonly again = new Set<ChannelName>();
  /** A channel that just failed is left alone until its back-off ends. */
  private readonly pausedUntil = new Map<ChannelName, number>();
  private stopped = true;
  private readonly now: () => number;
  private readonly batch: number;
  private readonly concurrency: number;

  constructor(
    private readonly outbox: Outbox,
    private readonly channels: ReadonlyMap<ChannelName, Channel>,
    private readonly render: RenderRow,
    private readonly log: Logger,
    private readonly options: DispatcherOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.batch = options.batch ?? 20;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** New rows were queued (or a channel may be back): run every idle channel now. */
  kick(): void {
    if (this.stopped) return;
    for (const name of this.channels.keys()) this.pump(name);
  }

  /** Stop taking rows and wait for sends in flight (each bounded by its channel's timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running.values()]);
  }

  private pump(name: ChannelName): void {
    const paused = this.pausedUntil.get(name);
    if (paused !== undefined && paused > this.now()) {
      if (!this.timers.has(name) && !this.running.has(name)) this.scheduleNext(name);
      return;
    }
    if (this.running.has(name)) {
      // Already sending: look again when this pass ends, for rows queued meanwhile.
      this.again.add(name);
      return;
    }
    const timer = this.timers.get(name);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(name);
    }
    const run = this.drain(name)
      .catch((err: unknown) => this.log.error({ channel: name, err: errorText(err) }, 'alert dispatcher failed'))
      .finally(() => {
        this.running.delete(name);
        if (this.stopped) return;
        if (this.again.delete(name)) this.pump(name);
        else this.scheduleNext(name);
      });
    this.running.set(name, run);
  }

  /** Send due rows until none are due or the channel fails. */
  private async drain(name: ChannelName): Promise<void> {
    const channel = this.channels.get(name)!;
    // Bounded: each pass sends at most `batch` rows; at most 1000 passes per drain.
    for (let pass = 0; pass < 1000 && !this.stopped; pass++) {
      const rows = this.outbox.due(name, this.now(), this.batch);
      let next = 0;
      let failed = false;
      // `concurrency` senders share the rows, oldest first; after a failure none takes another.
      const sender = async () => {
        while (!failed && !this.stopped && next < rows.length) {
          if (!(await this.sendRow(channel, rows[next++]))) failed = true;
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, rows.length) }, sender));
      if (failed || rows.length < this.batch) return;
    }
  }

  /** Returns false when the channel failed, which pauses it until the back-off ends. */
  private async sendRow(channel: Channel, row: OutboxRow): Promise<boolean> {
    const key = idempotencyKey(row);
    const message = this.render(row, key);
    const started = this.now();
    if (message === null) {
      // Nothing left to send (the alert row is gone): count it as done, with the reason.
      this.outbox.recordFailure(row.id, channel.name, started, 0, 'nothing to send', Number.MAX_SAFE_INTEGER);
      return true;
    }
    try {
      await channel.send(message);
    } catch (err) {
      const at = this.now();
      const nextAt = at + backoffDelay(row.attempts + 1, this.options.retryBaseMs, this.options.retryMaxMs);
      this.outbox.recordFailure(row.id, channel.name, at, at - started, errorText(err), nextAt);
      this.pausedUntil.set(channel.name, nextAt);
      this.log.warn(
        { channel: channel.name, outboxId: row.id, attempts: row.attempts + 1, retryInMs: nextAt - at, err: errorText(err) },
        'alert delivery failed; will retry',
      );
      return false;
    }
    const at = this.now();
    this.outbox.recordSuccess(row.id, channel.name, at, at - started);
    this.pausedUntil.delete(channel.name);
    return true;
  }

  private scheduleNext(name: ChannelName): void {
    const due = this.outbox.nextDue(name);
    if (due === null) return;
    const next = Math.max(due, this.pausedUntil.get(name) ?? 0);
    const delay = Math.max(0, Math.min(next - this.now(), 2 ** 31 - 1));
    const timer = setTimeout(() => {
      this.timers.delete(name);
      this.pump(name);
    }, delay);
    timer.unref();
    this.timers.set(name, timer);
  }
}

/** An error's message only: never the request or config objects some errors carry. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? `: ${cause.message}` : '';
    return `${typeof code === 'string' ? code + ' ' : ''}${err.message}${causeText}`.slice(0, 500);
  }
  return String(err).slice(0, 500);
}
