// Allow/deny exceptions per group, and review requests from the block page.
// Every change writes its change-log row in the same transaction, then the
// full list is pushed to the live policy so it applies without a restart.
import type { Database } from 'better-sqlite3';
import { normaliseDomain } from '../lists/names.js';
import { withChange } from './changelog.js';
import type { AdminContext, PolicyException } from './context.js';
import { HelpServices } from '../resolver/help-services.js';

export interface ExceptionRow {
  id: number;
  domain: string;
  action: 'allow' | 'deny';
  groups: string[];
  requester: string;
  subjectArea: string;
  reason: string;
  approver: string;
  createdBy: string;
  createdAt: number;
}

export interface ExceptionInput {
  domain: string;
  action: string;
  groups: string[];
  requester: string;
  subjectArea: string;
  reason: string;
  approver: string;
}

export interface RequestRow {
  id: number;
  domain: string;
  category: string | null;
  group_name: string | null;
  client_address: string | null;
  requester_name: string | null;
  reason: string | null;
  created_at: number;
  status: 'pending' | 'approved' | 'refused';
  decided_by: string | null;
  decided_at: number | null;
  decision_note: string | null;
}

export class ExceptionError extends Error {
  constructor(
    readonly code:
      | 'GH_ERR_EXCEPTION_INVALID'
      | 'GH_ERR_EXCEPTION_ILLEGAL'
      | 'GH_ERR_EXCEPTION_HELP_SERVICE'
      | 'GH_ERR_EXCEPTION_NOT_FOUND'
      | 'GH_ERR_EXCEPTION_DUPLICATE',
    message: string,
    readonly problems: string[] = [message],
  ) {
    super(message);
  }
}

export const ILLEGAL_MESSAGE =
  'This name is in a category of illegal content (for example the IWF or CTIRU lists). It is blocked for everyone and cannot be excepted.';

export const HELP_SERVICE_MESSAGE =
  'This name is a help and support service (such as Childline or Samaritans). Help services are never blocked, so it cannot be denied; see helpServices in the README.';

interface DbException {
  id: number;
  domain: string;
  action: 'allow' | 'deny';
  groups_json: string;
  requester: string;
  subject_area: string;
  reason: string;
  approver: string;
  created_by: string;
  created_at: number;
}

function fromDb(r: DbException): ExceptionRow {
  return {
    id: r.id,
    domain: r.domain,
    action: r.action,
    groups: JSON.parse(r.groups_json) as string[],
    requester: r.requester,
    subjectArea: r.subject_area,
    reason: r.reason,
    approver: r.approver,
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

export function listExceptions(db: Database): ExceptionRow[] {
  return (db.prepare('SELECT * FROM exceptions ORDER BY domain, id').all() as DbException[]).map(fromDb);
}

function getException(db: Database, id: number): ExceptionRow | undefined {
  const r = db.prepare('SELECT * FROM exceptions WHERE id = ?').get(id) as DbException | undefined;
  return r && fromDb(r);
}

/** The list the policy's setExceptions takes. */
export function policyExceptions(db: Database): PolicyException[] {
  return listExceptions(db).map((e) => ({ id: e.id, domain: e.domain, action: e.action, groups: e.groups }));
}

/** Push the saved exceptions to the live policy (after each change, and at start). */
export function loadExceptionsIntoPolicy(ctx: AdminContext): void {
  if (!ctx.policy) return;
  try {
    ctx.policy.setExceptions(policyExceptions(ctx.db));
  } catch (err) {
    ctx.logger.error({ err }, 'admin: the policy refused the exception list');
  }
}

const clip = (s: string, n: number) => s.trim().slice(0, n);

/** Check a form's fields; returns the cleaned input or throws with every problem. */
export function validateException(ctx: AdminContext, input: ExceptionInput): ExceptionInput {
  const problems: string[] = [];
  const domain = normaliseDomain(input.domain);
  if (!domain) problems.push('Domain: enter a domain name such as www.example.org (no http://, paths or wildcards).');
  if (input.action !== 'allow' && input.action !== 'deny') problems.push('Action: choose allow or deny.');
  const known = new Set(ctx.config.groups.map((g) => g.name));
  const groups = [...new Set(input.groups)];
  if (groups.length === 0) problems.push('Groups: choose at least one group.');
  for (const g of groups) if (!known.has(g)) problems.push('Groups: unknown group.');
  const cleaned = {
    domain: domain ?? '',
    action: input.action,
    groups,
    requester: clip(input.requester, 200),
    subjectArea: clip(input.subjectArea, 200),
    reason: clip(input.reason, 2000),
    approver: clip(input.approver, 200),
  };
  if (!cleaned.requester) problems.push('Requester: who asked for this?');
  if (!cleaned.subjectArea) problems.push('Subject area: which subject or area is it for?');
  if (!cleaned.reason) problems.push('Reason: why is it needed?');
  if (!cleaned.approver) problems.push('Approver: who approved it?');
  if (problems.length > 0) throw new ExceptionError('GH_ERR_EXCEPTION_INVALID', problems[0], problems);
  // Illegal content is never excepted; the message never says which list matched.
  if (cleaned.action === 'allow' && ctx.isIllegal?.(cleaned.domain)) throw new ExceptionError('GH_ERR_EXCEPTION_ILLEGAL', ILLEGAL_MESSAGE);
  // The policy lets help services through whatever a deny exception says: say so rather than save one that does nothing.
  if (cleaned.action === 'deny' && new HelpServices(ctx.config.helpServices).covers(cleaned.domain))
    throw new ExceptionError('GH_ERR_EXCEPTION_HELP_SERVICE', HELP_SERVICE_MESSAGE);
  return cleaned;
}

function insertException(ctx: AdminContext, e: ExceptionInput, actor: string, now: number): ExceptionRow {
  const dup = ctx.db.prepare('SELECT id FROM exceptions WHERE domain = ? AND action = ?').get(e.domain, e.action);
  if (dup)
    throw new ExceptionError('GH_ERR_EXCEPTION_DUPLICATE', `There is already an ${e.action} exception for this domain; remove it first.`);
  const { lastInsertRowid } = ctx.db
    .prepare(
      `INSERT INTO exceptions (domain, action, groups_json, requester, subject_area, reason, approver, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(e.domain, e.action, JSON.stringify(e.groups), e.requester, e.subjectArea, e.reason, e.approver, actor, now);
  return getException(ctx.db, Number(lastInsertRowid))!;
}

const logView = (e: ExceptionRow) => ({ domain: e.domain, action: e.action, groups: e.groups, subjectArea: e.subjectArea });

export function addException(ctx: AdminContext, input: ExceptionInput, actor: string): ExceptionRow {
  const e = validateException(ctx, input);
  const now = ctx.now();
  const row = withChange(
    ctx.db,
    (r: ExceptionRow) => ({
      actor,
      entity: 'exception',
      entityId: r.id,
      action: 'create',
      after: logView(r),
      requester: r.requester,
      reason: r.reason,
      approver: r.approver,
      at: now,
    }),
    () => insertException(ctx, e, actor, now),
  );
  loadExceptionsIntoPolicy(ctx);
  return row;
}

/** What an edit may change: the groups and the record. The domain and action are what an exception is; to change those, remove it and add another. */
export type ExceptionEdit = Omit<ExceptionInput, 'domain' | 'action'>;

export function updateException(ctx: AdminContext, id: number, edit: ExceptionEdit, actor: string): ExceptionRow {
  const now = ctx.now();
  const row = withChange(
    ctx.db,
    ({ before, after }: { before: ExceptionRow; after: ExceptionRow }) => ({
      actor,
      entity: 'exception',
      entityId: id,
      action: 'update',
      before: logView(before),
      after: logView(after),
      requester: after.requester,
      reason: after.reason,
      approver: after.approver,
      at: now,
    }),
    () => {
      const before = getException(ctx.db, id);
      if (!before) throw new ExceptionError('GH_ERR_EXCEPTION_NOT_FOUND', 'No such exception.');
      const e = validateException(ctx, { ...edit, domain: before.domain, action: before.action });
      ctx.db
        .prepare('UPDATE exceptions SET groups_json = ?, requester = ?, subject_area = ?, reason = ?, approver = ? WHERE id = ?')
        .run(JSON.stringify(e.groups), e.requester, e.subjectArea, e.reason, e.approver, id);
      return { before, after: getException(ctx.db, id)! };
    },
  ).after;
  loadExceptionsIntoPolicy(ctx);
  return row;
}

export function removeException(ctx: AdminContext, id: number, actor: string, reason: string): void {
  const now = ctx.now();
  withChange(
    ctx.db,
    (before: ExceptionRow) => ({
      actor,
      entity: 'exception',
      entityId: id,
      action: 'delete',
      before: logView(before),
      reason: clip(reason, 2000) || null,
      at: now,
    }),
    () => {
      const before = getException(ctx.db, id);
      if (!before) throw new ExceptionError('GH_ERR_EXCEPTION_NOT_FOUND', 'No such exception.');
      ctx.db.prepare('DELETE FROM exceptions WHERE id = ?').run(id);
      return before;
    },
  );
  loadExceptionsIntoPolicy(ctx);
}

export interface PendingRequestInput {
  domain: string;
  category?: string | null;
  group?: string | null;
  clientAddress?: string | null;
  requesterName?: string | null;
  reason?: string | null;
}

/**
 * A review request from the block page. It changes nothing until an admin
 * approves it, so it has no change-log row of its own. Returns its id.
 */
export function createPendingRequest(db: Database, input: PendingRequestInput, now: number = Date.now()): number {
  const domain = normaliseDomain(input.domain);
  if (!domain) throw new ExceptionError('GH_ERR_EXCEPTION_INVALID', 'not a domain name');
  const opt = (s: string | null | undefined, n: number) => (s ? s.trim().slice(0, n) || null : null);
  const { lastInsertRowid } = db
    .prepare(
      `INSERT INTO exception_requests (domain, category, group_name, client_address, requester_name, reason, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      domain,
      opt(input.category, 100),
      opt(input.group, 100),
      opt(input.clientAddress, 64),
      opt(input.requesterName, 200),
      opt(input.reason, 2000),
      now,
    );
  return Number(lastInsertRowid);
}

/** The reference a pupil is given for a review request and can quote: "R-000123". */
export function requestReference(id: number): string {
  return `R-${String(id).padStart(6, '0')}`;
}

export function listRequests(db: Database, status: 'pending' | 'decided'): RequestRow[] {
  const sql =
    status === 'pending'
      ? "SELECT * FROM exception_requests WHERE status = 'pending' ORDER BY id LIMIT 500"
      : "SELECT * FROM exception_requests WHERE status != 'pending' ORDER BY decided_at DESC LIMIT 100";
  return db.prepare(sql).all() as RequestRow[];
}

/**
 * Pending requests fit to show: one for a name in an illegal category is never
 * shown (list entries stay secret) and can never be approved.
 */
export function visiblePendingRequests(ctx: AdminContext): RequestRow[] {
  const illegal = new Set(ctx.config.categories.filter((c) => c.illegal).map((c) => c.id));
  return listRequests(ctx.db, 'pending').filter((r) => !(r.category && illegal.has(r.category)) && !ctx.isIllegal?.(r.domain));
}

function pendingRequest(db: Database, id: number): RequestRow {
  const r = db.prepare("SELECT * FROM exception_requests WHERE id = ? AND status = 'pending'").get(id) as RequestRow | undefined;
  if (!r) throw new ExceptionError('GH_ERR_EXCEPTION_NOT_FOUND', 'No such pending request.');
  return r;
}

/** Approve: the request becomes an allow exception (with the approver recorded) in one transaction. */
export function approveRequest(
  ctx: AdminContext,
  id: number,
  input: Omit<ExceptionInput, 'domain' | 'action'>,
  actor: string,
): ExceptionRow {
  const req = pendingRequest(ctx.db, id);
  const e = validateException(ctx, { ...input, domain: req.domain, action: 'allow' });
  const now = ctx.now();
  const row = withChange(
    ctx.db,
    (r: ExceptionRow) => ({
      actor,
      entity: 'exception',
      entityId: r.id,
      action: 'approve-request',
      before: { request: id, domain: req.domain, group: req.group_name },
      after: logView(r),
      requester: r.requester,
      reason: r.reason,
      approver: r.approver,
      at: now,
    }),
    () => {
      pendingRequest(ctx.db, id);
      const r = insertException(ctx, e, actor, now);
      ctx.db
        .prepare("UPDATE exception_requests SET status = 'approved', decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ?")
        .run(actor, now, e.reason, id);
      return r;
    },
  );
  loadExceptionsIntoPolicy(ctx);
  return row;
}

export function refuseRequest(ctx: AdminContext, id: number, note: string, actor: string): void {
  const now = ctx.now();
  withChange(
    ctx.db,
    (req: RequestRow) => ({
      actor,
      entity: 'exception-request',
      entityId: id,
      action: 'refuse',
      before: { domain: req.domain, group: req.group_name, category: req.category },
      // The reference, not the name the pupil typed: the change log cannot be edited, and a
      // person who leaves must be erasable (identity/erase.ts); the request row keeps the name.
      requester: `block page (${requestReference(id)})`,
      reason: clip(note, 2000) || null,
      approver: actor,
      at: now,
    }),
    () => {
      const req = pendingRequest(ctx.db, id);
      ctx.db
        .prepare("UPDATE exception_requests SET status = 'refused', decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ?")
        .run(actor, now, clip(note, 2000) || null, id);
      return req;
    },
  );
}
