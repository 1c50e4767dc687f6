// Importing one roster file into identity_people, all or nothing. The file
// is refused whole (and the last good roster kept) when it cannot be read as
// its format, lists no one, has more refused rows than people, or would
// remove more than maxRemovedPercent of the people this source lists (an
// export cut short must not turn pupils into strangers). Each import, good or
// refused, is a row of identity_roster_imports; a good one that changed
// anything is also a change-log row (counts only: the change log cannot be
// edited, so it never holds a person's name).
import type { Database } from 'better-sqlite3';
import { appendChange } from '../../admin/changelog.js';
import type { RosterFormat } from '../config.js';
import { parseUserName, userKey } from '../users.js';
import { parseRoster, type RosterEntry } from './parse.js';

export interface RosterImportResult {
  ok: boolean;
  added: number;
  changed: number;
  removed: number;
  refused: number;
  /** The first refused rows: line and reason. */
  refusedLines: { line: number; reason: string }[];
  error?: string;
}

export interface RosterImportInput {
  source: string;
  format: RosterFormat;
  text: string;
  maxRemovedPercent: number;
  schoolDomains: ReadonlySet<string>;
  actor: string;
  now: number;
}

interface Existing {
  id: number;
  user_key: string;
  display_name: string | null;
  email: string | null;
  role: string | null;
  year_group: string | null;
  org_unit: string | null;
  aliases_json: string;
  roster_source: string | null;
  in_roster: number;
}

const REFUSED_KEPT = 50;

export function importRoster(db: Database, input: RosterImportInput): RosterImportResult {
  const parsed = parseRoster(input.text, input.format);
  const refused = [...parsed.refused];
  const fail = (error: string): RosterImportResult =>
    record(db, input, {
      ok: false,
      added: 0,
      changed: 0,
      removed: 0,
      refused: refused.length,
      refusedLines: refused.slice(0, REFUSED_KEPT),
      error,
    });
  if (parsed.error) return fail(parsed.error);
  const all = new Map((db.prepare('SELECT * FROM identity_people').all() as Existing[]).map((p) => [p.user_key, p]));
  const mine = [...all.values()].filter((p) => p.in_roster === 1 && p.roster_source === input.source);
  const incoming = new Map<string, RosterEntry>();
  for (const e of parsed.entries) {
    const key = userKey(parseUserName(e.userName)!, input.schoolDomains);
    const other = all.get(key);
    if (other && other.in_roster === 1 && other.roster_source !== input.source) {
      refused.push({ line: e.line, reason: 'listed by another roster source' });
      continue;
    }
    if (incoming.has(key)) {
      refused.push({ line: e.line, reason: 'user name repeated' });
      continue;
    }
    incoming.set(key, e);
  }
  if (incoming.size === 0) return fail('the file lists no one');
  if (refused.length >= incoming.size) return fail(`more refused rows (${refused.length}) than people (${incoming.size})`);
  const removedKeys = mine.filter((p) => !incoming.has(p.user_key)).map((p) => p.user_key);
  if (mine.length > 0 && (100 * removedKeys.length) / mine.length > input.maxRemovedPercent)
    return fail(`it would remove ${removedKeys.length} of ${mine.length} people (more than maxRemovedPercent ${input.maxRemovedPercent}%)`);

  let added = 0;
  let changed = 0;
  const insert = db.prepare(
    `INSERT INTO identity_people (user_key, display_name, email, role, year_group, org_unit, aliases_json, roster_source, in_roster, first_seen, last_seen, updated_at)
     VALUES (@user_key, @display_name, @email, @role, @year_group, @org_unit, @aliases_json, @roster_source, 1, @now, @now, @now)
     ON CONFLICT (user_key) DO UPDATE SET display_name = excluded.display_name, email = excluded.email, role = excluded.role,
       year_group = excluded.year_group, org_unit = excluded.org_unit, aliases_json = excluded.aliases_json,
       roster_source = excluded.roster_source, in_roster = 1, last_seen = excluded.last_seen, updated_at = excluded.updated_at`,
  );
  const remove = db.prepare('UPDATE identity_people SET in_roster = 0, updated_at = ? WHERE user_key = ? AND roster_source = ?');
  const result = db
    .transaction((): RosterImportResult => {
      for (const [key, e] of incoming) {
        const row = {
          user_key: key,
          display_name: e.displayName ?? null,
          email: e.email ?? null,
          role: e.role ?? null,
          year_group: e.yearGroup ?? null,
          org_unit: e.orgUnit ?? null,
          aliases_json: JSON.stringify(e.aliases),
          roster_source: input.source,
          now: input.now,
        };
        const before = all.get(key);
        if (!before || before.in_roster === 0 || before.roster_source !== input.source) added++;
        else if (
          before.display_name !== row.display_name ||
          before.email !== row.email ||
          before.role !== row.role ||
          before.year_group !== row.year_group ||
          before.org_unit !== row.org_unit ||
          before.aliases_json !== row.aliases_json
        )
          changed++;
        insert.run(row);
      }
      for (const key of removedKeys) remove.run(input.now, key, input.source);
      const r = {
        ok: true,
        added,
        changed,
        removed: removedKeys.length,
        refused: refused.length,
        refusedLines: refused.slice(0, REFUSED_KEPT),
      };
      if (added + changed + r.removed > 0)
        appendChange(db, {
          actor: input.actor,
          entity: 'roster',
          entityId: input.source,
          action: 'import',
          after: { added, changed, removed: r.removed, refused: r.refused },
          at: input.now,
        });
      return record(db, input, r);
    })
    .immediate();
  return result;
}

function record(db: Database, input: RosterImportInput, r: RosterImportResult): RosterImportResult {
  db.prepare(
    `INSERT INTO identity_roster_imports (at, source, format, ok, added, changed, removed, refused, refused_json, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    input.now,
    input.source,
    input.format,
    r.ok ? 1 : 0,
    r.added,
    r.changed,
    r.removed,
    r.refused,
    JSON.stringify(r.refusedLines),
    r.error ?? null,
  );
  return r;
}

export interface RosterImportRow {
  at: number;
  source: string;
  format: string;
  ok: boolean;
  added: number;
  changed: number;
  removed: number;
  refused: number;
  error?: string;
}

export function listRosterImports(db: Database, limit = 50): RosterImportRow[] {
  return (db.prepare('SELECT * FROM identity_roster_imports ORDER BY id DESC LIMIT ?').all(limit) as Record<string, unknown>[]).map(
    (r) => ({
      at: r.at as number,
      source: r.source as string,
      format: r.format as string,
      ok: r.ok === 1,
      added: r.added as number,
      changed: r.changed as number,
      removed: r.removed as number,
      refused: r.refused as number,
      error: (r.error as string | null) ?? undefined,
    }),
  );
}
