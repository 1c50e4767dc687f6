// Who was behind a query-log row: the (person, device) pair its `who` column
// points at (who_by_id, migration 10), read back with the person's and the
// device's names from the identity tables (src/identity/schema.ts). Names are
// read when a row is shown, never copied into the log, so a person erased
// later (identity/erase.ts) is gone from every later page, CSV and export.
import type { Database } from 'better-sqlite3';
import { dayTables, listDays, DAY_MS } from './partitions.js';

const HOUR_MS = 3_600_000;

export interface WhoView {
  personId: number | null;
  /** The person's user name (identity_people.user_key). */
  user: string | null;
  /** Their display name from the roster. */
  personName: string | null;
  deviceId: number | null;
  /** The school's name for the device, else the host name it last gave. */
  device: string | null;
  mac: string | null;
  /** The person was erased: the row keeps its device and its counts, not who it was. */
  erased: boolean;
}

export const NOBODY: WhoView = Object.freeze({
  personId: null,
  user: null,
  personName: null,
  deviceId: null,
  device: null,
  mac: null,
  erased: false,
});

interface WhoRow {
  id: number;
  person: number;
  device: number;
  erased: number;
  user_key: string | null;
  display_name: string | null;
  key: string | null;
  name: string | null;
  named: number | null;
  host_name: string | null;
}

/** The who ids of these people and devices (null: any); an erased person's pairs never match a person. */
export function whoIdsFor(db: Database, persons: number[] | null, devices: number[] | null): number[] {
  return db
    .prepare(
      `SELECT id FROM who_by_id
        WHERE (@persons IS NULL OR person IN (SELECT value FROM json_each(@persons)))
          AND (@devices IS NULL OR device IN (SELECT value FROM json_each(@devices)))
          AND (@persons IS NULL OR erased = 0)`,
    )
    .pluck()
    .all({
      persons: persons === null ? null : JSON.stringify(persons),
      devices: devices === null ? null : JSON.stringify(devices),
    }) as number[];
}

/** The pairs behind a set of who ids, with the names they have now. */
export function describeWho(db: Database, ids: Iterable<number>): Map<number, WhoView> {
  const list = [...new Set(ids)].filter((id) => id > 0);
  const out = new Map<number, WhoView>();
  if (list.length === 0) return out;
  const rows = db
    .prepare(
      `SELECT w.id, w.person, w.device, w.erased, p.user_key, p.display_name, d.key, d.name, d.named, d.host_name
         FROM who_by_id AS w
         LEFT JOIN identity_people AS p ON p.id = w.person
         LEFT JOIN identity_devices AS d ON d.id = w.device
        WHERE w.id IN (SELECT value FROM json_each(?))`,
    )
    .all(JSON.stringify(list)) as WhoRow[];
  for (const r of rows) out.set(r.id, whoView(r));
  return out;
}

function whoView(r: WhoRow): WhoView {
  const known = r.user_key !== null;
  return {
    personId: known ? r.person : null,
    user: r.user_key,
    personName: r.display_name,
    deviceId: r.key !== null ? r.device : null,
    device: (r.named === 1 ? r.name : null) ?? r.host_name ?? null,
    mac: r.key?.startsWith('mac:') ? r.key.slice(4) : null,
    erased: r.erased === 1,
  };
}

/** A person and a device known by their own ids (an alert, a review request), with their names now. */
export function describeIds(db: Database, personId: number | null, deviceId: number | null): WhoView {
  if (personId === null && deviceId === null) return NOBODY;
  const r = db
    .prepare(
      `SELECT p.user_key, p.display_name, d.key, d.name, d.named, d.host_name
         FROM (SELECT 1) LEFT JOIN identity_people AS p ON p.id = ? LEFT JOIN identity_devices AS d ON d.id = ?`,
    )
    .get(personId, deviceId) as Omit<WhoRow, 'id' | 'person' | 'device' | 'erased'>;
  return whoView({ ...r, id: 0, person: personId ?? 0, device: deviceId ?? 0, erased: 0 });
}

/** How a row's person reads in text (pages, CSV, messages): "Jo Smith (jsmith)", or "". */
export function personLabel(w: Pick<WhoView, 'user' | 'personName' | 'erased'>): string {
  if (w.user === null) return w.erased ? '(erased)' : '';
  return w.personName ? `${w.personName} (${w.user})` : w.user;
}

/** How a row's device reads in text: "pupil-laptop (aa:bb:cc:dd:ee:ff)", the MAC alone, or "". */
export function deviceLabel(w: Pick<WhoView, 'device' | 'mac'>): string {
  if (w.device && w.mac) return `${w.device} (${w.mac})`;
  return w.device ?? w.mac ?? '';
}

export interface ClientWho {
  client: string;
  /** The person and device behind most of the address's identified queries in the period. */
  who: WhoView;
  queries: number;
  /** Other people or devices seen at the address in the period. */
  others: number;
}

/**
 * Who was behind each of these addresses over a period (the dashboard's top
 * lists), from the rw_D rollups at their hour resolution. One pass per day.
 */
export function whoAtClients(db: Database, p: { from: number; to: number; clients: string[] }): ClientWho[] {
  const ids = db
    .prepare('SELECT id, address FROM client_by_id WHERE address IN (SELECT value FROM json_each(?))')
    .raw()
    .all(JSON.stringify(p.clients)) as [number, string][];
  if (ids.length === 0) return [];
  const address = new Map(ids);
  const totals = new Map<number, Map<number, number>>();
  for (const day of listDays(db)) {
    const start = day * DAY_MS;
    if (start + DAY_MS <= p.from || start >= p.to) continue;
    const first = Math.max(0, Math.floor((p.from - start) / HOUR_MS));
    const last = Math.min(23, Math.floor((p.to - 1 - start) / HOUR_MS));
    const rows = db
      .prepare(
        `SELECT client, who, sum(n) FROM ${dayTables(day).rw}
          WHERE hour BETWEEN ? AND ? AND client IN (SELECT value FROM json_each(?)) GROUP BY client, who`,
      )
      .raw()
      .all(first, last, JSON.stringify([...address.keys()])) as [number, number, number][];
    for (const [client, who, n] of rows) {
      let m = totals.get(client);
      if (!m) totals.set(client, (m = new Map()));
      m.set(who, (m.get(who) ?? 0) + n);
    }
  }
  const best = [...totals].map(([client, m]) => {
    const [who, queries] = [...m].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
    return { client, who, queries, others: m.size - 1 };
  });
  const views = describeWho(
    db,
    best.map((b) => b.who),
  );
  return best.map((b) => ({ client: address.get(b.client)!, who: views.get(b.who) ?? NOBODY, queries: b.queries, others: b.others }));
}
