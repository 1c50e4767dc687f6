// Identity follows the query log's retention (store.retentionDays): a person
// or device not seen since the cutoff, and not on a roster or named by the
// school, is deleted, as are stored address records that ended before it and
// old roster-import records. A person or device still referred to by a
// current address record is kept (IdentityService.purge marks them seen first),
// and so is one a query-log row still kept points at (who_by_id, whose pairs the
// query log's own purge deletes with their last day), so a row never outlives
// the names it shows. People an alert or a review request names are kept too:
// those are safeguarding records, which no retention purge deletes (only
// `gatehouse identity erase` does, identity/erase.ts).
// Ids are AUTOINCREMENT, so a deleted id is never given to someone else.
import type { Database } from 'better-sqlite3';

export function purgeIdentity(db: Database, cutoff: number): { people: number; devices: number; addresses: number; imports: number } {
  return db.transaction(() => {
    const addresses = db.prepare('DELETE FROM identity_addresses WHERE expires_at IS NOT NULL AND expires_at < ?').run(cutoff).changes;
    const people = db
      .prepare(
        `DELETE FROM identity_people WHERE in_roster = 0 AND last_seen < ?
           AND id NOT IN (SELECT person_id FROM identity_addresses WHERE person_id IS NOT NULL)
           AND id NOT IN (SELECT person FROM who_by_id)
           AND id NOT IN (SELECT person_id FROM alerts WHERE person_id IS NOT NULL)
           AND id NOT IN (SELECT person_id FROM review_request_identity WHERE person_id IS NOT NULL)`,
      )
      .run(cutoff).changes;
    const devices = db
      .prepare(
        `DELETE FROM identity_devices WHERE named = 0 AND last_seen < ?
           AND id NOT IN (SELECT device_id FROM identity_addresses WHERE device_id IS NOT NULL)
           AND id NOT IN (SELECT device FROM who_by_id)
           AND id NOT IN (SELECT device_id FROM alerts WHERE device_id IS NOT NULL)
           AND id NOT IN (SELECT device_id FROM review_request_identity WHERE device_id IS NOT NULL)`,
      )
      .run(cutoff).changes;
    const imports = db.prepare('DELETE FROM identity_roster_imports WHERE at < ?').run(cutoff).changes;
    return { people, devices, addresses, imports };
  })();
}
