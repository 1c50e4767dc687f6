// A review request from the block page becomes a draft change request: "allow
// this site for my group", with the pupil's or teacher's name and reason. IT
// confirms the site and its record and submits it; an approver decides it. A
// repeat from the same device for the same site adds nothing. Names on an
// illegal list never get here (the block page refuses them first).
import type { Database } from 'better-sqlite3';
import type { Config } from '../config.js';
import { ChangeError } from './errors.js';
import { createRequest } from './requests.js';
import { currentVersion } from './store.js';

export interface ReviewRequestInput {
  domain: string;
  group: string;
  category?: string | null;
  clientAddress: string;
  requesterName?: string | null;
  reason: string;
}

/** Returns the draft's id (an existing one for a repeat). */
export function createReviewRequest(
  db: Database,
  config: Config,
  input: ReviewRequestInput,
  now: number,
  isIllegal?: (name: string) => boolean,
): number {
  const policy = currentVersion(db);
  if (!policy) throw new ChangeError('GH_ERR_POLICY_SEED', 'There is no governed policy yet.');
  const repeat = db
    .prepare(
      `SELECT change_requests.id FROM change_requests, json_each(change_requests.ops_json) AS op
       WHERE status = 'draft' AND source = 'block-page' AND client_address = ? AND json_extract(op.value, '$.domain') = ?`,
    )
    .pluck()
    .get(input.clientAddress, input.domain) as number | undefined;
  if (repeat !== undefined) return repeat;
  const group = policy.doc.groups.some((g) => g.name === input.group) ? input.group : policy.doc.groups.find((g) => g.default)!.name;
  const c = createRequest(
    db,
    policy.doc,
    { categories: config.categories, maxSwitchOffHours: config.changeControl.maxSwitchOffHours, ...(isIllegal ? { isIllegal } : {}) },
    {
      ops: [{ op: 'exception-add', domain: input.domain, action: 'allow', groups: [group] }],
      requester: (input.requesterName ?? '').trim().slice(0, 200) || 'not given (block page)',
      reason: input.reason.trim().slice(0, 2000),
      source: 'block-page',
      submit: false,
      clientAddress: input.clientAddress.slice(0, 64),
      category: input.category?.slice(0, 100) ?? null,
    },
    { name: 'block page', id: null },
    now,
  );
  return c.id;
}
