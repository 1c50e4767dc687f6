// A change request's life up to the decision: created (a draft, or submitted at
// once), edited while a draft (IT confirming a block-page request), submitted,
// withdrawn, approved or refused. Each step is one change-log row written in
// the transaction of the step. Four eyes: an approver approves, never the
// account that asked or submitted, and only from a session that passed MFA;
// this is checked here, so no route, API call or command can skip it.
import type { Database } from 'better-sqlite3';
import { withChange } from '../admin/changelog.js';
import { requestReference } from '../admin/exceptions.js';
import type { Role } from '../admin/roles.js';
import { describeChange, describedGroups, sentences, summaryOf } from './describe.js';
import type { PolicyDocument } from './document.js';
import { ChangeError } from './errors.js';
import type { ChangeOp } from './operations.js';
import { getRequest, insertRequest, mustGetRequest, updateRequest, type ChangeKind, type ChangeRequest, type Risk } from './store.js';
import { checkRequest, type PolicyEnv } from './validate.js';

/** Who takes a step: an account (id set), the command line, the block page or the service itself. */
export interface Actor {
  name: string;
  /** The account's id; null for the CLI, the block page and the service. */
  id: number | null;
  role?: Role;
  /** The session passed MFA. */
  mfa?: boolean;
}

export interface RequestFields {
  requester?: string;
  subjectArea?: string;
  reason?: string;
  risk?: string;
  backout?: string;
  startsAt?: number | null;
  endsAt?: number | null;
}

export interface NewRequest extends RequestFields {
  ops: ChangeOp[];
  source: string;
  kind?: ChangeKind;
  /** Submit at once (every field needed), else keep as a draft. */
  submit: boolean;
  clientAddress?: string | null;
  category?: string | null;
}

export const RISKS: readonly Risk[] = ['low', 'medium', 'high'];
export const DEFAULT_BACKOUT = 'Revert this change in Gatehouse (one action); the policy goes back to what it was.';

const clip = (s: string | undefined, n: number) => (s ?? '').trim().slice(0, n);

/** The fields in the form they are stored in, with the problems a submission would have. */
function cleanFields(f: RequestFields): { cols: Record<string, string | number | null>; problems: string[] } {
  const requester = clip(f.requester, 200);
  const subjectArea = clip(f.subjectArea, 200);
  const reason = clip(f.reason, 2000);
  const backout = clip(f.backout, 2000);
  const risk = f.risk && (RISKS as readonly string[]).includes(f.risk) ? f.risk : null;
  const problems: string[] = [];
  if (!requester) problems.push('Requester: which member of staff asked for this?');
  if (!subjectArea) problems.push('Subject area: which subject or area is it for?');
  if (!reason) problems.push('Reason: why is it needed?');
  if (!risk) problems.push('Risk: choose low, medium or high.');
  if (!backout) problems.push('Backout plan: how is it undone if it goes wrong?');
  return {
    cols: {
      requester: requester || null,
      subject_area: subjectArea || null,
      reason: reason || null,
      risk,
      backout: backout || null,
      starts_at: f.startsAt ?? null,
      ends_at: f.endsAt ?? null,
    },
    problems,
  };
}

/** Check the operations against the policy in force; returns the plain-words preview. */
function preview(ops: ChangeOp[], f: RequestFields, doc: PolicyDocument, env: PolicyEnv, now: number) {
  const after = checkRequest({ ops, startsAt: f.startsAt ?? null, endsAt: f.endsAt ?? null }, doc, env, {
    changeId: 0,
    requester: '',
    subjectArea: '',
    reason: '',
    approver: '',
    now,
    ...(f.endsAt ? { until: f.endsAt } : {}),
  });
  const described = describeChange(doc, after, env.categories);
  return {
    ops_json: JSON.stringify(ops),
    summary: summaryOf(described),
    description_json: JSON.stringify(described),
    groups_json: JSON.stringify(describedGroups(described)),
  };
}

/** The columns an approver's decision sets (before a change applies, or in the review of an emergency). */
export function decisionColumns(decision: 'approve' | 'refuse', actor: Actor, note: string, now: number) {
  return {
    decision: decision === 'approve' ? 'approved' : 'refused',
    decided_by: actor.name,
    decided_by_id: actor.id,
    decided_at: now,
    decision_note: clip(note, 2000) || null,
  };
}

/**
 * One step of a request in one transaction: `fn` takes it and returns its
 * result; the change-log row names the request (`of`), the step and what
 * `after` says, with the request's requester, reason and approver.
 */
export function requestStep<T>(
  db: Database,
  actor: Actor,
  action: string,
  now: number,
  of: (r: T) => ChangeRequest,
  after: (r: T) => unknown,
  fn: () => T,
): T {
  return withChange(
    db,
    (r: T) => {
      const c = of(r);
      return {
        actor: actor.name,
        entity: 'change',
        entityId: c.id,
        action,
        after: after(r),
        // The change log cannot be edited or erased: a block-page request is named there by its
        // reference, never by the name or reason a pupil typed (those stay in the request, where
        // an erasure reaches them: identity/erase.ts).
        requester: c.source === 'block-page' ? `block page (${requestReference(c.id)})` : c.requester,
        reason: c.source === 'block-page' ? null : c.reason,
        approver: c.decidedBy,
        at: now,
      };
    },
    fn,
  );
}

const self = (c: ChangeRequest) => c;

/** What the log keeps of a request as made or edited. */
const madeView = (c: ChangeRequest) => ({
  summary: c.summary,
  changes: sentences(c.described),
  status: c.status,
  startsAt: c.startsAt,
  endsAt: c.endsAt,
  risk: c.risk,
});

export function createRequest(
  db: Database,
  doc: PolicyDocument,
  env: PolicyEnv,
  input: NewRequest,
  actor: Actor,
  now: number,
): ChangeRequest {
  const { cols, problems } = cleanFields(input);
  if (input.submit && problems.length > 0) throw new ChangeError('GH_ERR_CHANGE_INVALID', problems[0], problems);
  const p = preview(input.ops, input, doc, env, now);
  return requestStep(db, actor, input.submit ? 'submit' : 'create', now, self, madeView, () => {
    const id = insertRequest(db, {
      kind: input.kind ?? 'change',
      status: input.submit ? 'submitted' : 'draft',
      source: input.source,
      ...p,
      ...cols,
      created_by: actor.name,
      created_by_id: actor.id,
      created_at: now,
      ...(input.submit ? { submitted_by: actor.name, submitted_by_id: actor.id, submitted_at: now } : {}),
      client_address: input.clientAddress ?? null,
      category: input.category ?? null,
    });
    return getRequest(db, id)!;
  });
}

function mustBe(c: ChangeRequest, ...states: ChangeRequest['status'][]): void {
  if (!states.includes(c.status))
    throw new ChangeError('GH_ERR_CHANGE_STATE', `Change request #${c.id} is ${c.status}; this step needs it ${states.join(' or ')}.`);
}

/** Edit a draft (IT confirming the site of a block-page request: its groups, record, times); optionally submit it. */
export function updateDraft(
  db: Database,
  doc: PolicyDocument,
  env: PolicyEnv,
  id: number,
  input: RequestFields & { ops: ChangeOp[]; submit: boolean },
  actor: Actor,
  now: number,
): ChangeRequest {
  const { cols, problems } = cleanFields(input);
  if (input.submit && problems.length > 0) throw new ChangeError('GH_ERR_CHANGE_INVALID', problems[0], problems);
  const p = preview(input.ops, input, doc, env, now);
  return requestStep(db, actor, input.submit ? 'submit' : 'update', now, self, madeView, () => {
    mustBe(mustGetRequest(db, id), 'draft');
    updateRequest(db, id, {
      ...p,
      ...cols,
      ...(input.submit ? { status: 'submitted', submitted_by: actor.name, submitted_by_id: actor.id, submitted_at: now } : {}),
    });
    return getRequest(db, id)!;
  });
}

/** Submit a complete draft as it is. */
export function submitRequest(db: Database, doc: PolicyDocument, env: PolicyEnv, id: number, actor: Actor, now: number): ChangeRequest {
  const c = mustGetRequest(db, id);
  mustBe(c, 'draft');
  return updateDraft(
    db,
    doc,
    env,
    id,
    {
      ops: c.ops,
      requester: c.requester ?? '',
      subjectArea: c.subjectArea ?? '',
      reason: c.reason ?? '',
      risk: c.risk ?? '',
      backout: c.backout ?? '',
      startsAt: c.startsAt,
      endsAt: c.endsAt,
      submit: true,
    },
    actor,
    now,
  );
}

/** The requester (or an admin) takes a draft or submitted request back. */
export function withdrawRequest(db: Database, id: number, actor: Actor, note: string, now: number): ChangeRequest {
  return requestStep(
    db,
    actor,
    'withdraw',
    now,
    self,
    (c) => ({ status: c.status, note: c.endNote }),
    () => {
      mustBe(mustGetRequest(db, id), 'draft', 'submitted');
      updateRequest(db, id, { status: 'withdrawn', ended_at: now, ended_by: actor.name, end_note: clip(note, 2000) || null });
      return getRequest(db, id)!;
    },
  );
}

/**
 * Four eyes, for approving and refusing (and the retrospective review of an
 * emergency): an approver, from a session that passed MFA, who neither asked
 * for nor submitted the change.
 */
export function checkApprover(c: ChangeRequest, actor: Actor): void {
  if (actor.role !== 'approver' || actor.id === null)
    throw new ChangeError('GH_ERR_CHANGE_ROLE', 'Only an approver (head teacher or senior leader) can approve or refuse a change.');
  if (!actor.mfa) throw new ChangeError('GH_ERR_CHANGE_MFA', 'Approving needs MFA: log in with your authenticator code.');
  if (actor.id === c.createdById || actor.id === c.submittedById || actor.name.toLowerCase() === c.createdBy.toLowerCase())
    throw new ChangeError('GH_ERR_CHANGE_FOUR_EYES', 'You asked for this change, so someone else must approve it.');
}

/** Approve or refuse a submitted request. An approval of a change whose end has passed is refused: it would never apply. */
export function decideRequest(
  db: Database,
  id: number,
  decision: 'approve' | 'refuse',
  actor: Actor,
  note: string,
  now: number,
): ChangeRequest {
  return requestStep(
    db,
    actor,
    decision,
    now,
    self,
    (c) => ({ status: c.status, note: c.decisionNote }),
    () => {
      const c = mustGetRequest(db, id);
      mustBe(c, 'submitted');
      checkApprover(c, actor);
      if (decision === 'approve' && c.endsAt !== null && c.endsAt <= now)
        throw new ChangeError(
          'GH_ERR_CHANGE_STATE',
          `Change request #${id} was to end at a time that has passed; refuse it and ask again.`,
        );
      updateRequest(db, id, { status: decision === 'approve' ? 'approved' : 'refused', ...decisionColumns(decision, actor, note, now) });
      return getRequest(db, id)!;
    },
  );
}
