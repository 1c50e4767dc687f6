// Roster files → people. Two formats, both CSV (csv.ts):
// - google: the Admin console's user export ("Download users"). Read:
//   First Name, Last Name, Email Address, Org Unit Path, Employee Type (role).
//   Every other column (passwords, phones, recovery addresses) is never read.
// - generic: a documented format for MIS exports: username (required), email,
//   name (or first_name + last_name), role, year_group, org_unit, aliases
//   (other user names, separated by ";").
// A row is refused (with its line and a reason, never its text) when it has
// no usable user name, repeats one, or holds control characters or an absurd
// length; refused rows change nothing.
import type { RosterFormat } from '../config.js';
import { readCsv, column, field, type CsvRecord } from '../csv.js';
import { cleanText } from '../names.js';
import { parseUserName } from '../users.js';

export interface RosterEntry {
  line: number;
  /** The name the person signs in with (generic username, else the email). */
  userName: string;
  email?: string;
  displayName?: string;
  role?: string;
  yearGroup?: string;
  orgUnit?: string;
  aliases: string[];
}

export interface RosterParse {
  entries: RosterEntry[];
  refused: { line: number; reason: string }[];
  /** Set when the file cannot be used at all (wrong columns, cut short). */
  error?: string;
}

interface Columns {
  user: number;
  email: number;
  name: number;
  first: number;
  last: number;
  role: number;
  year: number;
  unit: number;
  aliases: number;
}

export function parseRoster(text: string, format: RosterFormat): RosterParse {
  const table = readCsv(text);
  const refused = [...table.errors];
  if (table.truncated) return { entries: [], refused, error: 'the file ends inside a quoted field (cut short?)' };
  const h = table.header;
  const cols: Columns =
    format === 'google'
      ? {
          user: -1,
          email: column(h, 'Email Address'),
          name: -1,
          first: column(h, 'First Name'),
          last: column(h, 'Last Name'),
          role: column(h, 'Employee Type'),
          year: -1,
          unit: column(h, 'Org Unit Path'),
          aliases: -1,
        }
      : {
          user: column(h, 'username', 'user'),
          email: column(h, 'email'),
          name: column(h, 'name', 'display_name'),
          first: column(h, 'first_name'),
          last: column(h, 'last_name'),
          role: column(h, 'role'),
          year: column(h, 'year_group', 'year'),
          unit: column(h, 'org_unit'),
          aliases: column(h, 'aliases'),
        };
  if (format === 'google' && cols.email < 0)
    return { entries: [], refused, error: 'no "Email Address" column (expected the Admin console user export)' };
  if (format === 'generic' && cols.user < 0) return { entries: [], refused, error: 'no "username" column (see the generic roster format)' };
  const entries: RosterEntry[] = [];
  const seen = new Set<string>();
  for (const r of table.records) {
    const entry = entryOf(r, cols);
    if (typeof entry === 'string') {
      refused.push({ line: r.line, reason: entry });
      continue;
    }
    const key = parseUserName(entry.userName)!.full;
    if (seen.has(key)) {
      refused.push({ line: r.line, reason: 'user name repeated' });
      continue;
    }
    seen.add(key);
    entries.push(entry);
  }
  return { entries, refused };
}

function entryOf(r: CsvRecord, c: Columns): RosterEntry | string {
  const values: Record<string, string | undefined> = {};
  for (const [k, i] of Object.entries(c) as [keyof Columns, number][]) {
    const v = cleanText(field(r, i));
    if (typeof v === 'object') return `${k}: ${v.error}`;
    values[k] = v;
  }
  const userName = values.user ?? values.email;
  if (!userName) return 'no user name';
  if (!parseUserName(userName)) return 'unusable user name';
  if (values.email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(values.email)) return 'email: not an address';
  const aliases = (values.aliases ?? '')
    .split(';')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (aliases.some((a) => !parseUserName(a))) return 'aliases: unusable user name';
  const displayName = values.name ?? ([values.first, values.last].filter(Boolean).join(' ') || undefined);
  return {
    line: r.line,
    userName,
    email: values.email,
    displayName,
    role: values.role,
    yearGroup: values.year,
    orgUnit: values.unit,
    aliases,
  };
}
