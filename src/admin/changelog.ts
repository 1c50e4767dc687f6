// The change log: one row per change to filtering, users or settings, written
// in the same transaction as the change. Each row's hash covers the previous
// row's hash and its own content, so editing or removing a row shows.
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';

export interface ChangeInput {
  /** Who made the change: a user name, or "cli (osuser)". */
  actor: string;
  /** What kind of thing changed: exception, exception-request, user, group, list, setting, ... */
  entity: string;
  entityId?: string | number | null;
  /** create, update, delete, approve, refuse, unlock, ... */
  action: string;
  before?: unknown;
  after?: unknown;
  requester?: string | null;
  reason?: string | null;
  approver?: string | null;
  /** Milliseconds since the epoch; defaults to now. */
  at?: number;
}

export interface ChangeRow {
  id: number;
  at: number;
  actor: string;
  entity: string;
  entity_id: string | null;
  action: string;
  before_json: string | null;
  after_json: string | null;
  requester: string | null;
  reason: string | null;
  approver: string | null;
  prev_hash: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);

function rowHash(prevHash: string, r: Omit<ChangeRow, 'hash' | 'prev_hash'>): string {
  const canonical = JSON.stringify([
    r.id,
    r.at,
    r.actor,
    r.entity,
    r.entity_id,
    r.action,
    r.before_json,
    r.after_json,
    r.requester,
    r.reason,
    r.approver,
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

const toJson = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

/** Append one row. Call inside the transaction that makes the change (see withChange). */
export function appendChange(db: Database, change: ChangeInput): ChangeRow {
  const last = db.prepare('SELECT id, hash FROM change_log ORDER BY id DESC LIMIT 1').get() as { id: number; hash: string } | undefined;
  const base = {
    id: (last?.id ?? 0) + 1,
    at: change.at ?? Date.now(),
    actor: change.actor,
    entity: change.entity,
    entity_id: change.entityId == null ? null : String(change.entityId),
    action: change.action,
    before_json: toJson(change.before),
    after_json: toJson(change.after),
    requester: change.requester ?? null,
    reason: change.reason ?? null,
    approver: change.approver ?? null,
  };
  const prev_hash = last?.hash ?? GENESIS;
  const row: ChangeRow = { ...base, prev_hash, hash: rowHash(prev_hash, base) };
  db.prepare(
    `INSERT INTO change_log (id, at, actor, entity, entity_id, action, before_json, after_json, requester, reason, approver, prev_hash, hash)
     VALUES (@id, @at, @actor, @entity, @entity_id, @action, @before_json, @after_json, @requester, @reason, @approver, @prev_hash, @hash)`,
  ).run(row);
  return row;
}

/**
 * Run `fn` (the change itself) and append its change-log row in one SQLite
 * transaction: both happen or neither does. `change` may be a function of
 * fn's result (for ids or "after" values known only once the change is made).
 * Uses BEGIN IMMEDIATE so two processes (the service and the CLI) cannot fork the chain.
 */
export function withChange<T>(db: Database, change: ChangeInput | ((result: T) => ChangeInput), fn: () => T): T {
  const run = db.transaction(() => {
    const result = fn();
    appendChange(db, typeof change === 'function' ? change(result) : change);
    return result;
  });
  return db.inTransaction ? run() : run.immediate();
}

export type ChainStatus = { ok: true; rows: number } | { ok: false; rows: number; brokenAt: number };

/** Re-compute every hash; reports the first row whose hash or link does not match. */
export function verifyChain(db: Database): ChainStatus {
  let prev = GENESIS;
  let rows = 0;
  let expectedId = 1;
  for (const r of db.prepare('SELECT * FROM change_log ORDER BY id').iterate() as Iterable<ChangeRow>) {
    rows++;
    // A missing id means a row was removed; the row after the gap is where it shows.
    if (r.id !== expectedId || r.prev_hash !== prev || rowHash(prev, r) !== r.hash) return { ok: false, rows, brokenAt: r.id };
    prev = r.hash;
    expectedId++;
  }
  return { ok: true, rows };
}

export interface ChangeFilter {
  /** Inclusive bounds, milliseconds since the epoch. */
  from?: number;
  to?: number;
  limit?: number;
  offset?: number;
}

export function listChanges(db: Database, filter: ChangeFilter = {}): ChangeRow[] {
  return db
    .prepare('SELECT * FROM change_log WHERE at >= ? AND at <= ? ORDER BY id DESC LIMIT ? OFFSET ?')
    .all(filter.from ?? 0, filter.to ?? Number.MAX_SAFE_INTEGER, Math.min(filter.limit ?? 500, 10_000), filter.offset ?? 0) as ChangeRow[];
}

/** The rows about one thing (a change request's steps), oldest first. */
export function changesOf(db: Database, entity: string, entityId: string | number): ChangeRow[] {
  return db
    .prepare('SELECT * FROM change_log WHERE entity = ? AND entity_id = ? ORDER BY id LIMIT 1000')
    .all(entity, String(entityId)) as ChangeRow[];
}

/** A CSV cell, quoted, and defused against spreadsheet formula injection (=, +, -, @). */
function csvCell(value: unknown): string {
  let text = value == null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
  return '"' + text.replace(/"/g, '""') + '"';
}

export function changesCsv(rows: ChangeRow[]): string {
  const header = ['id', 'time_utc', 'actor', 'entity', 'entity_id', 'action', 'before', 'after', 'requester', 'reason', 'approver', 'hash'];
  const lines = rows.map((r) =>
    [
      r.id,
      new Date(r.at).toISOString(),
      r.actor,
      r.entity,
      r.entity_id,
      r.action,
      r.before_json,
      r.after_json,
      r.requester,
      r.reason,
      r.approver,
      r.hash,
    ]
      .map(csvCell)
      .join(','),
  );
  return [header.join(','), ...lines].join('\r\n') + '\r\n';
}
