// Who asked for a review on the block page: the person and device at the
// client's address at that moment (review_request_identity, migration 10),
// kept beside the request (a change request from the block page, in
// change_requests) rather than in it, which change control owns. Names are read when shown (store/who.ts), so an erased person
// is gone from the Exceptions page and their person page alike.
import type { Database } from 'better-sqlite3';
import { describeIds, type WhoView } from '../store/who.js';

/** Record the requester's identity (nothing when nobody is known at the address). */
export function recordRequester(db: Database, requestId: number, who: { personId?: number; deviceId?: number } | undefined): void {
  if (!who || (who.personId === undefined && who.deviceId === undefined)) return;
  db.prepare('INSERT OR REPLACE INTO review_request_identity (request_id, person_id, device_id) VALUES (?, ?, ?)').run(
    requestId,
    who.personId ?? null,
    who.deviceId ?? null,
  );
}

/** Who asked for each of these requests, as far as known. */
export function requesters(db: Database, requestIds: readonly number[]): Map<number, WhoView> {
  const out = new Map<number, WhoView>();
  if (requestIds.length === 0) return out;
  const rows = db
    .prepare('SELECT request_id, person_id, device_id FROM review_request_identity WHERE request_id IN (SELECT value FROM json_each(?))')
    .raw()
    .all(JSON.stringify(requestIds)) as [number, number | null, number | null][];
  for (const [id, person, device] of rows) out.set(id, describeIds(db, person, device));
  return out;
}

export interface PersonRequest {
  id: number;
  domain: string;
  category: string | null;
  groupName: string | null;
  clientAddress: string | null;
  requesterName: string | null;
  reason: string | null;
  createdAt: number;
  status: string;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionNote: string | null;
  deviceId: number | null;
}

/** A person's review requests, newest first (the person page and the subject access export). */
export function requestsOf(db: Database, personId: number, from = 0, to = Number.MAX_SAFE_INTEGER): PersonRequest[] {
  return db
    .prepare(
      `SELECT r.id, json_extract(r.ops_json, '$[0].domain') AS domain, r.category,
              json_extract(r.ops_json, '$[0].groups[0]') AS groupName, r.client_address AS clientAddress,
              r.requester AS requesterName, r.reason, r.created_at AS createdAt, r.status, r.decided_by AS decidedBy,
              r.decided_at AS decidedAt, r.decision_note AS decisionNote, i.device_id AS deviceId
         FROM review_request_identity AS i JOIN change_requests AS r ON r.id = i.request_id
        WHERE i.person_id = ? AND r.created_at >= ? AND r.created_at < ?
        ORDER BY r.id DESC`,
    )
    .all(personId, from, to) as PersonRequest[];
}
