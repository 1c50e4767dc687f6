// The daily-rollup job (store/daily.ts): at start and then every hour (at
// minute 5, local time: the first run after midnight rolls up the day that
// just ended), the days that have finished and have no rollup are rolled up
// in the daily-rollup thread. Hourly rather than once a day, so a day the
// retention purge cut (its first hours gone) or a run that failed is done
// again within the hour, and a missed midnight costs nothing.
import cron, { type ScheduledTask } from 'node-cron';
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { siblingModule, startWorker } from '../util/worker.js';

export type DailyRequest = { type: 'build'; id: number; zone: string; clientCategories: string[]; now: number } | { type: 'close' };
export interface DailyReply {
  id: number;
  built: { day: number; ms: number; queries: number }[];
  error?: string;
}

export interface DailyJobOptions {
  path: string;
  /** The school's zone: days are its local days. */
  zone: string;
  /** Category ids counted per client (see daily.ts); read at each run, so a reload applies to the next day. */
  clientCategories: () => string[];
  logger: Logger;
  now?: () => number;
}

export class DailyRollups {
  private worker: Worker | undefined;
  private task: ScheduledTask | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: DailyReply) => void>();
  private running: Promise<DailyReply> | undefined;

  constructor(private opts: DailyJobOptions) {}

  start(): void {
    this.worker = startWorker(siblingModule(import.meta.url, 'daily-worker'), { workerData: { path: this.opts.path } });
    this.worker.on('message', (r: DailyReply) => {
      this.waiting.get(r.id)?.(r);
      this.waiting.delete(r.id);
    });
    this.worker.on('error', (err) => {
      this.opts.logger.error({ err: err.message }, 'daily rollup thread failed');
      for (const resolve of this.waiting.values()) resolve({ id: 0, built: [], error: err.message });
      this.waiting.clear();
      this.worker = undefined;
    });
    this.schedule();
    void this.runOnce();
  }

  /** A new zone takes effect from the next run (days built in another zone are built again). */
  configure(opts: Pick<DailyJobOptions, 'zone'>): void {
    const changed = opts.zone !== this.opts.zone;
    this.opts = { ...this.opts, ...opts };
    if (changed && this.task) {
      void this.task.stop();
      this.schedule();
    }
  }

  private schedule(): void {
    this.task = cron.schedule('5 * * * *', () => void this.runOnce(), { timezone: this.opts.zone, name: 'daily-rollups', noOverlap: true });
  }

  /** Roll up every finished day that has no rollup; concurrent calls share one run. */
  runOnce(): Promise<DailyReply> {
    if (this.running) return this.running;
    const worker = this.worker;
    if (!worker) return Promise.resolve({ id: 0, built: [], error: 'the daily rollup thread is not running' });
    const id = this.nextId++;
    const now = (this.opts.now ?? Date.now)();
    this.running = new Promise<DailyReply>((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({
        type: 'build',
        id,
        zone: this.opts.zone,
        clientCategories: this.opts.clientCategories(),
        now,
      } satisfies DailyRequest);
    }).then((r) => {
      this.running = undefined;
      if (r.error) this.opts.logger.error({ err: r.error, built: r.built.length }, 'daily rollup failed');
      else if (r.built.length > 0)
        this.opts.logger.info(
          { days: r.built.length, ms: r.built.reduce((s, b) => s + b.ms, 0), queries: r.built.reduce((s, b) => s + b.queries, 0) },
          'daily rollups built',
        );
      return r;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    void this.task?.stop();
    this.task = undefined;
    await this.running;
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies DailyRequest);
    await exited;
  }
}
