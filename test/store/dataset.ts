// A small known query log written straight through LogWriter (no worker), and
// the same rows kept in memory so tests can compare against a brute-force filter.
import type { Database } from 'better-sqlite3';
import { newBatch, pushRow, TRANSPORT_NAMES } from '../../src/store/batch.js';
import { LogWriter } from '../../src/store/writer.js';

export const DICTS = {
  groups: ['staff', 'pupils', 'guests'],
  categories: ['adult', 'gambling', 'vpn'],
  links: ['fibre', '4g'],
  lists: ['ut1-adult', 'ut1-gambling', 'vpn-list'],
  reasons: ['category', 'keyword', 'safe-search'],
};
export const ACTION_NAMES = ['allow', 'block', 'rewrite'] as const;

export interface Row {
  ts: number;
  client: string;
  group: string;
  name: string;
  qtype: number;
  action: (typeof ACTION_NAMES)[number];
  category: string | null;
  link: string | null;
  rcode: number;
  latencyUs: number;
  cached: boolean;
  reason: string | null;
  list: string | null;
  check: boolean;
  transport: string | null;
  /** Who was behind the row (the identity fields of LogRow). */
  personId: number | null;
  user: string | null;
  personName: string | null;
  deviceId: number | null;
  device: string | null;
  mac: string | null;
  erased: boolean;
}

/** The people and devices of the dataset: pupils' rows (every third) carry one of each. */
export const PEOPLE = [
  { id: 1, user: 'asmith', name: 'Ann Smith' },
  { id: 2, user: 'bjones', name: 'Ben Jones' },
  { id: 3, user: 'cpatel', name: null },
  { id: 4, user: 'dokafor', name: 'Dee Okafor' },
];
export const DEVICES = [1, 2, 3, 4, 5, 6].map((id) => ({
  id,
  mac: `02:00:00:00:00:0${id}`,
  name: id % 2 === 0 ? `laptop-${id}` : null,
}));

function writeIdentities(db: Database): void {
  const person = db.prepare(
    'INSERT OR IGNORE INTO identity_people (id, user_key, display_name, first_seen, last_seen, updated_at) VALUES (?, ?, ?, 0, 0, 0)',
  );
  const device = db.prepare(
    'INSERT OR IGNORE INTO identity_devices (id, key, host_name, first_seen, last_seen, updated_at) VALUES (?, ?, ?, 0, 0, 0)',
  );
  for (const p of PEOPLE) person.run(p.id, p.user, p.name);
  for (const d of DEVICES) device.run(d.id, `mac:${d.mac}`, d.name);
}

/** `n` rows from `start`, `stepMs` apart (several share a millisecond when stepMs is 0). */
export function writeDataset(db: Database, start: number, n: number, stepMs: number): Row[] {
  writeIdentities(db);
  const writer = new LogWriter(db);
  writer.setDictionaries(DICTS);
  const rows: Row[] = [];
  const b = newBatch(n);
  for (let i = 0; i < n; i++) {
    const ts = start + Math.floor(i * stepMs);
    const client = `10.0.${i % 3}.${i % 11}`;
    const group = i % 3;
    const name = [`www.example${i % 13}.com`, `cdn${i % 7}.school.org.uk`, `tracker${i % 5}.ads.net`][i % 3];
    const action = i % 10 === 0 ? 1 : i % 29 === 0 ? 2 : 0;
    const category = action === 1 ? i % 3 : -1;
    const link = action === 0 && i % 2 === 0 ? i % 2 : -1;
    // Blocks: by a list (its id recorded) or, every fourth, by a keyword rule; rewrites: safe search.
    const reason = action === 1 ? (i % 4 === 0 ? 1 : 0) : action === 2 ? 2 : -1;
    const list = reason === 0 ? category : -1;
    const person = group === 1 ? PEOPLE[Math.floor(i / 7) % 4] : undefined;
    const dev = group === 1 ? DEVICES[Math.floor(i / 3) % 6] : undefined;
    pushRow(
      b,
      ts,
      client,
      group,
      name,
      [1, 28, 65][i % 3],
      action,
      category,
      link,
      i % 17 === 0 ? 3 : 0,
      100 + i,
      i % 4 === 0,
      reason,
      list,
      false,
      i % 5,
      person?.id ?? 0,
      dev?.id ?? 0,
    );
    rows.push({
      ts,
      client,
      group: DICTS.groups[group],
      name,
      qtype: [1, 28, 65][i % 3],
      action: ACTION_NAMES[action],
      category: category < 0 ? null : DICTS.categories[category],
      link: link < 0 ? null : DICTS.links[link],
      rcode: i % 17 === 0 ? 3 : 0,
      latencyUs: 100 + i,
      cached: i % 4 === 0,
      reason: reason < 0 ? null : DICTS.reasons[reason],
      list: list < 0 ? null : DICTS.lists[list],
      check: false,
      transport: TRANSPORT_NAMES[i % 5] || null,
      personId: person?.id ?? null,
      user: person?.user ?? null,
      personName: person?.name ?? null,
      deviceId: dev?.id ?? null,
      device: dev?.name ?? null,
      mac: dev?.mac ?? null,
      erased: false,
    });
  }
  writer.writeBatch(b);
  return rows;
}
