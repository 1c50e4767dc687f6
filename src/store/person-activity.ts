// One person's activity over a period, for the person page: their queries and
// blocked lookups by category, the devices and addresses they used, per day.
// Read from the rw_D rollups (who × hour × address × category), never from the
// rows, so a term's worth costs a few small index reads a day; the period is
// applied at the hour (the school's days are whole hours in every UK zone).
import type { Database } from 'better-sqlite3';
import { dayTables, listDays, DAY_MS } from './partitions.js';
import { describeWho, whoIdsFor } from './who.js';

const HOUR_MS = 3_600_000;

export interface PersonActivity {
  queries: number;
  blocked: number;
  /** Blocked lookups by category id (null: a block with no category, a deny exception), most first. */
  byCategory: { category: string | null; blocked: number }[];
  devices: { deviceId: number | null; device: string | null; mac: string | null; queries: number; blocked: number }[];
  addresses: { client: string; queries: number; blocked: number; firstAt: number; lastAt: number }[];
  /** Per UTC day with activity: its start, queries and blocks. */
  days: { at: number; queries: number; blocked: number }[];
}

export function personActivity(db: Database, p: { personId: number; from: number; to: number }): PersonActivity {
  const out: PersonActivity = { queries: 0, blocked: 0, byCategory: [], devices: [], addresses: [], days: [] };
  const whos = whoIdsFor(db, [p.personId], null);
  if (whos.length === 0) return out;
  const cats = new Map<number, number>();
  const byWho = new Map<number, { queries: number; blocked: number }>();
  const byClient = new Map<number, { queries: number; blocked: number; firstAt: number; lastAt: number }>();
  for (const day of listDays(db)) {
    const start = day * DAY_MS;
    if (start + DAY_MS <= p.from || start >= p.to) continue;
    const first = Math.max(0, Math.ceil((p.from - start) / HOUR_MS));
    const last = Math.min(23, Math.ceil((p.to - start) / HOUR_MS) - 1);
    if (first > last) continue;
    // Table names come from dayTables (our own format), never from input.
    const rows = db
      .prepare(
        `SELECT who, hour, client, cat, n, blocked FROM ${dayTables(day).rw}
          WHERE who IN (SELECT value FROM json_each(?)) AND hour BETWEEN ? AND ?`,
      )
      .raw()
      .all(JSON.stringify(whos), first, last) as [number, number, number, number, number, number][];
    let dayQueries = 0;
    let dayBlocked = 0;
    for (const [who, hour, client, cat, n, blocked] of rows) {
      dayQueries += n;
      dayBlocked += blocked;
      if (blocked > 0) cats.set(cat, (cats.get(cat) ?? 0) + blocked);
      const w = byWho.get(who) ?? { queries: 0, blocked: 0 };
      w.queries += n;
      w.blocked += blocked;
      byWho.set(who, w);
      const at = start + hour * HOUR_MS;
      const c = byClient.get(client) ?? { queries: 0, blocked: 0, firstAt: at, lastAt: at };
      c.queries += n;
      c.blocked += blocked;
      c.firstAt = Math.min(c.firstAt, at);
      c.lastAt = Math.max(c.lastAt, at + HOUR_MS);
      byClient.set(client, c);
    }
    if (dayQueries > 0) out.days.push({ at: start, queries: dayQueries, blocked: dayBlocked });
    out.queries += dayQueries;
    out.blocked += dayBlocked;
  }
  const names = new Map(
    (db.prepare("SELECT id, name FROM dict WHERE kind = 'category'").raw().all() as [number, string][]).map(([id, n]) => [id, n]),
  );
  out.byCategory = [...cats]
    .map(([cat, blocked]) => ({ category: cat === 0 ? null : (names.get(cat) ?? null), blocked }))
    .sort((a, b) => b.blocked - a.blocked);
  // One line per device (an erased pair never belongs to a person, so every pair here is theirs).
  const views = describeWho(db, byWho.keys());
  const devices = new Map<number | null, PersonActivity['devices'][number]>();
  for (const [who, c] of byWho) {
    const v = views.get(who);
    const key = v?.deviceId ?? null;
    const d = devices.get(key) ?? { deviceId: key, device: v?.device ?? null, mac: v?.mac ?? null, queries: 0, blocked: 0 };
    d.queries += c.queries;
    d.blocked += c.blocked;
    devices.set(key, d);
  }
  out.devices = [...devices.values()].sort((a, b) => b.queries - a.queries);
  const addresses = new Map(
    (
      db
        .prepare('SELECT id, address FROM client_by_id WHERE id IN (SELECT value FROM json_each(?))')
        .raw()
        .all(JSON.stringify([...byClient.keys()])) as [number, string][]
    ).map(([id, a]) => [id, a]),
  );
  out.addresses = [...byClient].map(([id, c]) => ({ client: addresses.get(id) ?? '', ...c })).sort((a, b) => b.queries - a.queries);
  return out;
}
