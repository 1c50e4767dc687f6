// Link switches and list refresh results: small tables, read newest first.
import type { Database } from 'better-sqlite3';

export interface LinkSwitchRow {
  at: number;
  from: string | null;
  to: string | null;
  reason: string;
}

export interface ListRefreshRow {
  at: number;
  listId: string;
  ok: boolean;
  entries: number | null;
  error: string | null;
}

export interface HistoryQuery {
  from?: number;
  to?: number;
  limit?: number;
}

export function linkSwitches(db: Database, q: HistoryQuery = {}): LinkSwitchRow[] {
  return db
    .prepare(
      'SELECT at, from_link AS "from", to_link AS "to", reason FROM link_switch WHERE at >= ? AND at < ? ORDER BY at DESC, rowid DESC LIMIT ?',
    )
    .all(q.from ?? 0, q.to ?? Number.MAX_SAFE_INTEGER, q.limit ?? 100) as LinkSwitchRow[];
}

/** Refresh results, optionally for one list. */
export function listRefreshes(db: Database, q: HistoryQuery & { listId?: string } = {}): ListRefreshRow[] {
  const rows = db
    .prepare(
      `SELECT at, list_id AS listId, ok, entries, error FROM list_refresh
        WHERE at >= ? AND at < ? AND (? IS NULL OR list_id = ?) ORDER BY at DESC, rowid DESC LIMIT ?`,
    )
    .all(q.from ?? 0, q.to ?? Number.MAX_SAFE_INTEGER, q.listId ?? null, q.listId ?? null, q.limit ?? 100) as (Omit<
    ListRefreshRow,
    'ok'
  > & { ok: number })[];
  return rows.map((r) => ({ ...r, ok: r.ok === 1 }));
}
