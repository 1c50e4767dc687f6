// Naming one person exactly, for the commands that act on everything held
// about them (subject access export, erasure): their user name in any
// spelling the identify link accepts (SCHOOL\jsmith, jsmith@school.example),
// their email, an alias, or #ID. Part of a name is not enough here: a search
// may cover several people, an erasure must never.
import type { Database } from 'better-sqlite3';
import { IdentityError } from './errors.js';
import { findPeople } from './find.js';
import { parseUserName } from './users.js';
import { personOf } from './store.js';
import type { Person } from './types.js';

export function getPerson(db: Database, id: number): Person | undefined {
  const row = db.prepare('SELECT * FROM identity_people WHERE id = ?').get(id);
  return row ? personOf(row as Parameters<typeof personOf>[0]) : undefined;
}

/** The one person `text` names; an IdentityError (GH_ERR_IDENTITY_NOT_FOUND or _AMBIGUOUS) otherwise. */
export function personNamed(db: Database, text: string): Person {
  const exact = /^#\d+$/.test(text.trim()) || parseUserName(text) !== undefined ? findPeople(db, text) : [];
  const people = exact
    .map((id) => getPerson(db, id)!)
    .filter((p) => {
      // findPeople falls back to substrings: keep only exact names here.
      if (/^#\d+$/.test(text.trim())) return true;
      const n = parseUserName(text)!;
      const names = [p.userKey, p.email?.toLowerCase(), ...p.aliases.map((a) => a.toLowerCase())];
      return names.includes(n.full) || names.includes(n.local);
    });
  if (people.length === 1) return people[0];
  if (people.length > 1)
    throw new IdentityError(
      'GH_ERR_IDENTITY_AMBIGUOUS',
      `"${text}" names ${people.length} people (${people.map((p) => `#${p.id}`).join(', ')}): give #ID`,
    );
  throw new IdentityError('GH_ERR_IDENTITY_NOT_FOUND', `nobody is known as "${text}" (give the user name, the email or #ID)`);
}

/** The texts that would name this person in free text (notes, device owners): user name, display name, email, aliases. */
export function namesOf(p: Person): string[] {
  return [
    ...new Set([p.userKey, p.displayName, p.email, ...p.aliases].filter((s): s is string => typeof s === 'string' && s.trim().length >= 3)),
  ];
}
