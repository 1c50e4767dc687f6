// The alert engine: the DNS server calls observe() for every blocked or
// circumvention decision. observe() only touches memory (rules cache, throttle
// map, counters); the writer puts new alerts, their outbox rows and repeat
// counts into SQLite in small batches, then the dispatcher delivers them.
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import cron, { type ScheduledTask } from 'node-cron';
import { type AlertingSeverity, type AlertsConfig, type ChannelName, digestChannels, operationalChannels, routeFor } from './config.js';
import { buildChannels } from './channels/index.js';
import { DiskWatch } from './disk-watch.js';
import { Dispatcher, errorText } from './dispatcher.js';
import { Outbox, type OutboxRow } from './outbox.js';
import { renderAlert, renderDigest } from './render.js';
import { Rules } from './rules.js';
import { AlertStore, type ListFilter, type NewAlert } from './store.js';
import { Tracker, type PendingAlert } from './tracker.js';
import { PairMemo } from '../util/pair-memo.js';
import { AlertWriter } from './writer.js';
import type { Alert, AlertEvent, AlertHistoryEntry, Channel, DeliveryAttempt, Notice, OperationalEvent, OutgoingMessage } from './types.js';
import { NoticeStore, renderNotice } from './notices.js';
import { silentLogger, type Logger } from '../log.js';
import { hasTables } from '../store/db.js';
import { describeIds, type WhoView } from '../store/who.js';
import { recordSending, sendingMessage, slotSent, type NewSending } from '../reports/sendings.js';

export interface AlertEngineOptions {
  /** The main database, opened (and so migrated) by store/db.ts openDatabase; the engine never closes it. */
  db: Database;
  config: AlertsConfig;
  /** config.categories: names for the messages; `illegal` withholds domains even if an event forgets to. */
  categories?: readonly { id: string; name: string; illegal?: boolean }[];
  logger?: Logger;
}

const operationalSeverity: Record<OperationalEvent['kind'], AlertingSeverity> = {
  'link-failover': 'high',
  'link-failback': 'low',
  'list-refresh-failed': 'medium',
  'querylog-dropped': 'high',
  'disk-nearly-full': 'high',
  'check-failed': 'high',
  'client-rate-limited': 'medium',
  'system-resolvers-missing': 'high',
  'account-locked': 'high',
  // The old config stays in force, so nothing is unfiltered; IT must still fix the file.
  'config-rejected': 'medium',
  // Devices off site stop resolving (DoH/DoT verify the certificate) once it expires.
  'certificate-expiring': 'medium',
  'certificate-expired': 'high',
  // The certificate in use stays.
  'certificate-reload-failed': 'medium',
  'change-test-failed': 'high',
  'emergency-change': 'high',
  'emergency-review-overdue': 'high',
};

/**
 * The throttle key of an operational alert: its kind, then its client (a
 * flooding device) and its subject (a locked account) when it has them, so each
 * is throttled apart. The same from an event, a reloaded alert and a closed one.
 */
function opKey(kind: string, client: string | null | undefined, details: Record<string, unknown> | null | undefined): string {
  const subject = details?.subject;
  return 'op\0' + kind + (client ? '\0' + client : '') + (typeof subject === 'string' ? '\0\0' + subject : '');
}

/** The throttle key of a safeguarding alert: its client, then its category. The same from an event, a reloaded alert and a closed one. */
function safeguardingKey(client: string | null, category: string): string {
  return client + '\0' + category;
}

const SWEEP_EVERY_MS = 60_000;
/** Safeguarding throttle keys remembered before the memo starts again (bounded memory). */
const KEY_MEMO_LIMIT = 65_536;
/** Alerts listed in one digest message. */
const DIGEST_MAX = 500;

export class AlertEngine {
  readonly store: AlertStore;
  private readonly outbox: Outbox;
  private readonly rules: Rules;
  private readonly tracker: Tracker;
  /** Safeguarding throttle keys, made once per client and category rather than joined on every blocked lookup. */
  private readonly keys = new PairMemo<string>(KEY_MEMO_LIMIT);
  private readonly channels: Map<ChannelName, Channel>;
  private readonly dispatcher: Dispatcher;
  private readonly log: Logger;
  private readonly names: Map<string, string>;
  private readonly illegal: Set<string>;
  private readonly windowMs: number;
  private readonly opWindowMs: number;
  private readonly opKinds: Set<string>;
  /** Severity → configured channels for immediate messages. */
  private readonly routes: Record<AlertingSeverity, ChannelName[]>;
  private readonly opRoute: ChannelName[];
  private readonly digestSeverities: Set<AlertingSeverity>;
  private readonly writer: AlertWriter;
  private readonly notices: NoticeStore;
  private readonly digestTx: (now: number) => number;
  /** Who an alert is about, read from the identity tables when it is sent (so an erased person is never sent). */
  private readonly who: (a: Alert) => WhoView;
  private digestTask: ScheduledTask | null = null;
  private diskWatch: DiskWatch | null = null;
  private latestAt = 0;
  private lastSweep = 0;
  private started = false;
  readonly counters = { observed: 0, ignored: 0, belowThreshold: 0, raised: 0, repeats: 0 };

  constructor(private readonly options: AlertEngineOptions) {
    const { db, config } = options;
    requireTables(db);
    this.log = (options.logger ?? silentLogger()).child({ part: 'alerts' });
    this.store = new AlertStore(db);
    this.outbox = new Outbox(db);
    this.rules = new Rules(config);
    this.tracker = new Tracker(config.delivery.maxTracked);
    this.names = new Map((options.categories ?? []).map((c) => [c.id, c.name]));
    this.illegal = new Set((options.categories ?? []).filter((c) => c.illegal).map((c) => c.id));
    this.windowMs = config.throttle.windowMinutes * 60_000;
    this.opWindowMs = config.operational.throttleMinutes * 60_000;
    this.opKinds = new Set(config.operational.kinds);
    this.channels = buildChannels(config);
    const built = (list: ChannelName[]) => list.filter((c) => this.channels.has(c));
    this.routes = {
      low: built(routeFor(config, 'low')),
      medium: built(routeFor(config, 'medium')),
      high: built(routeFor(config, 'high')),
      critical: built(routeFor(config, 'critical')),
    };
    this.opRoute = built(operationalChannels(config));
    this.digestSeverities = new Set(config.digest.severities);
    this.dispatcher = new Dispatcher(this.outbox, this.channels, (row, key) => this.renderRow(row, key), this.log, {
      retryBaseMs: config.delivery.retryBaseMs,
      retryMaxMs: config.delivery.retryMaxMs,
    });
    this.writer = new AlertWriter(
      db,
      this.store,
      this.outbox,
      config.delivery.flushMs,
      {
        channelsFor: (a) => (a.row.kind === 'operational' ? this.opRoute : this.routes[a.row.severity]),
        queued: () => this.dispatcher.kick(),
        closed: (a, repeats, since) => this.reraise(a, repeats, since),
        afterFlush: () => this.sweep(),
      },
      this.log,
    );
    this.digestTx = db.transaction((now: number) => this.queueDigest(now));
    this.who = (a) => describeIds(db, a.personId, a.deviceId);
    this.notices = new NoticeStore(db, this.outbox);
  }

  /**
   * Queue a change-control notice on the channels it names that are configured
   * (e-mail, webhook). Written at once, inside the caller's transaction when
   * there is one, so it is kept with the step it is about. Returns its id, or
   * null when none of its channels is configured.
   */
  notice(n: Notice): number | null {
    const channels = n.channels.filter((c) => this.channels.has(c) && c !== 'syslog');
    if (channels.length === 0) return null;
    const id = this.notices.add({ ...n, channels }, n.at ?? Date.now());
    setImmediate(() => this.dispatcher.kick());
    return id;
  }

  /** Reload open throttle windows from SQLite, start delivering and schedule the digest. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.reloadWindows(Date.now());
    this.dispatcher.start();
    if (this.options.config.enabled) {
      const { schedule, timezone } = this.options.config.digest;
      this.digestTask = cron.schedule(schedule, () => this.runDigestSafely(), { timezone, name: 'alerts-digest', noOverlap: true });
      this.startDiskWatch();
    }
  }

  /** Watch the filesystem that holds the database file (none for an in-memory database). */
  private startDiskWatch(): void {
    const { db } = this.options;
    const op = this.options.config.operational;
    if (db.memory || !this.opKinds.has('disk-nearly-full')) return;
    this.diskWatch = new DiskWatch(
      dirname(db.name),
      op.diskUsedPercent,
      op.diskCheckMinutes * 60_000,
      (u) =>
        this.operational({
          kind: 'disk-nearly-full',
          message: `the disk holding ${dirname(db.name)} is ${u.usedPercent}% full (${Math.floor(u.availableBytes / 2 ** 20)} MiB free)`,
          details: {
            path: dirname(db.name),
            usedPercent: u.usedPercent,
            availableBytes: u.availableBytes,
            limitPercent: op.diskUsedPercent,
          },
        }),
      (err) => this.log.warn({ err: errorText(err) }, 'cannot read free disk space'),
    );
    this.diskWatch.start();
  }

  /** One blocked or circumvention lookup. Memory only; never waits on SQLite or the network. */
  observe(e: AlertEvent): void {
    if (!this.options.config.enabled) return;
    this.counters.observed++;
    const rule = this.rules.for(e.group, e.category);
    const severity = rule.severity ?? e.severity;
    if (severity === 'none') {
      this.counters.ignored++;
      return;
    }
    if (e.at > this.latestAt) this.latestAt = e.at;
    const key = this.keys.get(e.client, e.category) ?? this.keys.set(e.client, e.category, safeguardingKey(e.client, e.category));
    const t = this.tracker.track(key, e.at, rule.threshold.count, rule.withinMs);
    if (t.kind === 'repeat') {
      this.counters.repeats++;
      this.writer.repeat(t.alert, e.at);
      return;
    }
    if (t.kind === 'below-threshold') {
      this.counters.belowThreshold++;
      return;
    }
    const illegal = e.illegal || this.illegal.has(e.category);
    this.raise(key, this.windowMs, {
      kind: 'safeguarding',
      createdAt: t.firstAt,
      lastAt: e.at,
      client: e.client,
      clientName: e.clientName ?? null,
      personId: e.personId || null,
      deviceId: e.deviceId || null,
      group: e.group,
      category: e.category,
      severity,
      // An illegal category's domain is dropped here, before it is held anywhere.
      domain: illegal ? null : e.domain,
      illegal,
      circumvention: e.circumvention,
      count: t.count,
      message: null,
      details: null,
      digest: this.digestSeverities.has(severity),
    });
  }

  /** An operational alert for IT (link switch, list refresh failure, dropped log rows, disk). */
  operational(e: OperationalEvent): void {
    if (!this.options.config.enabled || !this.opKinds.has(e.kind)) return;
    const at = e.at ?? Date.now();
    const details = e.subject === undefined ? (e.details ?? null) : { ...e.details, subject: e.subject };
    const key = opKey(e.kind, e.client, details);
    const t = this.tracker.track(key, at, 1, 0);
    if (t.kind === 'repeat') {
      this.writer.repeat(t.alert, at);
      return;
    }
    this.raise(key, this.opWindowMs, {
      kind: 'operational',
      createdAt: at,
      lastAt: at,
      client: e.client ?? null,
      clientName: null,
      personId: null,
      deviceId: null,
      group: null,
      category: e.kind,
      severity: operationalSeverity[e.kind],
      domain: null,
      illegal: false,
      circumvention: false,
      count: 1,
      message: e.message,
      details,
      digest: false,
    });
  }

  private raise(key: string, windowMs: number, row: NewAlert): void {
    const alert: PendingAlert = { id: null, key, row, delta: 0, deltaSince: 0, lastAt: row.lastAt, dirty: false };
    if (!this.writer.add(alert)) return;
    this.counters.raised++;
    if (windowMs > 0) this.tracker.open(key, alert, row.lastAt + windowMs);
  }

  /** Repeats for a closed alert: forget its window and raise a fresh alert that counts them. */
  private reraise(a: PendingAlert, repeats: number, since: number): void {
    this.tracker.forget(a.key, a.id!);
    const windowMs = a.row.kind === 'operational' ? this.opWindowMs : this.windowMs;
    this.raise(a.key, windowMs, { ...a.row, createdAt: since, lastAt: a.lastAt, count: repeats });
  }

  /** Drop idle throttle entries now and then (by event time, so tests can use any clock). */
  private sweep(): void {
    if (this.latestAt - this.lastSweep <= SWEEP_EVERY_MS) return;
    this.lastSweep = this.latestAt;
    this.tracker.sweep(this.latestAt, Math.max(this.windowMs, 60 * 60_000));
  }

  /** Write every pending alert and count to SQLite now, and wake the dispatcher. */
  flush(): void {
    this.writer.flush();
  }

  /** Put the low-severity alerts waiting for the digest into one outbox message per digest channel. */
  runDigest(): number {
    this.flush();
    let total = 0;
    // One message per DIGEST_MAX alerts; bounded at 50 messages a day.
    for (let i = 0; i < 50; i++) {
      const n = this.digestTx(Date.now());
      total += n;
      if (n < DIGEST_MAX) break;
    }
    if (total > 0) this.dispatcher.kick();
    return total;
  }

  private runDigestSafely(): void {
    try {
      const n = this.runDigest();
      this.log.info({ alerts: n }, 'alert digest queued');
    } catch (err) {
      this.log.error({ err: errorText(err) }, 'alert digest failed');
    }
  }

  private queueDigest(now: number): number {
    const ids = this.store.pendingDigest(DIGEST_MAX);
    if (ids.length === 0) return 0;
    for (const ch of digestChannels(this.options.config)) {
      if (this.channels.has(ch)) this.outbox.enqueue(ch, 'digest', null, ids, now);
    }
    this.store.markDigested(ids);
    return ids.length;
  }

  private renderRow(row: OutboxRow, key: string): OutgoingMessage | null {
    if (row.kind === 'notice') {
      const n = row.alertIds?.[0] === undefined ? undefined : this.notices.get(row.alertIds[0]);
      return n ? renderNotice(n, key) : null;
    }
    if (row.kind === 'report') return row.sendingId === null ? null : sendingMessage(this.options.db, row.sendingId, row.channel, key);
    if (row.kind === 'alert') {
      const alert = row.alertId === null ? undefined : this.store.get(row.alertId);
      return alert ? renderAlert(alert, key, this.names, this.who) : null;
    }
    const alerts = (row.alertIds ?? []).map((id) => this.store.get(id)).filter((a): a is Alert => a !== undefined);
    return alerts.length > 0 ? renderDigest(alerts, key, this.names, this.who) : null;
  }

  private reloadWindows(now: number): void {
    for (const a of this.store.recent('safeguarding', now - this.windowMs)) {
      const key = safeguardingKey(a.client, a.category);
      this.tracker.open(key, this.reloaded(a, key), a.createdAt + this.windowMs);
    }
    if (this.opWindowMs > 0) {
      for (const a of this.store.recent('operational', now - this.opWindowMs)) {
        const key = opKey(a.category, a.client, a.details);
        this.tracker.open(key, this.reloaded(a, key), a.createdAt + this.opWindowMs);
      }
    }
  }

  private reloaded(a: Alert, key: string): PendingAlert {
    const row: NewAlert = {
      kind: a.kind,
      createdAt: a.createdAt,
      lastAt: a.lastAt,
      client: a.client,
      clientName: a.clientName,
      personId: a.personId,
      deviceId: a.deviceId,
      group: a.group,
      category: a.category,
      severity: a.severity,
      domain: a.domain,
      illegal: a.illegal,
      circumvention: a.circumvention,
      count: a.count,
      message: a.message,
      details: a.details,
      digest: this.digestSeverities.has(a.severity) && a.kind === 'safeguarding',
    };
    return { id: a.id, key, row, delta: 0, deltaSince: 0, lastAt: a.lastAt, dirty: false };
  }

  // The admin UI's inbox. Writes here are the DSL's, not the hot path's.

  list(filter?: ListFilter): { total: number; items: Alert[] } {
    this.flush();
    return this.store.list(filter);
  }

  get(id: number): (Alert & { history: AlertHistoryEntry[]; deliveries: DeliveryAttempt[] }) | undefined {
    this.flush();
    const alert = this.store.get(id);
    return alert && { ...alert, history: this.store.history(id), deliveries: this.store.deliveries(id) };
  }

  acknowledge(id: number, user: string): Alert {
    this.flush();
    return this.store.acknowledge(id, user);
  }

  /** Close with an outcome. Further lookups from that client and category raise a new alert. */
  close(id: number, user: string, outcome: string): Alert {
    this.flush();
    const alert = this.store.close(id, user, outcome);
    this.tracker.forget(
      alert.kind === 'operational' ? opKey(alert.category, alert.client, alert.details) : safeguardingKey(alert.client, alert.category),
      id,
    );
    return alert;
  }

  /**
   * Record a report's sending and queue it on its channels (those configured
   * here), then start delivering. Returns the sending's id.
   */
  /** Whether a scheduled report's slot has a sending already (reports/service.ts catches up the others). */
  reportSlotSent(report: NewSending['report'], slot: number): boolean {
    return slotSent(this.options.db, report, slot);
  }

  queueReport(sending: NewSending, now: number): number {
    const id = recordSending(
      this.options.db,
      this.outbox,
      { ...sending, channels: sending.channels.filter((c) => this.channels.has(c)) },
      now,
    );
    this.dispatcher.kick();
    return id;
  }

  /** Look for due outbox rows now (rows another process queued: `gatehouse report --send`). */
  kick(): void {
    this.dispatcher.kick();
  }

  /** Outbox rows not yet delivered, on every channel. */
  pendingDeliveries(): number {
    return this.outbox.pending();
  }

  /** Figures for metrics and the status page. */
  stats(): typeof this.counters & { dropped: number; writeErrors: number; tracked: number; pendingDeliveries: number } {
    return {
      ...this.counters,
      dropped: this.writer.counters.dropped,
      writeErrors: this.writer.counters.errors,
      tracked: this.tracker.size,
      pendingDeliveries: this.outbox.pending(),
    };
  }

  /** Write what is pending, stop the digest, wait for sends in flight and close the channels. */
  async stop(): Promise<void> {
    this.digestTask?.destroy();
    this.digestTask = null;
    this.diskWatch?.stop();
    this.diskWatch = null;
    this.writer.stop();
    await this.dispatcher.stop();
    await Promise.allSettled([...this.channels.values()].map((c) => c.close()));
    this.started = false;
  }
}

/** The tables come from migration 2 in store/migrations.ts; say so plainly if they are missing. */
function requireTables(db: Database): void {
  if (!hasTables(db, 'alerts', 'alert_history', 'alert_outbox', 'alert_deliveries'))
    throw new Error('the database has no alert tables: open it with openDatabase() from src/store/db.ts, which runs the migrations');
}
