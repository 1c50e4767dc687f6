// Finding people and devices by what a DSL or IT types: "jsmith",
// "SCHOOL\jsmith", "jo smith", an email address, "#17"; for devices a name,
// host name, asset tag, MAC in any spelling, or "#5". An exact match of the
// person's names (user name, email, aliases, as the identify link reads them)
// wins; otherwise every person whose user name, display name or email holds
// the text (case-insensitive), so a search can cover several people and shows
// who each row was. Read-only, prepared statements only.
import type { Database } from 'better-sqlite3';
import { normaliseMac } from './names.js';
import { parseUserName } from './users.js';

/** Most people or devices one search text may stand for. */
const MAX_MATCHES = 500;

function byId(text: string): number | undefined {
  const m = /^#(\d{1,15})$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** The ids of the people `text` means; empty when nobody. */
export function findPeople(db: Database, text: string): number[] {
  const id = byId(text);
  if (id !== undefined) return db.prepare('SELECT id FROM identity_people WHERE id = ?').pluck().all(id) as number[];
  const name = parseUserName(text);
  const needle = text.normalize('NFKC').trim().toLowerCase();
  if (needle === '') return [];
  if (name) {
    const exact = db
      .prepare(
        `SELECT id FROM identity_people
          WHERE user_key IN (?, ?) OR lower(email) = ?
             OR EXISTS (SELECT 1 FROM json_each(aliases_json) WHERE lower(value) IN (?, ?))`,
      )
      .pluck()
      .all(name.full, name.local, name.full, name.full, name.local) as number[];
    if (exact.length > 0) return exact;
  }
  return db
    .prepare(
      `SELECT id FROM identity_people
        WHERE instr(user_key, @n) > 0 OR instr(lower(coalesce(display_name, '')), @n) > 0 OR instr(lower(coalesce(email, '')), @n) > 0
        ORDER BY id LIMIT @max`,
    )
    .pluck()
    .all({ n: needle, max: MAX_MATCHES }) as number[];
}

/** The ids of the devices `text` means; empty when none. */
export function findDevices(db: Database, text: string): number[] {
  const id = byId(text);
  if (id !== undefined) return db.prepare('SELECT id FROM identity_devices WHERE id = ?').pluck().all(id) as number[];
  const mac = normaliseMac(text);
  if (mac) return db.prepare('SELECT id FROM identity_devices WHERE key = ?').pluck().all(`mac:${mac}`) as number[];
  const needle = text.normalize('NFKC').trim().toLowerCase();
  if (needle === '') return [];
  return db
    .prepare(
      `SELECT id FROM identity_devices
        WHERE instr(lower(coalesce(name, '')), @n) > 0 OR instr(lower(coalesce(host_name, '')), @n) > 0
           OR instr(lower(coalesce(asset_tag, '')), @n) > 0 OR instr(key, @n) > 0
        ORDER BY id LIMIT @max`,
    )
    .pluck()
    .all({ n: needle, max: MAX_MATCHES }) as number[];
}
