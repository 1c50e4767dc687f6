// Erasing a person who has left (UK GDPR article 17; `gatehouse identity
// erase`). Their query-log rows, alerts and review requests stay, so every
// count and report keeps adding up, but nothing says any more who it was:
//   - their who_by_id pairs become (nobody, same device, erased): one small
//     update, however many rows point at them (the rows themselves hold only
//     the pair's id);
//   - alerts and review requests lose their person id; their names (user
//     name, display name, email, aliases) are cut out of the free text kept
//     with them (outcomes, notes, the name a pupil typed on the block page);
//   - their address records go; devices they used that the school did not
//     name lose the host name they gave (it is often the owner's name:
//     "Jos-iPhone"); any device owner field naming them is cleared;
//   - their identity_people row goes;
//   - one change-log row says that person #ID was erased, by whom, on whose
//     authority and why, without the name (the change log cannot be edited).
// Then the tables that held the name are rebuilt, the free pages zeroed and
// the WAL truncated (store/scrub.ts), so the file, its WAL and any backup made
// afterwards hold no trace of it. A running service notices the change-log
// row within 10 s and forgets the person's records (service.ts pollDevices).
// Refused while the person is on a roster (the next import would bring them
// back: take them off it first) or signed in now.
import type { Database } from 'better-sqlite3';
import { appendChange } from '../admin/changelog.js';
import { dayTables, listDays } from '../store/partitions.js';
import { rewriteTable, truncateWal, zeroFreePages } from '../store/scrub.js';
import { IdentityError } from './errors.js';
import { namesOf } from './person.js';
import type { Person } from './types.js';

export interface EraseOptions {
  /** Who ran it ("cli (osuser)"). */
  actor: string;
  /** Why (the request, the date they left): must not name the person. */
  reason: string;
  /** On whose authority (the data protection officer), if given; not the person's name either. */
  approver?: string;
  now?: number;
}

export interface EraseResult {
  personId: number;
  /** Query-log lookups that keep their counts without the name. */
  lookups: number;
  alerts: number;
  requests: number;
  /** Devices whose host name or owner field was cleared. */
  devices: number;
  addresses: number;
  /** False when another process held the WAL: the service's next checkpoint clears it (operations.md). */
  walTruncated: boolean;
}

/** The text with every one of `names` cut out (case-insensitive). */
export function withoutNames(text: string | null, names: readonly string[]): string | null {
  if (text === null) return null;
  let out = text;
  for (const n of names) out = out.replace(new RegExp(n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), '[erased]');
  return out;
}

const mentions = (text: string | null, names: readonly string[]) =>
  text !== null && names.some((n) => text.toLowerCase().includes(n.toLowerCase()));

export function erasePerson(db: Database, person: Person, options: EraseOptions): EraseResult {
  const now = options.now ?? Date.now();
  const names = namesOf(person);
  if (person.inRoster)
    throw new IdentityError(
      'GH_ERR_IDENTITY_ERASE',
      `#${person.id} is still on the roster (${person.rosterSource ?? ''}): take them off it and let it import first, or the next import brings them back`,
    );
  const current = db
    .prepare('SELECT source, address FROM identity_addresses WHERE person_id = ? AND (expires_at IS NULL OR expires_at > ?)')
    .raw()
    .all(person.id, now) as [string, string][];
  if (current.length > 0)
    throw new IdentityError(
      'GH_ERR_IDENTITY_ERASE',
      `#${person.id} is signed in now (${current.map(([s, a]) => `${s} ${a}`).join(', ')}): erase them after they have left`,
    );
  if (mentions(options.reason, names) || mentions(options.approver ?? null, names))
    throw new IdentityError('GH_ERR_IDENTITY_ERASE', 'the reason and the approver must not name the person (the change log keeps them)');

  db.pragma('secure_delete = ON');
  try {
    const result = db
      .transaction((): EraseResult => {
        const pairs = db.prepare('SELECT id, device FROM who_by_id WHERE person = ? AND erased = 0').raw().all(person.id) as [
          number,
          number,
        ][];
        db.prepare('UPDATE who_by_id SET person = 0, erased = 1 WHERE person = ?').run(person.id);
        const lookups = countLookups(
          db,
          pairs.map(([id]) => id),
        );
        const devices = devicesToClear(
          db,
          person,
          pairs.map(([, d]) => d).filter((d) => d > 0),
          names,
        );
        for (const id of devices) {
          const d = db.prepare('SELECT key, name, owner, named, host_name FROM identity_devices WHERE id = ?').get(id) as
            { key: string; name: string | null; owner: string | null; named: number; host_name: string | null } | undefined;
          if (!d) continue;
          // A host name or a PTR-name key a device gave is the user's own text; the school's name stays unless it names them.
          db.prepare('UPDATE identity_devices SET host_name = ?, key = ?, name = ?, owner = ? WHERE id = ?').run(
            d.named === 1 && !mentions(d.host_name, names) ? d.host_name : null,
            d.named === 0 && d.key.startsWith('name:') ? `name:#${id}` : d.key,
            mentions(d.name, names) ? null : d.name,
            mentions(d.owner, names) ? null : d.owner,
            id,
          );
          db.prepare("UPDATE identity_addresses SET host_name = NULL WHERE device_id = ? AND source != 'radius'").run(id);
        }
        const alerts = db.prepare('SELECT id, outcome, client_name FROM alerts WHERE person_id = ?').raw().all(person.id) as [
          number,
          string | null,
          string | null,
        ][];
        for (const [id, outcome, clientName] of alerts) {
          db.prepare('UPDATE alerts SET person_id = NULL, outcome = ?, client_name = ? WHERE id = ?').run(
            withoutNames(outcome, names),
            withoutNames(clientName, names),
            id,
          );
          for (const [hid, note] of db.prepare('SELECT id, note FROM alert_history WHERE alert_id = ?').raw().all(id) as [
            number,
            string | null,
          ][])
            db.prepare('UPDATE alert_history SET note = ? WHERE id = ?').run(withoutNames(note, names), hid);
        }
        const requests = db
          .prepare('SELECT request_id FROM review_request_identity WHERE person_id = ?')
          .pluck()
          .all(person.id) as number[];
        for (const id of requests) {
          const r = db.prepare('SELECT reason, decision_note FROM change_requests WHERE id = ?').raw().get(id) as
            [string | null, string | null] | undefined;
          if (r)
            db.prepare('UPDATE change_requests SET requester = NULL, reason = ?, decision_note = ? WHERE id = ?').run(
              withoutNames(r[0], names),
              withoutNames(r[1], names),
              id,
            );
        }
        db.prepare('UPDATE review_request_identity SET person_id = NULL WHERE person_id = ?').run(person.id);
        const addresses = db.prepare('DELETE FROM identity_addresses WHERE person_id = ?').run(person.id).changes;
        db.prepare('DELETE FROM identity_people WHERE id = ?').run(person.id);
        const counts = { lookups, alerts: alerts.length, requests: requests.length, devices: devices.length, addresses };
        appendChange(db, {
          actor: options.actor,
          entity: 'person',
          entityId: person.id,
          action: 'erase',
          after: { erased: `person #${person.id}`, kept: counts },
          reason: options.reason,
          approver: options.approver ?? null,
          at: now,
        });
        return { personId: person.id, ...counts, walTruncated: false };
      })
      .immediate();
    for (const table of ['identity_people', 'identity_devices', 'identity_addresses', 'alerts', 'alert_history', 'change_requests'])
      rewriteTable(db, table);
    zeroFreePages(db);
    return { ...result, walTruncated: truncateWal(db) };
  } finally {
    db.pragma('secure_delete = OFF');
  }
}

/** The lookups of these pairs in the query log (from the rollups: every row is in one). */
function countLookups(db: Database, pairs: number[]): number {
  if (pairs.length === 0) return 0;
  let n = 0;
  for (const day of listDays(db)) {
    // Table names come from dayTables (our own format), never from input.
    n += db
      .prepare(`SELECT coalesce(sum(n), 0) FROM ${dayTables(day).rw} WHERE who IN (SELECT value FROM json_each(?))`)
      .pluck()
      .get(JSON.stringify(pairs)) as number;
  }
  return n;
}

/** Devices they used (whose host name is theirs unless the school named the device), and any whose owner names them. */
function devicesToClear(db: Database, person: Person, used: number[], names: readonly string[]): number[] {
  const out = new Set(used);
  for (const [id, owner] of db.prepare('SELECT id, owner FROM identity_devices WHERE owner IS NOT NULL').raw().all() as [number, string][])
    if (mentions(owner, names)) out.add(id);
  for (const id of db
    .prepare('SELECT device_id FROM identity_addresses WHERE person_id = ? AND device_id IS NOT NULL')
    .pluck()
    .all(person.id) as number[])
    out.add(id);
  return [...out];
}
