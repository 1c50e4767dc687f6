// CSV export of query-log rows (RFC 4180). Names can hold any characters, so
// every text field is quoted when it needs to be, and a text field that a
// spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a
// leading apostrophe.
import type { LogRow } from './search.js';

export const CSV_HEADER = ['time', 'client', 'group', 'name', 'qtype', 'action', 'category', 'link', 'rcode', 'latency_us', 'cached'];

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

export function csvRow(r: LogRow): string {
  return csvLine([
    new Date(r.ts).toISOString(),
    r.client,
    r.group ?? '',
    r.name,
    String(r.qtype),
    r.action,
    r.category ?? '',
    r.link ?? '',
    String(r.rcode),
    String(r.latencyUs),
    r.cached ? '1' : '0',
  ]);
}
