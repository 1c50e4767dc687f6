// Reading and writing the change-control tables (schema.ts): policy versions
// and change request rows. Callers make their writes inside withChange, so a
// step, its row and its change-log row are one transaction.
import type { Database } from 'better-sqlite3';
import type { PolicyDocument, PolicyVersion } from './document.js';
import type { Described } from './describe.js';
import { ChangeError } from './errors.js';
import { parseOps, type ChangeOp } from './operations.js';

export type ChangeStatus = 'draft' | 'submitted' | 'approved' | 'refused' | 'withdrawn' | 'applied' | 'ended' | 'reverted' | 'failed';
export type ChangeKind = 'change' | 'revert' | 'seed' | 'migration' | 'import';
export type Risk = 'low' | 'medium' | 'high';

/** One stored test of a change (the self-test for the names it touches). */
export interface ChangeTest {
  /** null: it could not be tested (the summary says why). */
  ok: boolean | null;
  summary: string;
  at: number;
  checkId: number | null;
}

export interface ChangeRequest {
  id: number;
  kind: ChangeKind;
  status: ChangeStatus;
  source: string;
  ops: ChangeOp[];
  inverse: ChangeOp[] | null;
  summary: string;
  described: Described[];
  groups: string[];
  requester: string | null;
  subjectArea: string | null;
  reason: string | null;
  risk: Risk | null;
  backout: string | null;
  startsAt: number | null;
  endsAt: number | null;
  createdBy: string;
  createdById: number | null;
  createdAt: number;
  submittedBy: string | null;
  submittedById: number | null;
  submittedAt: number | null;
  decision: 'approved' | 'refused' | null;
  decidedBy: string | null;
  decidedById: number | null;
  decidedAt: number | null;
  decisionNote: string | null;
  emergency: boolean;
  reviewDueAt: number | null;
  appliedAt: number | null;
  appliedBy: string | null;
  policyVersion: number | null;
  endedAt: number | null;
  endedBy: string | null;
  endNote: string | null;
  revertOf: number | null;
  revertedBy: number | null;
  test: ChangeTest | null;
  clientAddress: string | null;
  category: string | null;
  overdueAlertedAt: number | null;
}

interface Row {
  [k: string]: unknown;
}

const json = <T>(text: unknown, fallback: T): T => (typeof text === 'string' ? (JSON.parse(text) as T) : fallback);

function fromRow(r: Row): ChangeRequest {
  return {
    id: r.id as number,
    kind: r.kind as ChangeKind,
    status: r.status as ChangeStatus,
    source: r.source as string,
    ops: parseOps(JSON.parse(r.ops_json as string), { allowEmpty: true }),
    inverse: typeof r.inverse_json === 'string' ? parseOps(JSON.parse(r.inverse_json), { allowEmpty: true }) : null,
    summary: r.summary as string,
    described: json<Described[]>(r.description_json, []),
    groups: json<string[]>(r.groups_json, []),
    requester: r.requester as string | null,
    subjectArea: r.subject_area as string | null,
    reason: r.reason as string | null,
    risk: r.risk as Risk | null,
    backout: r.backout as string | null,
    startsAt: r.starts_at as number | null,
    endsAt: r.ends_at as number | null,
    createdBy: r.created_by as string,
    createdById: r.created_by_id as number | null,
    createdAt: r.created_at as number,
    submittedBy: r.submitted_by as string | null,
    submittedById: r.submitted_by_id as number | null,
    submittedAt: r.submitted_at as number | null,
    decision: r.decision as 'approved' | 'refused' | null,
    decidedBy: r.decided_by as string | null,
    decidedById: r.decided_by_id as number | null,
    decidedAt: r.decided_at as number | null,
    decisionNote: r.decision_note as string | null,
    emergency: r.emergency === 1,
    reviewDueAt: r.review_due_at as number | null,
    appliedAt: r.applied_at as number | null,
    appliedBy: r.applied_by as string | null,
    policyVersion: r.policy_version as number | null,
    endedAt: r.ended_at as number | null,
    endedBy: r.ended_by as string | null,
    endNote: r.end_note as string | null,
    revertOf: r.revert_of as number | null,
    revertedBy: r.reverted_by as number | null,
    test:
      r.tested_at === null || r.tested_at === undefined
        ? null
        : {
            ok: r.test_ok === null ? null : r.test_ok === 1,
            summary: r.test_summary as string,
            at: r.tested_at as number,
            checkId: r.check_id as number | null,
          },
    clientAddress: r.client_address as string | null,
    category: r.category as string | null,
    overdueAlertedAt: r.overdue_alerted_at as number | null,
  };
}

export function getRequest(db: Database, id: number): ChangeRequest | undefined {
  const r = db.prepare('SELECT * FROM change_requests WHERE id = ?').get(id) as Row | undefined;
  return r && fromRow(r);
}

export function mustGetRequest(db: Database, id: number): ChangeRequest {
  const r = Number.isInteger(id) ? getRequest(db, id) : undefined;
  if (!r) throw new ChangeError('GH_ERR_CHANGE_NOT_FOUND', `No change request #${id}.`);
  return r;
}

export interface RequestFilter {
  status?: readonly ChangeStatus[];
  /** Applied (or created, for those never applied) within [from, to]. */
  from?: number;
  to?: number;
  limit?: number;
}

export function listRequests(db: Database, f: RequestFilter = {}): ChangeRequest[] {
  const rows = db
    .prepare(
      `SELECT * FROM change_requests
       WHERE (? IS NULL OR status IN (SELECT value FROM json_each(?)))
         AND coalesce(applied_at, created_at) BETWEEN ? AND ?
       ORDER BY id DESC LIMIT ?`,
    )
    .all(
      f.status ? 1 : null,
      JSON.stringify(f.status ?? []),
      f.from ?? 0,
      f.to ?? Number.MAX_SAFE_INTEGER,
      Math.min(f.limit ?? 500, 10_000),
    ) as Row[];
  return rows.map(fromRow);
}

export function countRequests(db: Database, status: ChangeStatus): number {
  return db.prepare('SELECT count(*) FROM change_requests WHERE status = ?').pluck().get(status) as number;
}

/** The columns a step may set, by their change_requests names. */
export type RequestColumns = Partial<Record<string, string | number | null>>;

export function insertRequest(db: Database, cols: RequestColumns): number {
  const keys = Object.keys(cols);
  const { lastInsertRowid } = db
    .prepare(`INSERT INTO change_requests (${keys.join(', ')}) VALUES (${keys.map((k) => '@' + k).join(', ')})`)
    .run(cols);
  return Number(lastInsertRowid);
}

export function updateRequest(db: Database, id: number, cols: RequestColumns): void {
  const keys = Object.keys(cols);
  if (keys.length === 0) return;
  db.prepare(`UPDATE change_requests SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run({ ...cols, id });
}

type VersionRow = { version: number; at: number; change_id: number; doc_json: string };

/** A stored version; one written before the roster group mappings were governed reads as having none. */
function versionOf(r: VersionRow | undefined): PolicyVersion | undefined {
  if (!r) return undefined;
  const doc = JSON.parse(r.doc_json) as PolicyDocument;
  return { version: r.version, at: r.at, changeId: r.change_id, doc: { ...doc, identityGroups: doc.identityGroups ?? [] } };
}

/** The policy in force: the newest version, or undefined before the first start seeded it. */
export function currentVersion(db: Database): PolicyVersion | undefined {
  return versionOf(
    db.prepare('SELECT version, at, change_id, doc_json FROM governed_policy ORDER BY version DESC LIMIT 1').get() as
      VersionRow | undefined,
  );
}

/**
 * When this database's service first ran: its first policy version, seeded at
 * the first start and never deleted (the time of the upgrade that brought
 * change control, for an older database). Undefined before the first start.
 */
export function inServiceSince(db: Database): number | undefined {
  return (db.prepare('SELECT min(at) FROM governed_policy').pluck().get() as number | null) ?? undefined;
}

export function getVersion(db: Database, version: number): PolicyVersion | undefined {
  return versionOf(
    db.prepare('SELECT version, at, change_id, doc_json FROM governed_policy WHERE version = ?').get(version) as VersionRow | undefined,
  );
}

/**
 * Whether the policy in force holds the roster group mappings (undefined: there is no policy yet).
 * False only for a database an older version seeded, until this version's first start takes them (seed.ts).
 */
export function mappingsGoverned(db: Database): boolean | undefined {
  const r = db.prepare("SELECT json_type(doc_json, '$.identityGroups') AS t FROM governed_policy ORDER BY version DESC LIMIT 1").get() as
    { t: string | null } | undefined;
  return r && r.t !== null;
}

/**
 * The roster group mappings in force, for a command run beside the service: the
 * policy's, or the file's while the policy does not hold them yet (not yet
 * seeded, or seeded by an older version: the next start takes the file's).
 */
export function mappingsInForce(db: Database, file: PolicyDocument['identityGroups']): PolicyDocument['identityGroups'] {
  return mappingsGoverned(db) ? currentVersion(db)!.doc.identityGroups : file;
}

/** Write the next version (inside the change's transaction). Returns its number. */
export function writeVersion(db: Database, doc: PolicyDocument, changeId: number, at: number): number {
  const version = ((db.prepare('SELECT max(version) FROM governed_policy').pluck().get() as number | null) ?? 0) + 1;
  db.prepare('INSERT INTO governed_policy (version, at, change_id, doc_json) VALUES (?, ?, ?, ?)').run(
    version,
    at,
    changeId,
    JSON.stringify(doc),
  );
  return version;
}

const selectWhere = (db: Database, where: string, ...args: unknown[]): ChangeRequest[] =>
  (db.prepare(`SELECT * FROM change_requests WHERE ${where} ORDER BY id`).all(...args) as Row[]).map(fromRow);

/** Approved changes whose start has come. */
export function dueToApply(db: Database, now: number): ChangeRequest[] {
  return selectWhere(db, "status = 'approved' AND coalesce(starts_at, 0) <= ?", now);
}

/** Applied temporary changes whose end has come. */
export function dueToEnd(db: Database, now: number): ChangeRequest[] {
  return selectWhere(db, "status = 'applied' AND ends_at IS NOT NULL AND ends_at <= ?", now);
}

/** Emergency changes not yet reviewed by an approver, past their review time. */
export function overdueEmergencies(db: Database, now: number): ChangeRequest[] {
  return selectWhere(db, 'emergency = 1 AND decision IS NULL AND review_due_at < ?', now);
}

/** Submitted requests the approvers have not been told about (made by the command line). */
export function unannounced(db: Database): ChangeRequest[] {
  return selectWhere(db, "status = 'submitted' AND waiting_notified_at IS NULL");
}

/** Emergency changes waiting for review (overdue or not). */
export function unreviewedEmergencies(db: Database): ChangeRequest[] {
  return selectWhere(db, 'emergency = 1 AND decision IS NULL');
}

/** The next time the scheduler has something to do (a start, an end, a review deadline), or null. */
export function nextDueAt(db: Database): number | null {
  return db
    .prepare(
      `SELECT min(t) FROM (
         SELECT coalesce(starts_at, 0) AS t FROM change_requests WHERE status = 'approved'
         UNION ALL SELECT ends_at FROM change_requests WHERE status = 'applied' AND ends_at IS NOT NULL
         UNION ALL SELECT review_due_at FROM change_requests WHERE emergency = 1 AND decision IS NULL AND overdue_alerted_at IS NULL)`,
    )
    .pluck()
    .get() as number | null;
}
