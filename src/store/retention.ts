// Retention: once a day (node-cron) delete everything logged more than
// `retentionDays` ago. The purge runs in the writer thread (the only writer),
// drops whole day partitions and trims the one day that straddles the cutoff.
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.js';
import { dayOf, DAY_MS } from './partitions.js';
import type { PurgeResult } from './writer.js';

export interface Purger {
  purge(cutoff: number): Promise<PurgeResult>;
  compact(beforeDay: number): Promise<number[]>;
}

export interface RetentionOptions {
  log: Purger;
  retentionDays: number;
  logger: Logger;
  /** Clock (tests inject one). */
  now?: () => number;
  /** node-cron expression; default 03:17 every day, server time. */
  schedule?: string;
}

/** Rows with a timestamp before this are past retention. */
export function retentionCutoff(now: number, retentionDays: number): number {
  return now - retentionDays * DAY_MS;
}

export class Retention {
  private task: ScheduledTask | undefined;
  private running: Promise<PurgeResult> | undefined;

  constructor(private readonly opts: RetentionOptions) {}

  /** Schedule the daily purge and run one now (catching up after downtime). */
  start(): void {
    this.task = cron.schedule(this.opts.schedule ?? '17 3 * * *', () => {
      void this.runOnce().catch(() => undefined);
    });
    void this.runOnce().catch(() => undefined);
  }

  stop(): void {
    void this.task?.stop();
    this.task = undefined;
  }

  /** Purge now (then compact finished days); concurrent calls share one run. */
  runOnce(): Promise<PurgeResult> {
    if (this.running) return this.running;
    const now = (this.opts.now ?? Date.now)();
    const cutoff = retentionCutoff(now, this.opts.retentionDays);
    this.running = this.opts.log
      .purge(cutoff)
      .then(async (result) => {
        const compacted = await this.opts.log.compact(dayOf(now));
        this.opts.logger.info(
          { cutoff: new Date(cutoff).toISOString(), ...result, compactedDays: compacted.length },
          'query log retention purge',
        );
        return result;
      })
      .catch((err: unknown) => {
        this.opts.logger.error({ err }, 'query log retention purge failed');
        throw err;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
