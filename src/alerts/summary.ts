// Alert counts for a period, by category, severity and outcome: what a
// governor or auditor may see of the safeguarding inbox (DfE monitoring
// standard: governors review reports, not pupils' records). Nothing here names
// an alert, a pupil, an address or a domain; the free-text note a DSL adds to
// an outcome is never read out, only the outcome chosen from the fixed list.
import type { Database } from 'better-sqlite3';
import type { AlertKind } from './types.js';

export interface CountRow {
  /** Alerts raised in the period. */
  alerts: number;
  /** Lookups (or events) those alerts stand for. */
  lookups: number;
}

export interface AlertSummary {
  kind: AlertKind;
  from: number;
  to: number;
  total: CountRow;
  byCategory: (CountRow & { category: string })[];
  bySeverity: (CountRow & { severity: string })[];
  /** Closed alerts by the outcome chosen; open and acknowledged ones as such. */
  byOutcome: { outcome: string; alerts: number }[];
}

export const OTHER_OUTCOME = 'Other outcome (recorded in words)';
const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low'];

/**
 * Counts of the alerts of one kind created in [from, to). `outcomes` is the
 * fixed list the inbox offers; an outcome is counted under the choice it
 * starts with ("Choice: note"), anything else as OTHER_OUTCOME.
 */
export function alertSummary(db: Database, opts: { kind: AlertKind; from: number; to: number; outcomes: readonly string[] }): AlertSummary {
  const where = 'FROM alerts WHERE kind = @kind AND created_at >= @from AND created_at < @to';
  const params = { kind: opts.kind, from: opts.from, to: opts.to };
  const grouped = (column: 'category' | 'severity') =>
    db
      .prepare(`SELECT ${column} AS key, count(*) AS alerts, coalesce(sum(count), 0) AS lookups ${where} GROUP BY ${column}`)
      .all(params) as { key: string; alerts: number; lookups: number }[];
  const total = db.prepare(`SELECT count(*) AS alerts, coalesce(sum(count), 0) AS lookups ${where}`).get(params) as CountRow;

  const outcomes = new Map<string, number>();
  const add = (outcome: string, n: number) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + n);
  const byStatus = db.prepare(`SELECT status, outcome, count(*) AS n ${where} GROUP BY status, outcome`).all(params) as {
    status: string;
    outcome: string | null;
    n: number;
  }[];
  for (const r of byStatus) {
    if (r.status !== 'closed') add(r.status === 'open' ? 'Open: no outcome yet' : 'Acknowledged: no outcome yet', r.n);
    else add(opts.outcomes.find((o) => r.outcome === o || r.outcome?.startsWith(o + ': ')) ?? OTHER_OUTCOME, r.n);
  }

  return {
    kind: opts.kind,
    from: opts.from,
    to: opts.to,
    total,
    byCategory: grouped('category')
      .map(({ key, ...n }) => ({ category: key, ...n }))
      .sort((a, b) => b.alerts - a.alerts || a.category.localeCompare(b.category)),
    bySeverity: grouped('severity')
      .map(({ key, ...n }) => ({ severity: key, ...n }))
      .sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity)),
    byOutcome: [...outcomes].map(([outcome, alerts]) => ({ outcome, alerts })).sort((a, b) => b.alerts - a.alerts),
  };
}
