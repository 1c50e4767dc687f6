// CSV export of query-log rows (RFC 4180). Names can hold any characters, so
// every text field is quoted when it needs to be, and a text field that a
// spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a
// leading apostrophe.
import { rcodeName, typeName } from '../resolver/wire-names.js';
import type { LogRow } from './search.js';

// Names, not codes: the record type (A, AAAA…), the decision and its reason,
// the category's name (when the config is at hand), the list, the result (NXDOMAIN…).
export const CSV_HEADER = [
  'time',
  'client',
  'group',
  'name',
  'type',
  'action',
  'reason',
  'category',
  'list',
  'link',
  'result',
  'latency_us',
  'cached',
  'check_traffic',
  'transport',
  'user',
  'person',
  'device',
  'mac',
];

export function csvField(value: string): string {
  let v = value;
  if (/^[=+\-@\t\r]/.test(v)) v = `'${v}`;
  return /[",\r\n]/.test(v) || v !== value ? `"${v.replaceAll('"', '""')}"` : v;
}

export function csvLine(fields: string[]): string {
  return fields.map(csvField).join(',') + '\r\n';
}

export function csvHeader(): string {
  return CSV_HEADER.join(',') + '\r\n';
}

/** One row; `categoryName` gives a category id's display name (the config's), else the id is written. */
export function csvRow(r: LogRow, categoryName: (id: string) => string = (id) => id): string {
  return csvLine([
    new Date(r.ts).toISOString(),
    r.client,
    r.group ?? '',
    r.name,
    typeName(r.qtype),
    r.action,
    r.reason ?? '',
    r.category ? categoryName(r.category) : '',
    r.list ?? '',
    r.link ?? '',
    rcodeName(r.rcode),
    String(r.latencyUs),
    r.cached ? 'yes' : 'no',
    r.check ? 'yes' : 'no',
    r.transport ?? '',
    // Who was behind the address then: the user name, the roster's name, the device (src/store/who.ts).
    r.user ?? (r.erased ? '(erased)' : ''),
    r.personName ?? '',
    r.device ?? '',
    r.mac ?? '',
  ]);
}
