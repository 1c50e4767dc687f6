// Allow/deny exceptions are part of the governed policy (src/changes/): they
// are made and removed by change requests, never written directly. What the
// admin UI still needs of its own: the exceptions in force and the block
// page's review requests as the pages read them, and the reference a pupil
// is given.
import type { Database } from 'better-sqlite3';
import type { GovernedException } from '../changes/document.js';
import { currentVersion, listRequests } from '../changes/store.js';
import type { AdminContext } from './context.js';

/** An exception in force (the governed policy's). */
export type ExceptionRow = GovernedException;

/** The exceptions in force now, by domain. */
export function listExceptions(db: Database): ExceptionRow[] {
  const doc = currentVersion(db)?.doc;
  return doc ? [...doc.exceptions].sort((a, b) => a.domain.localeCompare(b.domain) || a.id - b.id) : [];
}

/** A review request from the block page, waiting for IT to confirm it (a draft change request). */
export interface PendingReview {
  id: number;
  domain: string;
  category: string | null;
  group_name: string | null;
  client_address: string | null;
  requester_name: string | null;
  reason: string | null;
  created_at: number;
}

/** The reference a pupil is given for a review request and can quote: "R-000123" (the change request's number). */
export function requestReference(id: number): string {
  return `R-${String(id).padStart(6, '0')}`;
}

/**
 * Review requests from the block page still waiting (drafts IT has not
 * confirmed), fit to show: one for a name in an illegal category is never
 * shown (list entries stay secret) and can never be approved.
 */
export function visiblePendingRequests(ctx: Pick<AdminContext, 'db' | 'config' | 'isIllegal'>): PendingReview[] {
  const illegal = new Set(ctx.config.categories.filter((c) => c.illegal).map((c) => c.id));
  return listRequests(ctx.db, { status: ['draft'] })
    .filter((r) => r.source === 'block-page')
    .reverse()
    .flatMap((r) => {
      const op = r.ops[0];
      if (!op || op.op !== 'exception-add') return [];
      if ((r.category && illegal.has(r.category)) || ctx.isIllegal?.(op.domain)) return [];
      return [
        {
          id: r.id,
          domain: op.domain,
          category: r.category,
          group_name: op.groups[0] ?? null,
          client_address: r.clientAddress,
          requester_name: r.requester,
          reason: r.reason,
          created_at: r.createdAt,
        },
      ];
    });
}
