// What more than one report reads: alerts, checks, filtering changes, link
// switches, list refreshes, who is behind a client, and the words for numbers
// and dates. Every function is a read on the report thread's connection.
import type { Database } from 'better-sqlite3';
import { formatDay, formatTime, localParts } from '../../admin/views/time.js';
import { hasTables } from '../../store/db.js';
import type { Cell, Table } from '../model.js';
import type { ReportInput } from '../input.js';

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export function count(n: number): string {
  return Math.round(n).toLocaleString('en-GB');
}

export function percent(part: number, whole: number): string {
  if (whole === 0) return '–';
  const p = (100 * part) / whole;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)}%`;
}

/** "2 Nov 2026" in the zone. */
export function date(ms: number, zone: string): string {
  const p = localParts(ms, zone);
  return `${p.day} ${MONTHS[p.month - 1].slice(0, 3)} ${p.year}`;
}

/** The period as people say it: "Mon 2 Nov 2026 to Sun 8 Nov 2026" (the last day it covers). */
export function periodText(from: number, to: number, zone: string): string {
  return `${formatDay(from, zone)} ${localParts(from, zone).year} to ${formatDay(to - 1, zone)} ${localParts(to - 1, zone).year}`;
}

export function time(ms: number | null | undefined, zone: string): string {
  return formatTime(ms, zone).slice(0, 16);
}

/** "November 2026" for the local month of an instant. */
export function monthName(ms: number, zone: string): string {
  const p = localParts(ms, zone);
  return `${MONTHS[p.month - 1]} ${p.year}`;
}

export class Labels {
  private readonly names: Map<string, string>;
  readonly illegal: Set<string>;
  readonly circumvention: Set<string>;
  constructor(input: ReportInput) {
    this.names = new Map(input.categories.map((c) => [c.id, c.name]));
    this.illegal = new Set(input.categories.filter((c) => c.illegal).map((c) => c.id));
    this.circumvention = new Set(input.categories.filter((c) => c.circumvention).map((c) => c.id));
  }
  category(id: string | null): string {
    if (id === null) return 'no category (deny exception)';
    return this.names.get(id) ?? id;
  }
}

export interface AlertRow {
  id: number;
  createdAt: number;
  severity: string;
  category: string;
  status: string;
  outcome: string | null;
  closedAt: number | null;
  client: string | null;
  clientName: string | null;
  group: string | null;
  count: number;
  circumvention: boolean;
}

function alertRows(db: Database, where: string, ...args: unknown[]): AlertRow[] {
  if (!hasTables(db, 'alerts')) return [];
  return (
    db
      .prepare(
        `SELECT id, created_at, severity, category, status, outcome, closed_at, client, client_name, group_name, count, circumvention
         FROM alerts WHERE kind = 'safeguarding' AND ${where} ORDER BY id`,
      )
      .all(...args) as Record<string, unknown>[]
  ).map((r) => ({
    id: r.id as number,
    createdAt: r.created_at as number,
    severity: r.severity as string,
    category: r.category as string,
    status: r.status as string,
    outcome: r.outcome as string | null,
    closedAt: r.closed_at as number | null,
    client: r.client as string | null,
    clientName: r.client_name as string | null,
    group: r.group_name as string | null,
    count: r.count as number,
    circumvention: r.circumvention === 1,
  }));
}

/** Safeguarding alerts raised in [from, to). */
export function alertsRaised(db: Database, from: number, to: number): AlertRow[] {
  return alertRows(db, 'created_at >= ? AND created_at < ?', from, to);
}

/** Safeguarding alerts raised before `to` and not closed by `now` (whenever raised). */
export function alertsOpen(db: Database, to: number): AlertRow[] {
  return alertRows(db, "created_at < ? AND status != 'closed'", to);
}

/** The fixed outcome an alert's outcome starts with (the DSL's note is never read out). */
export function outcomeOf(a: Pick<AlertRow, 'status' | 'outcome'>, outcomes: readonly string[]): string {
  if (a.status === 'open') return 'Open: no outcome yet';
  if (a.status === 'acknowledged') return 'Acknowledged: no outcome yet';
  return outcomes.find((o) => a.outcome === o || a.outcome?.startsWith(o + ': ')) ?? 'Other outcome (recorded in words)';
}

/** Not closed within `hours` of being raised (by `now` when still open). */
export function isOverdue(a: AlertRow, hours: number, now: number): boolean {
  const due = a.createdAt + hours * 3_600_000;
  return a.closedAt === null ? now > due : a.closedAt > due;
}

export interface CheckRow {
  id: number;
  startedAt: number;
  runBy: string;
  trigger: string;
  ok: boolean;
  passed: number;
  failed: number;
  summary: string;
  actions: number;
}

/** Filtering checks run in [from, to). */
export function checksRun(db: Database, from: number, to: number): CheckRow[] {
  if (!hasTables(db, 'checks', 'check_actions')) return [];
  return (
    db
      .prepare(
        `SELECT c.id, c.started_at, c.run_by, c.trigger, c.ok, c.passed, c.failed, c.summary,
           (SELECT count(*) FROM check_actions a WHERE a.check_id = c.id) AS actions
         FROM checks c WHERE c.started_at >= ? AND c.started_at < ? ORDER BY c.id`,
      )
      .all(from, to) as Record<string, unknown>[]
  ).map((r) => ({
    id: r.id as number,
    startedAt: r.started_at as number,
    runBy: r.run_by as string,
    trigger: r.trigger as string,
    ok: r.ok === 1,
    passed: r.passed as number,
    failed: r.failed as number,
    summary: r.summary as string,
    actions: r.actions as number,
  }));
}

export function checksTable(checks: CheckRow[], zone: string): Table {
  return {
    id: 'checks',
    title: 'Filtering checks',
    columns: ['#', 'When', 'Run by', 'Result', 'Passed', 'Failed', 'Summary', 'Actions recorded'],
    rows: checks.map((c) => [
      c.id,
      time(c.startedAt, zone),
      `${c.runBy} (${c.trigger})`,
      c.ok ? 'passed' : 'FAILED',
      c.passed,
      c.failed,
      c.summary,
      c.actions,
    ]),
    empty: 'No filtering checks were run in this period.',
  };
}

export interface LinkSwitchRow {
  at: number;
  from: string | null;
  to: string | null;
  reason: string;
}

export function linkSwitches(db: Database, from: number, to: number): LinkSwitchRow[] {
  return (
    db.prepare('SELECT at, from_link, to_link, reason FROM link_switch WHERE at >= ? AND at < ? ORDER BY at').all(from, to) as Record<
      string,
      unknown
    >[]
  ).map((r) => ({ at: r.at as number, from: r.from_link as string | null, to: r.to_link as string | null, reason: r.reason as string }));
}

/** Time spent on a link other than the primary in [from, to), from the switches (and the last one before). */
export function timeOffPrimary(db: Database, from: number, to: number, primary: string | undefined): number {
  if (primary === undefined) return 0;
  const before = db.prepare('SELECT to_link FROM link_switch WHERE at < ? ORDER BY at DESC LIMIT 1').pluck().get(from) as
    string | null | undefined;
  let on = before ?? primary;
  let since = from;
  let off = 0;
  for (const s of linkSwitches(db, from, to)) {
    if (on !== primary) off += s.at - since;
    on = s.to ?? primary;
    since = s.at;
  }
  if (on !== primary) off += to - since;
  return off;
}

export function linkTable(switches: LinkSwitchRow[], zone: string, primary: string | undefined): Table {
  return {
    id: 'link-switches',
    title: 'Internet link switches',
    columns: ['When', 'From', 'To', 'What', 'Why'],
    rows: switches.map((s) => [
      time(s.at, zone),
      s.from ?? '–',
      s.to ?? '–',
      s.to === primary ? 'back on the primary' : 'failover',
      s.reason,
    ]),
    empty: 'No link switches: the primary link carried every query.',
  };
}

/** Lists whose refresh failed in [from, to): how often, the last error, and their last good refresh. */
export function listFailureTable(db: Database, from: number, to: number, zone: string): Table {
  const rows = db
    .prepare(
      `SELECT list_id, count(*) AS failures, max(at) AS last_at,
         (SELECT error FROM list_refresh e WHERE e.list_id = f.list_id AND e.ok = 0 AND e.at < ? ORDER BY at DESC LIMIT 1) AS error,
         (SELECT max(at) FROM list_refresh s WHERE s.list_id = f.list_id AND s.ok = 1 AND s.at < ?) AS last_ok
       FROM list_refresh f WHERE ok = 0 AND at >= ? AND at < ? GROUP BY list_id ORDER BY failures DESC`,
    )
    .all(to, to, from, to) as Record<string, unknown>[];
  return {
    id: 'list-failures',
    title: 'Lists that failed to refresh',
    columns: ['List', 'Failed refreshes', 'Last failure', 'Last error', 'Last good refresh'],
    rows: rows.map((r) => [
      r.list_id as string,
      r.failures as number,
      time(r.last_at as number, zone),
      (r.error as string | null) ?? '',
      r.last_ok === null ? 'none recorded' : time(r.last_ok as number, zone),
    ]),
    empty: 'Every list refreshed as scheduled (or kept its last good copy without a failure).',
  };
}

/**
 * Who is behind a client: the person's display name, else the device's name,
 * else the address. Person and device ids come from the query log's rows once
 * the identity columns exist; until then only the address is known.
 */
export function whoNames(db: Database): (address: string, personId: number, deviceId: number) => string {
  const person = hasTables(db, 'identity_people')
    ? db.prepare('SELECT coalesce(display_name, user_key) FROM identity_people WHERE id = ?').pluck()
    : null;
  const device = hasTables(db, 'identity_devices')
    ? db.prepare('SELECT coalesce(name, host_name, key) FROM identity_devices WHERE id = ?').pluck()
    : null;
  return (address, personId, deviceId) => {
    const p = personId && person ? (person.get(personId) as string | undefined) : undefined;
    const d = deviceId && device ? (device.get(deviceId) as string | undefined) : undefined;
    if (p && d) return `${p} (${d}, ${address})`;
    if (p) return `${p} (${address})`;
    if (d) return `${d} (${address})`;
    return address;
  };
}

export interface ChangeEntry {
  at: number;
  /** The change in plain words. */
  what: string;
  requester: string;
  reason: string;
  approver: string;
  emergency: string;
  overdue: string;
  test: string;
}

/** Filtering sections of the config file whose reloads are filtering changes. */
const FILTERING_SETTINGS = new Set(['groups', 'categories', 'lists', 'dns']);

/**
 * The filtering changes of a period, in plain words. THE ONE PLACE that
 * reads them: today from the change log (admin/changelog.ts), which does not
 * record emergency, overdue or test results; when change control lands
 * (src/changes/, `changesBetween(db, from, to)`), this function reads that
 * instead and the reports follow. `withRequesters` false (the board extract)
 * withholds requesters typed on the block page, who may be pupils.
 */
export function filteringChanges(db: Database, from: number, to: number, withRequesters: boolean): { source: string; rows: ChangeEntry[] } {
  if (hasTables(db, 'change_requests')) return governedChanges(db, from, to, withRequesters);
  if (!hasTables(db, 'change_log')) return { source: 'the change log (not available in this database)', rows: [] };
  const rows = db
    .prepare(
      `SELECT at, actor, entity, entity_id, action, before_json, after_json, requester, reason, approver FROM change_log
       WHERE at >= ? AND at < ? AND (entity IN ('exception', 'exception-request') OR (entity = 'setting' AND entity_id IN (SELECT value FROM json_each(?))))
       ORDER BY id`,
    )
    .all(from, to, JSON.stringify([...FILTERING_SETTINGS])) as Record<string, string | number | null>[];
  const notRecorded = 'not recorded';
  return {
    source: 'the change log (emergency, overdue and test results are recorded once change control is in use)',
    rows: rows.map((r) => {
      const fromBlockPage = r.entity === 'exception-request' || String(r.before_json ?? '').includes('"request"');
      return {
        at: r.at as number,
        what: describeChange(r),
        requester: fromBlockPage && !withRequesters ? 'a review request from the block page' : ((r.requester as string | null) ?? ''),
        reason: (r.reason as string | null) ?? '',
        approver: (r.approver as string | null) ?? (r.entity === 'setting' ? `config file (by ${r.actor})` : ''),
        emergency: notRecorded,
        overdue: notRecorded,
        test: notRecorded,
      };
    }),
  };
}

/**
 * Under change control (src/changes/) every filtering change is a change request:
 * those applied in the period, and those refused in it, with their record (the
 * policy recorded at installation, or moved over from the exceptions tables, is not a change).
 */
function governedChanges(db: Database, from: number, to: number, withRequesters: boolean): { source: string; rows: ChangeEntry[] } {
  const rows = db
    .prepare(
      `SELECT id, kind, status, source, summary, requester, reason, decided_by, decision, emergency, review_due_at,
              applied_at, decided_at, test_ok, test_summary
         FROM change_requests
        WHERE kind NOT IN ('seed', 'migration')
          AND ((applied_at >= ? AND applied_at < ?) OR (decision = 'refused' AND decided_at >= ? AND decided_at < ?))
        ORDER BY coalesce(applied_at, decided_at), id`,
    )
    .all(from, to, from, to) as {
    id: number;
    kind: string;
    status: string;
    source: string;
    summary: string;
    requester: string | null;
    reason: string | null;
    decided_by: string | null;
    decision: string | null;
    emergency: number;
    review_due_at: number | null;
    applied_at: number | null;
    decided_at: number | null;
    test_ok: number | null;
    test_summary: string | null;
  }[];
  return {
    source: 'the change requests (change control)',
    rows: rows.map((r) => ({
      at: r.applied_at ?? r.decided_at ?? 0,
      what: `#${r.id} ${r.summary}${r.decision === 'refused' ? ' (refused)' : ''}${r.status === 'reverted' ? ' (since reverted)' : ''}`,
      requester: r.source === 'block-page' && !withRequesters ? 'a review request from the block page' : (r.requester ?? ''),
      // A pupil's own words may name them: the board and the annual pack do not show them.
      reason: r.source === 'block-page' && !withRequesters ? '(given on the block page)' : (r.reason ?? ''),
      approver: r.decided_by ?? (r.kind === 'seed' || r.kind === 'migration' ? 'recorded at installation' : r.emergency ? 'none yet' : ''),
      emergency: r.emergency ? 'yes' : 'no',
      overdue: r.emergency && r.decision === null && r.review_due_at !== null && r.review_due_at < to ? 'yes: review overdue' : 'no',
      test: r.test_ok === null ? 'not tested' : `${r.test_ok ? 'passed' : 'failed'}${r.test_summary ? `: ${r.test_summary}` : ''}`,
    })),
  };
}

function parse(text: string | number | null): Record<string, unknown> {
  try {
    return typeof text === 'string' ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function describeChange(r: Record<string, string | number | null>): string {
  const before = parse(r.before_json);
  const after = parse(r.after_json);
  const groups = (v: unknown) => (Array.isArray(v) ? v.join(', ') : '');
  if (r.entity === 'exception') {
    const e = { ...before, ...after } as { domain?: string; action?: string; groups?: string[] };
    const kind = e.action === 'deny' ? 'Block' : 'Allow';
    const scope = `${kind} ${e.domain ?? '?'} for ${groups(e.groups) || 'every group'}`;
    switch (r.action) {
      case 'create':
        return `${scope}: added`;
      case 'approve-request':
        return `${scope}: added (review request approved)`;
      case 'delete':
        return `${scope}: removed`;
      case 'update':
        return `${scope}: groups or record changed (before: ${groups(before.groups) || 'every group'})`;
      default:
        return `${scope}: ${r.action}`;
    }
  }
  if (r.entity === 'exception-request')
    return `Review request for ${String(before.domain ?? '?')} (${String(before.group ?? '')}): ${r.action}d`;
  if (r.entity_id === 'groups' && Array.isArray(before) === false) return describeGroups(before, after);
  return `Config file: the ${r.entity_id} section changed`;
}

function describeGroups(before: unknown, after: unknown): string {
  const list = (v: unknown) => (Array.isArray(v) ? (v as { name: string; block: string[] }[]) : []);
  const old = new Map(list(before).map((g) => [g.name, g]));
  const parts: string[] = [];
  for (const g of list(after)) {
    const o = old.get(g.name);
    if (!o) parts.push(`group ${g.name} added (blocks ${g.block.join(', ') || 'nothing'})`);
    else if (JSON.stringify(o.block) !== JSON.stringify(g.block))
      parts.push(`${g.name}: blocked categories ${o.block.join(', ') || 'none'} → ${g.block.join(', ') || 'none'}`);
    else if (JSON.stringify(o) !== JSON.stringify(g)) parts.push(`${g.name}: networks, schedules or safe search changed`);
    old.delete(g.name);
  }
  for (const name of old.keys()) parts.push(`group ${name} removed`);
  return `Config file: ${parts.join('; ') || 'groups section changed'}`;
}

export function changesTable(changes: ChangeEntry[], zone: string): Table {
  return {
    id: 'changes',
    title: 'Filtering changes',
    columns: ['When', 'Change', 'Requester', 'Reason', 'Approver', 'Emergency', 'Overdue', 'Test result'],
    rows: changes.map((c) => [time(c.at, zone), c.what, c.requester, c.reason, c.approver, c.emergency, c.overdue, c.test] as Cell[]),
    empty: 'No filtering changes in this period.',
  };
}
