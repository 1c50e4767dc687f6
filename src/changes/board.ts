// The filtering changes of a period in plain words, for the safeguarding board
// (the change log's two-monthly extract, and the board report in src/reports/
// built on it): what changed per group, who asked and why, who approved, the
// test result, and whether it was an emergency and overdue for review.
import type { Database } from 'better-sqlite3';
import { sentences } from './describe.js';
import { listRequests, type ChangeRequest } from './store.js';

export interface BoardRow {
  id: number;
  /** When it applied (or was decided, or asked for, when it never applied). */
  at: number;
  kind: ChangeRequest['kind'];
  status: ChangeRequest['status'];
  summary: string;
  /** One sentence per difference: "pupils: Blocked categories: Adult content → Adult content, Social media". */
  changes: string[];
  groups: string[];
  requester: string | null;
  subjectArea: string | null;
  reason: string | null;
  /** The account that entered or submitted it. */
  enteredBy: string;
  /** "head (approved)", "deputy (refused)", or null when no approver decided it (yet). */
  approver: string | null;
  risk: string | null;
  backout: string | null;
  startsAt: number | null;
  endsAt: number | null;
  endedAt: number | null;
  /** "success: …", "FAILURE: …", "not tested: …", or null. */
  test: string | null;
  testOk: boolean | null;
  emergency: boolean;
  /** An emergency change not reviewed by its review time (as of `now`). */
  overdue: boolean;
  revertOf: number | null;
  revertedBy: number | null;
}

function row(c: ChangeRequest, now: number): BoardRow {
  return {
    id: c.id,
    at: c.appliedAt ?? c.decidedAt ?? c.createdAt,
    kind: c.kind,
    status: c.status,
    summary: c.summary,
    changes: sentences(c.described),
    groups: c.groups,
    requester: c.requester,
    subjectArea: c.subjectArea,
    reason: c.reason,
    enteredBy: c.submittedBy ?? c.createdBy,
    approver: c.decidedBy ? `${c.decidedBy} (${c.decision ?? 'decided'})` : null,
    risk: c.risk,
    backout: c.backout,
    startsAt: c.startsAt,
    endsAt: c.endsAt,
    endedAt: c.endedAt,
    test: c.test ? `${c.test.ok === null ? 'not tested' : c.test.ok ? 'success' : 'FAILURE'}: ${c.test.summary}` : null,
    testOk: c.test?.ok ?? null,
    emergency: c.emergency,
    overdue: c.emergency && c.decision === null && c.reviewDueAt !== null && c.reviewDueAt < now,
    revertOf: c.revertOf,
    revertedBy: c.revertedBy,
  };
}

/**
 * Filtering changes with something to report in [from, to] (applied, refused,
 * ended, reverted, failed, or waiting), oldest first. Drafts and withdrawn
 * requests changed nothing and are left out; an emergency change still waiting
 * for review is always in, so an overdue one cannot fall out of a report.
 */
export function changesBetween(db: Database, from: number, to: number, now: number = Date.now()): BoardRow[] {
  const inPeriod = listRequests(db, { from, to, limit: 10_000 });
  const unreviewed = listRequests(db, { status: ['applied', 'ended', 'reverted'], limit: 10_000 }).filter(
    (c) => c.emergency && c.decision === null && (c.appliedAt ?? 0) <= to,
  );
  const byId = new Map<number, ChangeRequest>();
  for (const c of [...inPeriod, ...unreviewed]) if (c.status !== 'draft' && c.status !== 'withdrawn') byId.set(c.id, c);
  return [...byId.values()].map((c) => row(c, now)).sort((a, b) => a.at - b.at || a.id - b.id);
}
