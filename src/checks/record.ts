// The record of filtering checks (store migration 4): when each self-test ran,
// who or what ran it, what was tested, the results, and the actions taken
// afterwards. Rows are only ever added (the tables refuse UPDATE and DELETE),
// so the record can be shown to governors and inspectors as it was made.
import type { Database } from 'better-sqlite3';
import type { CheckCase, CheckResult, SkippedGroup } from './self-test.js';

/** What started a run: a person, the schedule, the command line, or a change that applied (src/changes/). */
export type CheckTrigger = 'manual' | 'schedule' | 'cli' | 'change';

export interface CheckRecord {
  id: number;
  startedAt: number;
  finishedAt: number;
  runBy: string;
  trigger: CheckTrigger;
  server: string;
  ok: boolean;
  passed: number;
  failed: number;
  summary: string;
  cases: CheckCase[];
  skipped: SkippedGroup[];
  actions: CheckAction[];
}

export interface CheckAction {
  id: number;
  checkId: number;
  at: number;
  user: string;
  action: string;
}

interface Row {
  id: number;
  started_at: number;
  finished_at: number;
  run_by: string;
  trigger: CheckTrigger;
  server: string;
  ok: number;
  passed: number;
  failed: number;
  summary: string;
  cases_json: string;
  skipped_json: string;
}

function actionsOf(db: Database, id: number): CheckAction[] {
  return (
    db.prepare('SELECT id, check_id, at, user, action FROM check_actions WHERE check_id = ? ORDER BY id').all(id) as {
      id: number;
      check_id: number;
      at: number;
      user: string;
      action: string;
    }[]
  ).map((a) => ({ id: a.id, checkId: a.check_id, at: a.at, user: a.user, action: a.action }));
}

function fromRow(db: Database, r: Row, withCases: boolean): CheckRecord {
  return {
    id: r.id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    runBy: r.run_by,
    trigger: r.trigger,
    server: r.server,
    ok: r.ok === 1,
    passed: r.passed,
    failed: r.failed,
    summary: r.summary,
    cases: withCases ? (JSON.parse(r.cases_json) as CheckCase[]) : [],
    skipped: JSON.parse(r.skipped_json) as SkippedGroup[],
    actions: actionsOf(db, r.id),
  };
}

/** Save a run, with any actions already taken (an alert raised, …), in one transaction. Returns its id. */
export function recordCheck(
  db: Database,
  result: CheckResult,
  runBy: string,
  trigger: CheckTrigger,
  actions: string[] = [],
  at = Date.now(),
): number {
  return db.transaction(() => {
    const { lastInsertRowid } = db
      .prepare(
        `INSERT INTO checks (started_at, finished_at, run_by, trigger, server, ok, passed, failed, summary, cases_json, skipped_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        result.startedAt.getTime(),
        result.finishedAt.getTime(),
        runBy,
        trigger,
        result.server,
        result.ok ? 1 : 0,
        result.passed,
        result.failed,
        result.summary,
        JSON.stringify(result.cases),
        JSON.stringify(result.skipped),
      );
    const id = Number(lastInsertRowid);
    for (const a of actions) addCheckAction(db, id, runBy, a, at);
    return id;
  })();
}

/** Append a resulting action to a check (what was done about it). */
export function addCheckAction(db: Database, checkId: number, user: string, action: string, at = Date.now()): CheckAction {
  const text = action.trim().slice(0, 2000);
  if (!text) throw new Error('the action is empty');
  if (!db.prepare('SELECT 1 FROM checks WHERE id = ?').get(checkId)) throw new Error(`no check ${checkId}`);
  const { lastInsertRowid } = db
    .prepare('INSERT INTO check_actions (check_id, at, user, action) VALUES (?, ?, ?, ?)')
    .run(checkId, at, user, text);
  return { id: Number(lastInsertRowid), checkId, at, user, action: text };
}

export function getCheck(db: Database, id: number): CheckRecord | undefined {
  const r = db.prepare('SELECT * FROM checks WHERE id = ?').get(id) as Row | undefined;
  return r && fromRow(db, r, true);
}

/** Recent checks, newest first (without their cases). */
export function listChecks(db: Database, opts: { limit?: number; offset?: number } = {}): { total: number; items: CheckRecord[] } {
  const total = db.prepare('SELECT count(*) FROM checks').pluck().get() as number;
  const rows = db
    .prepare('SELECT * FROM checks ORDER BY id DESC LIMIT ? OFFSET ?')
    .all(Math.min(opts.limit ?? 50, 500), opts.offset ?? 0) as Row[];
  return { total, items: rows.map((r) => fromRow(db, r, false)) };
}
