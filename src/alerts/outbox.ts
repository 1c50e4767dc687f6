// The outbox: one row per message per channel, written in the same transaction
// as the alert it carries, so nothing is lost between deciding to alert and
// sending. A row is marked delivered in the same transaction that records the
// successful attempt; a crash between the send and that transaction resends
// with the same idempotency key (at-least-once, duplicates recognisable).
import type { Database, Statement } from 'better-sqlite3';
import type { ChannelName } from './config.js';

export type OutboxKind = 'alert' | 'digest' | 'notice' | 'report';

export interface OutboxRow {
  id: number;
  createdAt: number;
  channel: ChannelName;
  kind: OutboxKind;
  alertId: number | null;
  /** Digest: the alert ids it covers; notice: the notice's id. */
  alertIds: number[] | null;
  /** Report: its sending (report_sendings, src/reports/schema.ts). */
  sendingId: number | null;
  attempts: number;
}

/** Exponential back-off: base, 2×base, 4×base, … capped at max. */
export function backoffDelay(attempts: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(Math.max(attempts - 1, 0), 30);
  return Math.min(baseMs * 2 ** exp, maxMs);
}

export class Outbox {
  private readonly insertStmt: Statement;
  private readonly dueStmt: Statement;
  private readonly nextDueStmt: Statement;
  private readonly okAttemptStmt: Statement;
  private readonly failAttemptStmt: Statement;
  private readonly markDeliveredStmt: Statement;
  private readonly markFailedStmt: Statement;
  private readonly pendingStmt: Statement;
  readonly recordSuccess: (id: number, channel: ChannelName, at: number, durationMs: number) => void;
  readonly recordFailure: (id: number, channel: ChannelName, at: number, durationMs: number, error: string, nextAt: number) => void;

  constructor(db: Database) {
    this.insertStmt = db.prepare(
      'INSERT INTO alert_outbox (created_at, channel, kind, alert_id, payload, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.dueStmt = db.prepare(
      `SELECT id, created_at, channel, kind, alert_id, payload, attempts FROM alert_outbox
       WHERE channel = ? AND delivered_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?`,
    );
    this.nextDueStmt = db.prepare('SELECT min(next_attempt_at) FROM alert_outbox WHERE channel = ? AND delivered_at IS NULL').pluck();
    this.okAttemptStmt = db.prepare(
      'INSERT INTO alert_deliveries (outbox_id, at, channel, ok, error, duration_ms) VALUES (?, ?, ?, 1, NULL, ?)',
    );
    this.failAttemptStmt = db.prepare(
      'INSERT INTO alert_deliveries (outbox_id, at, channel, ok, error, duration_ms) VALUES (?, ?, ?, 0, ?, ?)',
    );
    this.markDeliveredStmt = db.prepare(
      'UPDATE alert_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ? AND delivered_at IS NULL',
    );
    this.markFailedStmt = db.prepare(
      'UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ? AND delivered_at IS NULL',
    );
    this.pendingStmt = db.prepare('SELECT count(*) FROM alert_outbox WHERE delivered_at IS NULL').pluck();
    this.recordSuccess = db.transaction((id: number, channel: ChannelName, at: number, durationMs: number) => {
      this.okAttemptStmt.run(id, at, channel, Math.round(durationMs));
      this.markDeliveredStmt.run(at, id);
    });
    this.recordFailure = db.transaction(
      (id: number, channel: ChannelName, at: number, durationMs: number, error: string, nextAt: number) => {
        this.failAttemptStmt.run(id, at, channel, error, Math.round(durationMs));
        this.markFailedStmt.run(nextAt, error, id);
      },
    );
  }

  /** Queue a message. Call inside the transaction that creates what it carries. */
  enqueue(channel: ChannelName, kind: OutboxRow['kind'], alertId: number | null, alertIds: number[] | null, now: number): number {
    const payload = alertIds === null ? null : JSON.stringify(alertIds);
    return Number(this.insertStmt.run(now, channel, kind, alertId, payload, now).lastInsertRowid);
  }

  /** Queue a report's sending. Call inside the transaction that records the sending. */
  enqueueReport(channel: ChannelName, sendingId: number, now: number): number {
    return Number(this.insertStmt.run(now, channel, 'report', null, JSON.stringify({ sending: sendingId }), now).lastInsertRowid);
  }

  due(channel: ChannelName, now: number, limit: number): OutboxRow[] {
    return (this.dueStmt.all(channel, now, limit) as Record<string, unknown>[]).map((r) => ({
      id: r.id as number,
      createdAt: r.created_at as number,
      channel: r.channel as ChannelName,
      kind: r.kind as OutboxKind,
      alertId: r.alert_id as number | null,
      alertIds: r.kind === 'report' || r.payload === null ? null : (JSON.parse(r.payload as string) as number[]),
      sendingId: r.kind === 'report' ? (JSON.parse(r.payload as string) as { sending: number }).sending : null,
      attempts: r.attempts as number,
    }));
  }

  /** Earliest next attempt among undelivered rows of a channel, or null when none wait. */
  nextDue(channel: ChannelName): number | null {
    return (this.nextDueStmt.get(channel) as number | null) ?? null;
  }

  pending(): number {
    return this.pendingStmt.get() as number;
  }
}
