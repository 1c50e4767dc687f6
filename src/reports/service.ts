// The reports part of the running service: the daily rollups they read
// (store/daily-job.ts), the report thread that makes them (thread.ts), and
// the schedules (reports.weekly|board|annual.schedule, cron in the reports'
// zone). A scheduled report is made in the report thread, then recorded with
// its outbox rows in one transaction (sendings.ts), so a mail server that is
// down at that time delays it and loses nothing; the alert dispatcher retries
// with back-off. Once a minute the dispatcher is asked to look for due rows,
// so sendings queued by another process (`gatehouse report --send`) go out too.
import cron, { type ScheduledTask } from 'node-cron';
import type { Config } from '../config.js';
import type { AlertEngine } from '../alerts/engine.js';
import type { ChannelName } from '../alerts/config.js';
import { errorText } from '../alerts/dispatcher.js';
import type { ListStatus } from '../lists/manager.js';
import type { Logger } from '../log.js';
import { DailyRollups } from '../store/daily-job.js';
import { defaultPeriod, reportInput, safeguardingCategories, type ListState } from './input.js';
import type { Made, ReportFormat } from './make.js';
import { REPORT_KINDS, type ReportKind } from './model.js';
import { reportFont } from './render/pdf.js';
import { SendingError } from './sendings.js';
import { ReportThread } from './thread.js';
import { periodQuery } from './period.js';

export interface ReportServiceOptions {
  config: Config;
  /** The alert engine of the moment (replaced on a reload that changes alerts). */
  alerts: () => Pick<AlertEngine, 'queueReport' | 'kick' | 'reportSlotSent'>;
  /** The lists as the running service holds them. */
  lists?: () => ListStatus[];
  logger: Logger;
  now?: () => number;
  /** When the service first ran (changes/store.ts inServiceSince): slots before it are never caught up. Without it, none are. */
  inServiceSince?: () => number | undefined;
}

const KICK_EVERY_MS = 60_000;
/**
 * A scheduled report the service missed (it was down, or restarting, at the
 * time) is sent when it starts again if its slot is at most this old: a
 * restart, an update or a power cut that morning. An older one is only logged
 * (the next slot's report follows; `gatehouse report KIND --send` sends one by hand).
 */
const CATCH_UP_MS = 24 * 3_600_000;
/** How far back a missed slot is looked for, to be logged. */
const LOOK_BACK_MS = 7 * 86_400_000;

export function reportZone(config: Config): string {
  return config.reports.timezone ?? config.admin.timezone;
}

/** A report's page in the admin UI, when reports.url says where the admin UI is. */
export function reportLink(config: Config, kind: ReportKind, period: { from: number; to: number }): string | undefined {
  const base = config.reports.url?.replace(/\/+$/, '');
  return base && `${base}/reports/${kind}?${periodQuery(period, reportZone(config))}`;
}

export function listStates(status: ListStatus[]): ListState[] {
  return status.map((l) => ({
    id: l.id,
    category: l.category,
    format: l.format,
    source: l.illegal ? 'withheld (illegal category)' : l.source,
    entries: l.entries,
    serving: l.serving,
    lastSuccess: l.lastSuccess,
    lastError: l.lastError,
  }));
}

export class ReportService {
  private readonly thread: ReportThread;
  private readonly daily: DailyRollups;
  private tasks: { kind: ReportKind; task: ScheduledTask }[] = [];
  private kickTimer: NodeJS.Timeout | undefined;
  private config: Config;
  private readonly now: () => number;

  constructor(private readonly opts: ReportServiceOptions) {
    this.config = opts.config;
    this.now = opts.now ?? Date.now;
    this.thread = new ReportThread(opts.config.store.path);
    this.daily = new DailyRollups({
      path: opts.config.store.path,
      zone: reportZone(opts.config),
      clientCategories: () => safeguardingCategories(this.config),
      logger: opts.logger,
      now: this.now,
    });
  }

  start(): void {
    this.daily.start();
    this.thread.start();
    this.schedule();
    // After the DNS listeners are open: looking back a week of minutes takes a moment.
    setImmediate(() => this.catchUp());
    this.kickTimer = setInterval(() => this.opts.alerts().kick(), KICK_EVERY_MS);
    this.kickTimer.unref();
  }

  configure(config: Config): void {
    this.config = config;
    this.daily.configure({ zone: reportZone(config) });
    if (this.kickTimer) this.schedule();
  }

  private schedule(): void {
    for (const t of this.tasks) void t.task.stop();
    this.tasks = [];
    for (const kind of REPORT_KINDS) {
      const when = this.config.reports[kind].schedule;
      if (when === undefined) continue;
      const task = cron.schedule(when, (ctx) => void this.sendScheduled(kind, ctx.triggeredAt.getTime()), {
        timezone: reportZone(this.config),
        name: `report-${kind}`,
        noOverlap: true,
      });
      this.tasks.push({ kind, task });
    }
  }

  /** Send (or log) the last scheduled slot of each report that has no sending: it came while the service was not running. */
  private catchUp(): void {
    const now = this.now();
    // A new installation is not sent the reports of slots before it ran.
    const since = this.opts.inServiceSince?.();
    if (since === undefined) return;
    for (const { kind, task } of this.tasks) {
      const fired = lastSlot(task, now, LOOK_BACK_MS);
      if (fired === undefined) continue;
      const slot = slotOf(fired);
      if (slot < since || this.opts.alerts().reportSlotSent(kind, slot)) continue;
      const at = new Date(slot).toISOString();
      if (now - slot <= CATCH_UP_MS) {
        this.opts.logger.info({ report: kind, slot: at }, 'sending a scheduled report the service was not running for');
        void this.sendScheduled(kind, fired);
      } else
        this.opts.logger.warn(
          { report: kind, slot: at },
          `a scheduled report was missed while the service was not running, over a day ago: not sent now (gatehouse report ${kind} --send sends one)`,
        );
    }
  }

  /** The default period of a report made at `at` (now, unless given). */
  period(kind: ReportKind, at = this.now()): { from: number; to: number } {
    return defaultPeriod(kind, at, reportZone(this.config), this.config.reports.board.months);
  }

  /** Make a report in the report thread. */
  make(kind: ReportKind, period: { from: number; to: number }, format: ReportFormat): Promise<Made> {
    const input = reportInput(this.config, kind, period, this.now(), this.opts.lists ? listStates(this.opts.lists()) : null);
    return this.thread.make(input, format, reportFont(this.config.reports.fontFile), reportLink(this.config, kind, period));
  }

  /** Make a report and queue it on its channels; resolves with the sending's id once it is recorded. */
  async send(kind: ReportKind, period: { from: number; to: number }, requestedBy: string, slot: number | null = null): Promise<number> {
    const made = await this.make(kind, period, 'email');
    if (made.format !== 'email') throw new Error('the report thread made the wrong format');
    const r = this.config.reports[kind];
    return this.opts.alerts().queueReport(
      {
        report: kind,
        ...period,
        slot,
        requestedBy,
        channels: r.channels as ChannelName[],
        recipients: r.recipients,
        subject: made.subject,
        text: made.text,
        html: made.html,
        pdf: made.pdf,
        images: made.images,
        link: reportLink(this.config, kind, period) ?? null,
      },
      this.now(),
    );
  }

  private async sendScheduled(kind: ReportKind, at: number): Promise<void> {
    try {
      // The period the slot stands for (a slot caught up later still covers the same days).
      const id = await this.send(kind, this.period(kind, at), 'schedule', slotOf(at));
      this.opts.logger.info({ report: kind, sending: id }, 'scheduled report queued');
    } catch (err) {
      if (err instanceof SendingError) return;
      this.opts.logger.error({ report: kind, err: errorText(err) }, 'scheduled report failed');
    }
  }

  async stop(): Promise<void> {
    for (const t of this.tasks) void t.task.stop();
    this.tasks = [];
    clearInterval(this.kickTimer);
    this.kickTimer = undefined;
    await this.daily.stop();
    await this.thread.stop();
  }
}

/** The slot a scheduled time is recorded under: its minute, so the same slot is never sent twice. */
function slotOf(at: number): number {
  return Math.floor(at / 60_000) * 60_000;
}

/** The latest time in (now − within, now] a schedule fired at, or undefined (its seconds field, when it has one, read with cron.parse). */
export function lastSlot(task: Pick<ScheduledTask, 'match' | 'getPattern'>, now: number, within: number): number | undefined {
  const seconds = cron
    .parse(task.getPattern())
    .second.slice()
    .sort((a, b) => b - a);
  for (let minute = Math.floor(now / 60_000) * 60_000; minute > now - within; minute -= 60_000)
    for (const second of seconds) {
      const t = minute + second * 1000;
      if (t <= now && task.match(new Date(t))) return t;
    }
  return undefined;
}
