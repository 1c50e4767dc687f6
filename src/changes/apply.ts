// A change request's life after the decision: it applies (the policy gets a
// new version), ends (a temporary change undoes itself), is reverted (one
// action, itself a change), or applies at once as an emergency and is
// reviewed by an approver afterwards. Each step writes the new policy version,
// the request's row and one change-log row in one transaction; `check`
// compiles the new policy for the resolver first, so a policy the resolver
// would refuse is never written.
import type { Database } from 'better-sqlite3';
import { describeChange, describedGroups, sentences, summaryOf } from './describe.js';
import type { PolicyDocument } from './document.js';
import { ChangeError } from './errors.js';
import { applyOps, switchesOff, type ChangeOp } from './operations.js';
import { checkApprover, decisionColumns, requestStep, type Actor } from './requests.js';
import { currentVersion, getRequest, insertRequest, mustGetRequest, updateRequest, writeVersion, type ChangeRequest } from './store.js';
import { documentProblems, type PolicyEnv } from './validate.js';

/** Compiles a document as the resolver would, throwing if it cannot (called inside the transaction, before the commit). */
export type LiveCheck = (doc: PolicyDocument) => void;

export interface Stepped {
  request: ChangeRequest;
  /** The policy version written by this step, with its document (undefined when the step wrote none). */
  version?: number;
  doc?: PolicyDocument;
  /** Operations that found nothing to do. */
  notes: string[];
}

function current(db: Database): { version: number; doc: PolicyDocument } {
  const v = currentVersion(db);
  if (!v)
    throw new ChangeError('GH_ERR_POLICY_SEED', 'There is no governed policy yet: start the service once to seed it from the config file.');
  return v;
}

/** Apply ops to the policy in force and write the new version; returns what changed. */
function writePolicy(
  db: Database,
  env: PolicyEnv,
  c: ChangeRequest,
  ops: readonly ChangeOp[],
  mode: 'strict' | 'lenient',
  approver: string,
  now: number,
  check?: LiveCheck,
) {
  const before = current(db);
  const applied = applyOps(
    before.doc,
    ops,
    {
      changeId: c.id,
      requester: c.requester ?? '',
      subjectArea: c.subjectArea ?? '',
      reason: c.reason ?? '',
      approver,
      now,
      ...(c.endsAt !== null ? { until: c.endsAt } : {}),
    },
    mode,
  );
  const problems = documentProblems(applied.doc, env);
  if (problems.length > 0) throw new ChangeError('GH_ERR_CHANGE_CONFLICT', problems[0], problems);
  check?.(applied.doc);
  const described = describeChange(before.doc, applied.doc, env.categories);
  const version = writeVersion(db, applied.doc, c.id, now);
  return { ...applied, described, version };
}

/**
 * Apply an approved change now (the scheduler at its start time, or at once
 * on approval). When it no longer fits the policy in force, it is marked
 * failed with the reason, and nothing changes.
 */
export function applyChange(db: Database, env: PolicyEnv, id: number, actor: Actor, now: number, check?: LiveCheck): Stepped {
  try {
    return policyStep(
      db,
      actor,
      'apply',
      now,
      (s) => ({ version: s.version, changes: sentences(s.request.described), endsAt: s.request.endsAt }),
      () => {
        const c = mustGetRequest(db, id);
        if (c.status !== 'approved') throw new ChangeError('GH_ERR_CHANGE_STATE', `Change request #${id} is ${c.status}, not approved.`);
        const w = writePolicy(db, env, c, c.ops, 'strict', c.decidedBy ?? '', now, check);
        updateRequest(db, id, appliedColumns(w, actor, now));
        return { request: getRequest(db, id)!, version: w.version, doc: w.doc, notes: w.notes };
      },
    );
  } catch (err) {
    if (!(err instanceof ChangeError) || err.code !== 'GH_ERR_CHANGE_CONFLICT') throw err;
    const request = requestStep(
      db,
      actor,
      'fail',
      now,
      self,
      (c) => ({ status: c.status, why: err.problems }),
      () => {
        updateRequest(db, id, { status: 'failed', ended_at: now, ended_by: actor.name, end_note: err.problems.join('; ').slice(0, 2000) });
        return getRequest(db, id)!;
      },
    );
    return { request, notes: err.problems };
  }
}

const self = (c: ChangeRequest) => c;

/** A step that writes a policy version: its change-log row names the request and says what `after` says. */
function policyStep(db: Database, actor: Actor, action: string, now: number, after: (s: Stepped) => unknown, fn: () => Stepped): Stepped {
  return requestStep(db, actor, action, now, (s: Stepped) => s.request, after, fn);
}

function appliedColumns(
  w: { inverse: ChangeOp[]; described: ReturnType<typeof describeChange>; version: number },
  actor: Actor,
  now: number,
) {
  return {
    status: 'applied',
    inverse_json: JSON.stringify(w.inverse),
    description_json: JSON.stringify(w.described),
    summary: summaryOf(w.described),
    groups_json: JSON.stringify(describedGroups(w.described)),
    applied_at: now,
    applied_by: actor.name,
    policy_version: w.version,
  };
}

/** A temporary change reaches its end (or the service starts after it): what it did is undone. */
export function endChange(db: Database, env: PolicyEnv, id: number, actor: Actor, now: number, check?: LiveCheck): Stepped {
  return policyStep(
    db,
    actor,
    'end',
    now,
    (s) => ({ version: s.version, changes: sentences(s.request.described), notes: s.notes }),
    () => {
      const c = mustGetRequest(db, id);
      if (c.status !== 'applied') throw new ChangeError('GH_ERR_CHANGE_STATE', `Change request #${id} is ${c.status}, not applied.`);
      const w = writePolicy(db, env, c, c.inverse ?? [], 'lenient', c.decidedBy ?? '', now, check);
      const late =
        c.endsAt !== null && now - c.endsAt > 60_000 ? ` (due ${new Date(c.endsAt).toISOString()}; the service was not running)` : '';
      updateRequest(db, id, { status: 'ended', ended_at: now, ended_by: actor.name, end_note: `ended at its end time${late}` });
      // The request keeps the description of what it did; the step's own is what the end undid.
      return { request: { ...getRequest(db, id)!, described: w.described }, version: w.version, doc: w.doc, notes: w.notes };
    },
  );
}

/** An approved change whose whole time passed while the service was down: it never applies. */
export function expireChange(db: Database, id: number, actor: Actor, now: number): ChangeRequest {
  return requestStep(
    db,
    actor,
    'end',
    now,
    self,
    (c) => ({ status: c.status, note: c.endNote }),
    () => {
      updateRequest(db, id, {
        status: 'ended',
        ended_at: now,
        ended_by: actor.name,
        end_note: 'its whole time passed while the service was not running; it was never applied',
      });
      return getRequest(db, id)!;
    },
  );
}

/**
 * Revert an applied change with one action: a new change (kind revert) that
 * applies the undoing operations at once, with the original's approval as its
 * authority (the backout plan is approved with the change). The original is
 * marked reverted. Whatever no longer applies is noted, not refused.
 */
export function revertChange(
  db: Database,
  env: PolicyEnv,
  id: number,
  actor: Actor,
  reason: string,
  now: number,
  check?: LiveCheck,
): Stepped {
  const why = reason.trim().slice(0, 2000);
  if (!why) throw new ChangeError('GH_ERR_CHANGE_INVALID', 'Reason: say why it is reverted.');
  const after = (s: Stepped) => ({ revertOf: id, version: s.version, changes: sentences(s.request.described), notes: s.notes });
  return policyStep(db, actor, 'revert', now, after, () => {
    const c = mustGetRequest(db, id);
    if (c.status !== 'applied')
      throw new ChangeError('GH_ERR_CHANGE_STATE', `Change request #${id} is ${c.status}; only an applied change can be reverted.`);
    const revertId = insertRequest(db, {
      kind: 'revert',
      status: 'approved',
      source: 'ui',
      ops_json: JSON.stringify(c.inverse && c.inverse.length > 0 ? c.inverse : []),
      summary: `Revert of #${id}`,
      description_json: '[]',
      groups_json: JSON.stringify(c.groups),
      requester: actor.name,
      subject_area: c.subjectArea,
      reason: why,
      risk: c.risk,
      backout: `Revert this revert (re-applies #${id}).`,
      created_by: actor.name,
      created_by_id: actor.id,
      created_at: now,
      submitted_by: actor.name,
      submitted_by_id: actor.id,
      submitted_at: now,
      decision: c.decision,
      decided_by: c.decidedBy,
      decided_at: now,
      decision_note: `backout of #${id}, approved with it`,
      revert_of: id,
    });
    const r = mustGetRequest(db, revertId);
    const w = writePolicy(db, env, r, r.ops, 'lenient', c.decidedBy ?? '', now, check);
    updateRequest(db, revertId, { ...appliedColumns(w, actor, now), summary: `Revert of #${id}: ${summaryOf(w.described)}` });
    updateRequest(db, id, { status: 'reverted', reverted_by: revertId, ended_at: now, ended_by: actor.name, end_note: why });
    return { request: getRequest(db, revertId)!, version: w.version, doc: w.doc, notes: w.notes };
  });
}

/**
 * An emergency: a named admin (changeControl.emergencyAdmins) applies a draft
 * or submitted change at once. It is flagged, and an approver must review it
 * within `reviewHours`. Never a switch-off (those are always approved first).
 */
export function emergencyApply(
  db: Database,
  env: PolicyEnv,
  id: number,
  actor: Actor,
  emergencyAdmins: readonly string[],
  reviewHours: number,
  now: number,
  check?: LiveCheck,
): Stepped {
  if (actor.role !== 'admin' || !emergencyAdmins.some((n) => n.toLowerCase() === actor.name.toLowerCase()))
    throw new ChangeError('GH_ERR_CHANGE_ROLE', 'Only the admins named in changeControl.emergencyAdmins can apply an emergency change.');
  const after = (s: Stepped) => ({
    version: s.version,
    changes: sentences(s.request.described),
    reviewDueAt: s.request.reviewDueAt,
    endsAt: s.request.endsAt,
  });
  return policyStep(db, actor, 'emergency-apply', now, after, () => {
    const c = mustGetRequest(db, id);
    if (c.status !== 'draft' && c.status !== 'submitted')
      throw new ChangeError(
        'GH_ERR_CHANGE_STATE',
        `Change request #${id} is ${c.status}; an emergency applies a draft or submitted request.`,
      );
    if (switchesOff(c.ops))
      throw new ChangeError('GH_ERR_CHANGE_INVALID', 'Switching filtering off is never an emergency: it needs an approver first.');
    if (!c.requester || !c.reason || !c.subjectArea || !c.risk || !c.backout)
      throw new ChangeError(
        'GH_ERR_CHANGE_INVALID',
        'An emergency change needs its requester, subject area, reason, risk and backout plan.',
      );
    const w = writePolicy(db, env, c, c.ops, 'strict', 'awaiting review (emergency)', now, check);
    updateRequest(db, id, {
      ...appliedColumns(w, actor, now),
      emergency: 1,
      review_due_at: now + reviewHours * 3_600_000,
      submitted_by: c.submittedBy ?? actor.name,
      submitted_by_id: c.submittedById ?? actor.id,
      submitted_at: c.submittedAt ?? now,
    });
    return { request: getRequest(db, id)!, version: w.version, doc: w.doc, notes: w.notes };
  });
}

/** An approver's retrospective review of an emergency change; a refusal is followed by a revert (apply.ts callers do it). */
export function reviewEmergency(
  db: Database,
  id: number,
  decision: 'approve' | 'refuse',
  actor: Actor,
  note: string,
  now: number,
): ChangeRequest {
  const after = (c: ChangeRequest) => ({
    note: c.decisionNote,
    reviewDueAt: c.reviewDueAt,
    late: c.reviewDueAt !== null && now > c.reviewDueAt,
  });
  return requestStep(db, actor, decision === 'approve' ? 'review-approve' : 'review-refuse', now, self, after, () => {
    const c = mustGetRequest(db, id);
    if (!c.emergency || c.decision !== null)
      throw new ChangeError('GH_ERR_CHANGE_STATE', `Change request #${id} is not an emergency change waiting for review.`);
    checkApprover(c, actor);
    updateRequest(db, id, decisionColumns(decision, actor, note, now));
    return getRequest(db, id)!;
  });
}

/** Store a change's test result ("indication of success or failure"), with its change-log row. */
export function recordTest(
  db: Database,
  id: number,
  test: { ok: boolean | null; summary: string; cases?: unknown; checkId?: number | null },
  now: number,
): ChangeRequest {
  const tester: Actor = { name: 'gatehouse (change test)', id: null };
  return requestStep(
    db,
    tester,
    'test',
    now,
    self,
    () => ({ ok: test.ok, summary: test.summary, check: test.checkId ?? null }),
    () => {
      mustGetRequest(db, id);
      updateRequest(db, id, {
        test_ok: test.ok === null ? null : test.ok ? 1 : 0,
        test_summary: test.summary.slice(0, 2000),
        test_json: test.cases === undefined ? null : JSON.stringify(test.cases),
        tested_at: now,
        check_id: test.checkId ?? null,
      });
      return getRequest(db, id)!;
    },
  );
}
