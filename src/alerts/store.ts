// The alert inbox in SQLite: writes from the engine's batched flush, and the
// list / get / acknowledge / close API behind the admin UI. Every status
// change appends to alert_history in the same transaction.
import type { Database, Statement } from 'better-sqlite3';
import type { AlertingSeverity } from './config.js';
import type { Alert, AlertHistoryEntry, AlertKind, AlertStatus, DeliveryAttempt } from './types.js';

export class AlertError extends Error {
  constructor(
    readonly code: 'GH_ERR_ALERT_NOT_FOUND' | 'GH_ERR_ALERT_STATE' | 'GH_ERR_ALERT_INPUT',
    message: string,
  ) {
    super(message);
  }
}

export interface NewAlert {
  kind: AlertKind;
  createdAt: number;
  lastAt: number;
  client: string | null;
  clientName: string | null;
  personId: number | null;
  deviceId: number | null;
  group: string | null;
  category: string;
  severity: AlertingSeverity;
  domain: string | null;
  illegal: boolean;
  circumvention: boolean;
  count: number;
  message: string | null;
  details: Record<string, unknown> | null;
  /** Waits for the daily digest. */
  digest: boolean;
}

export interface ListFilter {
  kind?: AlertKind;
  status?: AlertStatus;
  severity?: AlertingSeverity;
  limit?: number;
  offset?: number;
}

interface AlertRowDb {
  id: number;
  kind: AlertKind;
  created_at: number;
  last_at: number;
  client: string | null;
  client_name: string | null;
  person_id: number | null;
  device_id: number | null;
  group_name: string | null;
  category: string;
  severity: AlertingSeverity;
  domain: string | null;
  illegal: number;
  circumvention: number;
  count: number;
  message: string | null;
  details: string | null;
  status: AlertStatus;
  outcome: string | null;
  acknowledged_by: string | null;
  acknowledged_at: number | null;
  closed_by: string | null;
  closed_at: number | null;
}

export function toAlert(r: AlertRowDb): Alert {
  return {
    id: r.id,
    kind: r.kind,
    createdAt: r.created_at,
    lastAt: r.last_at,
    client: r.client,
    clientName: r.client_name,
    personId: r.person_id,
    deviceId: r.device_id,
    group: r.group_name,
    category: r.category,
    severity: r.severity,
    domain: r.domain,
    illegal: r.illegal === 1,
    circumvention: r.circumvention === 1,
    count: r.count,
    message: r.message,
    details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
    status: r.status,
    outcome: r.outcome,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: r.acknowledged_at,
    closedBy: r.closed_by,
    closedAt: r.closed_at,
  };
}

const MAX_PAGE = 500;

export class AlertStore {
  private readonly insertStmt: Statement;
  private readonly addCountStmt: Statement;
  private readonly getStmt: Statement;
  private readonly listStmt: Statement;
  private readonly countStmt: Statement;
  private readonly setAckStmt: Statement;
  private readonly setClosedStmt: Statement;
  private readonly historyInsertStmt: Statement;
  private readonly historyStmt: Statement;
  private readonly deliveriesStmt: Statement;
  private readonly recentStmt: Statement;
  private readonly pendingDigestStmt: Statement;
  private readonly markDigestedStmt: Statement;

  constructor(private readonly db: Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO alerts (kind, created_at, last_at, client, client_name, person_id, device_id, group_name, category, severity, domain,
                           illegal, circumvention, count, message, details, digest)
       VALUES (@kind, @createdAt, @lastAt, @client, @clientName, @personId, @deviceId, @group, @category, @severity, @domain,
               @illegal, @circumvention, @count, @message, @details, @digest)`,
    );
    this.addCountStmt = db.prepare(`UPDATE alerts SET count = count + ?, last_at = max(last_at, ?) WHERE id = ? AND status != 'closed'`);
    this.getStmt = db.prepare('SELECT * FROM alerts WHERE id = ?');
    const where = `kind = @kind AND (@status IS NULL OR status = @status) AND (@severity IS NULL OR severity = @severity)`;
    this.listStmt = db.prepare(`SELECT * FROM alerts WHERE ${where} ORDER BY id DESC LIMIT @limit OFFSET @offset`);
    this.countStmt = db.prepare(`SELECT count(*) AS n FROM alerts WHERE ${where}`).pluck();
    this.setAckStmt = db.prepare(
      `UPDATE alerts SET status = 'acknowledged', acknowledged_by = ?, acknowledged_at = ? WHERE id = ? AND status = 'open'`,
    );
    this.setClosedStmt = db.prepare(
      `UPDATE alerts SET status = 'closed', closed_by = ?, closed_at = ?, outcome = ? WHERE id = ? AND status != 'closed'`,
    );
    this.historyInsertStmt = db.prepare(
      'INSERT INTO alert_history (alert_id, at, user, from_status, to_status, note) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.historyStmt = db.prepare('SELECT * FROM alert_history WHERE alert_id = ? ORDER BY id');
    this.deliveriesStmt = db.prepare(
      `SELECT d.* FROM alert_deliveries d JOIN alert_outbox o ON o.id = d.outbox_id WHERE o.alert_id = ? ORDER BY d.id`,
    );
    this.pendingDigestStmt = db.prepare(`SELECT id FROM alerts WHERE digest = 'pending' ORDER BY id LIMIT ?`).pluck();
    this.markDigestedStmt = db.prepare(`UPDATE alerts SET digest = 'sent' WHERE id = ? AND digest = 'pending'`);
    this.recentStmt = db.prepare(`SELECT * FROM alerts WHERE kind = ? AND created_at >= ? AND status != 'closed'`);
  }

  /** Insert a new alert; returns its id. Call inside the engine's flush transaction. */
  insert(a: NewAlert): number {
    const info = this.insertStmt.run({
      ...a,
      illegal: a.illegal ? 1 : 0,
      circumvention: a.circumvention ? 1 : 0,
      domain: a.illegal ? null : a.domain,
      details: a.details === null ? null : JSON.stringify(a.details),
      digest: a.digest ? 'pending' : null,
    });
    return Number(info.lastInsertRowid);
  }

  /** Add repeats to an alert; returns false (and changes nothing) when it has been closed. */
  addCount(id: number, by: number, lastAt: number): boolean {
    return this.addCountStmt.run(by, lastAt, id).changes === 1;
  }

  /** Alerts still open since `since` (ms): the engine reloads its throttle state from them at start. */
  recent(kind: AlertKind, since: number): Alert[] {
    return (this.recentStmt.all(kind, since) as AlertRowDb[]).map(toAlert);
  }

  /** Ids of alerts waiting for the digest, oldest first. */
  pendingDigest(limit: number): number[] {
    return this.pendingDigestStmt.all(limit) as number[];
  }

  /** Call inside the transaction that queues the digest message. */
  markDigested(ids: number[]): void {
    for (const id of ids) this.markDigestedStmt.run(id);
  }

  get(id: number): Alert | undefined {
    const row = this.getStmt.get(id) as AlertRowDb | undefined;
    return row ? toAlert(row) : undefined;
  }

  list(filter: ListFilter = {}): { total: number; items: Alert[] } {
    const params = {
      kind: filter.kind ?? 'safeguarding',
      status: filter.status ?? null,
      severity: filter.severity ?? null,
      limit: Math.min(Math.max(1, Math.trunc(filter.limit ?? 50)), MAX_PAGE),
      offset: Math.max(0, Math.trunc(filter.offset ?? 0)),
    };
    const { limit: _limit, offset: _offset, ...where } = params;
    return {
      total: this.countStmt.get(where) as number,
      items: (this.listStmt.all(params) as AlertRowDb[]).map(toAlert),
    };
  }

  history(id: number): AlertHistoryEntry[] {
    return (this.historyStmt.all(id) as Record<string, unknown>[]).map((r) => ({
      id: r.id as number,
      alertId: r.alert_id as number,
      at: r.at as number,
      user: r.user as string,
      fromStatus: r.from_status as AlertStatus,
      toStatus: r.to_status as AlertStatus,
      note: r.note as string | null,
    }));
  }

  /** Every delivery attempt for an alert, on every channel. */
  deliveries(id: number): DeliveryAttempt[] {
    return (this.deliveriesStmt.all(id) as Record<string, unknown>[]).map((r) => ({
      id: r.id as number,
      outboxId: r.outbox_id as number,
      at: r.at as number,
      channel: r.channel as DeliveryAttempt['channel'],
      ok: r.ok === 1,
      error: r.error as string | null,
      durationMs: r.duration_ms as number,
    }));
  }

  acknowledge(id: number, user: string, at = Date.now()): Alert {
    requireText(user, 'user');
    return this.db.transaction(() => {
      const before = this.mustGet(id);
      if (before.status !== 'open') throw new AlertError('GH_ERR_ALERT_STATE', `alert ${id} is ${before.status}, not open`);
      this.setAckStmt.run(user, at, id);
      this.historyInsertStmt.run(id, at, user, before.status, 'acknowledged', null);
      return this.mustGet(id);
    })();
  }

  close(id: number, user: string, outcome: string, at = Date.now()): Alert {
    requireText(user, 'user');
    requireText(outcome, 'outcome');
    return this.db.transaction(() => {
      const before = this.mustGet(id);
      if (before.status === 'closed') throw new AlertError('GH_ERR_ALERT_STATE', `alert ${id} is already closed`);
      this.setClosedStmt.run(user, at, outcome, id);
      this.historyInsertStmt.run(id, at, user, before.status, 'closed', outcome);
      return this.mustGet(id);
    })();
  }

  private mustGet(id: number): Alert {
    const alert = this.get(id);
    if (!alert) throw new AlertError('GH_ERR_ALERT_NOT_FOUND', `no alert ${id}`);
    return alert;
  }
}

function requireText(value: string, what: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new AlertError('GH_ERR_ALERT_INPUT', `${what} must not be empty`);
}

/** A person's safeguarding alerts raised in [from, to), newest first (the person page, the subject access export). */
export function alertsOfPerson(db: Database, personId: number, from = 0, to = Number.MAX_SAFE_INTEGER): Alert[] {
  return (
    db
      .prepare(
        "SELECT * FROM alerts WHERE person_id = ? AND kind = 'safeguarding' AND created_at >= ? AND created_at < ? ORDER BY created_at DESC, id DESC",
      )
      .all(personId, from, to) as AlertRowDb[]
  ).map(toAlert);
}
