// Everything Gatehouse holds about one person, for a subject access request
// (UK GDPR article 15; `gatehouse identity export`): one ZIP file a data
// protection officer opens without special tools, with a README saying what
// each file is:
//   person.json          the person (roster fields, first and last seen), the
//                        devices and addresses known for them, and counts
//   lookups.csv          every query-log row of theirs (the query log's CSV
//                        columns; names in illegal categories are never stored
//                        and read "withheld")
//   alerts.csv           safeguarding alerts about them, with status and outcome
//   alert-history.csv    who acknowledged or closed each alert, when, the note
//   review-requests.csv  what they asked to have unblocked, and the decision
// Everything is read from the database as it is now, through the same
// search as the query log (so retention has already removed what is older):
// the CLI searches its own connection, the admin UI its reader worker, so the
// service's event loop never runs a year-long scan. ZIP by fflate (streaming:
// a year of lookups never sits in memory whole).
import { appendChange } from '../admin/changelog.js';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Database } from 'better-sqlite3';
import { Zip, ZipDeflate, strToU8 } from 'fflate';
import { alertsOfPerson } from '../alerts/store.js';
import type { Alert } from '../alerts/types.js';
import { csvHeader, csvLine, csvRow } from '../store/csv.js';
import { shownName } from '../store/hidden-names.js';
import { search, type SearchFilter, type SearchPage } from '../store/search.js';
import { describeWho, whoIdsFor } from '../store/who.js';
import { readAddressRecords } from './store.js';
import { requestsOf } from './review-requests.js';
import type { Person } from './types.js';

export interface ExportOptions {
  /** Who made it, for the README. */
  by: string;
  now?: number;
  /** Category id → display name (the config's), for the CSV. */
  categoryName?: (id: string) => string;
}

export interface ExportResult {
  lookups: number;
  alerts: number;
  requests: number;
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? '' : new Date(ms).toISOString());

/** A query-log search (store/search.ts), on this connection or through the reader worker. */
export type LookupSearch = (filter: SearchFilter) => SearchPage | Promise<SearchPage>;

/** The export written to a new file (mode 0600; EEXIST when it is there already): the CLI's. */
export async function exportPersonToFile(db: Database, person: Person, file: string, options: ExportOptions): Promise<ExportResult> {
  const out = createWriteStream(file, { mode: 0o600, flags: 'wx' });
  await new Promise<void>((resolve, reject) => {
    out.once('open', () => resolve());
    out.once('error', reject);
  });
  return exportPerson(db, person, out, (f) => search(db, f), options);
}

/** The export as a ZIP written to `out` (ended when done). */
export async function exportPerson(
  db: Database,
  person: Person,
  out: Writable,
  lookupSearch: LookupSearch,
  options: ExportOptions,
): Promise<ExportResult> {
  const now = options.now ?? Date.now();
  const done = new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    out.on('finish', resolve);
  });
  const zip = new Zip((err, chunk, final) => {
    if (err) return out.destroy(err);
    out.write(chunk);
    if (final) out.end();
  });
  const entry = (name: string) => {
    const f = new ZipDeflate(name, { level: 6 });
    f.mtime = now;
    zip.add(f);
    return {
      write: (text: string) => f.push(strToU8(text), false),
      end: () => f.push(new Uint8Array(0), true),
    };
  };

  // The lookups: every row of every pair of theirs, newest first, a page at a time.
  const lookups = entry('lookups.csv');
  lookups.write(csvHeader());
  let count = 0;
  let before: number | undefined;
  for (;;) {
    const page = await lookupSearch({
      from: 0,
      to: now + 1,
      personId: person.id,
      checks: 'include',
      limit: 10_000,
      ...(before ? { before } : {}),
    });
    for (const r of page.rows) lookups.write(csvRow({ ...r, name: shownName(r.name) }, options.categoryName));
    count += page.rows.length;
    if (page.next === undefined) break;
    before = page.next;
  }
  lookups.end();

  const alerts = alertsOfPerson(db, person.id);
  const devices = describeWho(db, whoIdsFor(db, [person.id], null));
  const deviceOf = (a: Alert) => [...devices.values()].find((w) => w.deviceId === a.deviceId);
  const alertsCsv = entry('alerts.csv');
  alertsCsv.write(
    csvLine([
      'id',
      'raised',
      'last_lookup',
      'severity',
      'category',
      'domain',
      'client',
      'device',
      'mac',
      'group',
      'lookups',
      'status',
      'outcome',
      'acknowledged_by',
      'acknowledged_at',
      'closed_by',
      'closed_at',
    ]),
  );
  for (const a of alerts)
    alertsCsv.write(
      csvLine([
        String(a.id),
        iso(a.createdAt),
        iso(a.lastAt),
        a.severity,
        options.categoryName?.(a.category) ?? a.category,
        a.illegal ? 'withheld' : (a.domain ?? ''),
        a.client ?? '',
        deviceOf(a)?.device ?? '',
        deviceOf(a)?.mac ?? '',
        a.group ?? '',
        String(a.count),
        a.status,
        a.outcome ?? '',
        a.acknowledgedBy ?? '',
        iso(a.acknowledgedAt),
        a.closedBy ?? '',
        iso(a.closedAt),
      ]),
    );
  alertsCsv.end();
  const history = entry('alert-history.csv');
  history.write(csvLine(['alert_id', 'at', 'by', 'from', 'to', 'note']));
  for (const a of alerts)
    for (const h of db
      .prepare('SELECT at, user, from_status, to_status, note FROM alert_history WHERE alert_id = ? ORDER BY id')
      .raw()
      .all(a.id) as [number, string, string, string, string | null][])
      history.write(csvLine([String(a.id), iso(h[0]), h[1], h[2], h[3], h[4] ?? '']));
  history.end();

  const requests = requestsOf(db, person.id);
  const requestsCsv = entry('review-requests.csv');
  requestsCsv.write(
    csvLine([
      'reference',
      'asked',
      'domain',
      'category',
      'group',
      'client',
      'name_given',
      'reason',
      'status',
      'decided_by',
      'decided_at',
      'note',
    ]),
  );
  for (const r of requests)
    requestsCsv.write(
      csvLine([
        `R-${String(r.id).padStart(6, '0')}`,
        iso(r.createdAt),
        r.domain,
        r.category ?? '',
        r.groupName ?? '',
        r.clientAddress ?? '',
        r.requesterName ?? '',
        r.reason ?? '',
        r.status,
        r.decidedBy ?? '',
        iso(r.decidedAt),
        r.decisionNote ?? '',
      ]),
    );
  requestsCsv.end();

  const row = db.prepare('SELECT first_seen, last_seen FROM identity_people WHERE id = ?').raw().get(person.id) as [number, number];
  const personJson = entry('person.json');
  personJson.write(
    JSON.stringify(
      {
        exportedAt: iso(now),
        person: {
          id: person.id,
          userName: person.userKey,
          displayName: person.displayName ?? null,
          email: person.email ?? null,
          role: person.role ?? null,
          yearGroup: person.yearGroup ?? null,
          orgUnit: person.orgUnit ?? null,
          aliases: person.aliases,
          onRoster: person.inRoster,
          rosterSource: person.rosterSource ?? null,
          firstSeen: iso(row[0]),
          lastSeen: iso(row[1]),
        },
        devices: [...devices.values()].filter((w) => w.deviceId !== null).map((w) => ({ id: w.deviceId, name: w.device, mac: w.mac })),
        atAddressesNow: readAddressRecords(db)
          .filter((r) => r.personId === person.id)
          .map((r) => ({
            source: r.source,
            address: r.address,
            userName: r.userName ?? null,
            since: iso(r.startedAt),
            until: Number.isFinite(r.expiresAt) ? iso(r.expiresAt) : null,
          })),
        counts: { lookups: count, alerts: alerts.length, reviewRequests: requests.length },
      },
      null,
      2,
    ) + '\n',
  );
  personJson.end();

  const readme = entry('README.txt');
  readme.write(
    [
      `Gatehouse: everything held about person #${person.id} (${person.userKey})`,
      `Made ${iso(now)} by ${options.by}. Times are UTC (ISO 8601).`,
      '',
      'person.json          who they are (from the roster or Wi-Fi sign-ins), their devices, where they are signed in now, counts',
      `lookups.csv          every DNS lookup logged for them (${count}), newest first: time, address, group, the name looked up, the`,
      '                     decision and why, the person and device then. Names in illegal categories (IWF, CTIRU) are never',
      '                     stored and read "withheld".',
      `alerts.csv           the safeguarding alerts about them (${alerts.length}), with status and outcome`,
      'alert-history.csv    who acknowledged or closed each alert, when, and the note they wrote',
      `review-requests.csv  the sites they asked to have unblocked (${requests.length}), and what was decided`,
      '',
      'Before anything is released: the data protection officer reviews it. Safeguarding records (alerts, their',
      'notes and outcomes) may be exempt from disclosure (Data Protection Act 2018, schedule 3 part 5), and other',
      "people's names (staff who handled an alert) may need to be removed.",
      'The query log keeps lookups for the configured retention period (store.retentionDays), then deletes them.',
      '',
    ].join('\r\n'),
  );
  readme.end();
  zip.end();
  await done;
  const counts = { lookups: count, alerts: alerts.length, requests: requests.length };
  // Who exported whose data, and when: by the person's number only, as the change log is never edited (an erasure must leave no name in it).
  appendChange(db, {
    actor: options.by,
    entity: 'person',
    entityId: person.id,
    action: 'export',
    after: { exported: `person #${person.id}`, ...counts },
    at: now,
  });
  return counts;
}
