// A CSV export of the Windows DHCP server's leases, as
// `Get-DhcpServerv4Lease -ScopeId … | Export-Csv leases.csv` writes it (with or
// without the "#TYPE" first line). Columns used: IPAddress, ClientId (the
// MAC, "00-11-22-33-44-55"), HostName, AddressState (Active, ActiveReservation,
// Inactive, Declined, Expired, …) and LeaseExpiryTime, a local time in the
// server's culture ("10/01/2025 22:00:00" en-GB, "1/10/2025 10:00:00 PM"
// en-US; ISO 8601 is read too); a reservation has none. The export is a
// snapshot: re-read whenever the scheduled task writes it again.
import { readCsv, column, field } from '../csv.js';
import { cleanHostName, normaliseAddress, normaliseMac } from '../names.js';
import type { LeaseEvent, LeaseParseOptions } from './types.js';

export function* parseWindowsCsv(text: string, options: LeaseParseOptions = {}): Generator<LeaseEvent> {
  const table = readCsv(text);
  for (const e of table.errors) yield { kind: 'bad', line: e.line, reason: e.reason };
  const ip = column(table.header, 'IPAddress');
  const mac = column(table.header, 'ClientId');
  const host = column(table.header, 'HostName');
  const state = column(table.header, 'AddressState');
  const expiry = column(table.header, 'LeaseExpiryTime');
  if (ip < 0) {
    yield { kind: 'bad', line: 1, reason: 'no IPAddress column (expected Get-DhcpServerv4Lease | Export-Csv)' };
    return;
  }
  for (const r of table.records) {
    const address = normaliseAddress(field(r, ip));
    if (!address) {
      yield { kind: 'bad', line: r.line, reason: 'not an IP address' };
      continue;
    }
    const rawMac = field(r, mac);
    const m = normaliseMac(rawMac);
    if (rawMac && !m) yield { kind: 'warn', line: r.line, reason: 'ClientId is not a MAC address' };
    const rawHost = field(r, host);
    const hostName = cleanHostName(rawHost);
    if (rawHost && !hostName) yield { kind: 'warn', line: r.line, reason: 'unusable host name' };
    const rawExpiry = field(r, expiry);
    const endsAt =
      rawExpiry === undefined ? Infinity : parseLocalTime(rawExpiry, options.dateOrder ?? 'dmy', options.timezone ?? 'Europe/London');
    if (endsAt === null) {
      yield { kind: 'bad', line: r.line, reason: 'unreadable LeaseExpiryTime' };
      continue;
    }
    const st = (field(r, state) ?? 'Active').toLowerCase();
    yield { kind: 'lease', line: r.line, lease: { address, mac: m, hostName, endsAt, active: st.startsWith('active') } };
  }
}

/** "dd/mm/yyyy hh:mm[:ss] [AM|PM]", "mm/dd/yyyy …" or ISO 8601, in a time zone → ms; null when unreadable. */
export function parseLocalTime(text: string, order: 'dmy' | 'mdy', zone: string): number | null {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}T/.test(t)) {
    if (/(Z|[+-]\d{2}:?\d{2})$/.test(t)) {
      const ms = Date.parse(t);
      return Number.isNaN(ms) ? null : ms;
    }
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(t);
    return m ? zonedToUtc([+m[1], +m[2], +m[3], +m[4], +m[5], +(m[6] ?? 0)], zone) : null;
  }
  const m = /^(\d{1,2})[/.](\d{1,2})[/.](\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$/.exec(t);
  if (!m) return null;
  const [a, b] = [Number(m[1]), Number(m[2])];
  const [day, month] = order === 'dmy' ? [a, b] : [b, a];
  let hour = Number(m[4]);
  if (m[7]) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (m[7].toLowerCase() === 'pm' ? 12 : 0);
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23) return null;
  return zonedToUtc([Number(m[3]), month, day, hour, Number(m[5]), Number(m[6] ?? 0)], zone);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at an instant, in ms. */
function offsetAt(at: number, zone: string): number {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(at / 1000) * 1000;
}

/** A wall-clock time in a zone → ms since the epoch (the later instant when a clock change repeats it). */
function zonedToUtc([y, mo, d, h, mi, s]: number[], zone: string): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  let utc = wall - offsetAt(wall, zone);
  const again = offsetAt(utc, zone);
  if (wall - again !== utc) utc = wall - again;
  return utc;
}
