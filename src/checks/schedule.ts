// The scheduled filtering self-test inside `serve` (checks.schedule, daily by
// default): every run is recorded as a check, and a failed run raises an IT
// alert, so a filter that silently stopped filtering is noticed.
import cron, { type ScheduledTask } from 'node-cron';
import type { Database } from 'better-sqlite3';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { AlertEngine } from '../alerts/engine.js';
import { runAndRecord } from './run.js';
import type { CheckResult } from './self-test.js';

export interface SelfTestScheduleOptions {
  /** Read on every run, so a reload's new config and alert engine are used. */
  app: { config: Config; db: Database; alerts: AlertEngine };
  run: (opts: { groups?: string[] }) => Promise<CheckResult>;
  logger: Logger;
  now?: () => number;
}

export class SelfTestSchedule {
  private task: ScheduledTask | undefined;

  constructor(private readonly opts: SelfTestScheduleOptions) {}

  start(): void {
    const { schedule, names } = this.opts.app.config.checks;
    if (!schedule || Object.keys(names).length === 0) return;
    this.task = cron.schedule(schedule, () => void this.runOnce(), { name: 'self-test', noOverlap: true });
  }

  stop(): void {
    void this.task?.stop();
    this.task = undefined;
  }

  /** One run: test, record, alert on failure. Never throws. */
  async runOnce(): Promise<number | undefined> {
    const { app, logger } = this.opts;
    try {
      const { id, result } = await runAndRecord({
        run: () => this.opts.run({}),
        db: app.db,
        alerts: app.alerts,
        runBy: 'schedule',
        trigger: 'schedule',
        now: this.opts.now,
      });
      if (result.ok) logger.info({ check: id, summary: result.summary }, 'scheduled self-test passed');
      else logger.error({ check: id, summary: result.summary }, 'scheduled self-test FAILED');
      return id;
    } catch (err) {
      logger.error({ err }, 'scheduled self-test could not run');
      app.alerts.operational({
        kind: 'check-failed',
        message: `the scheduled filtering self-test could not run: ${(err as Error).message}`,
      });
      return undefined;
    }
  }
}
