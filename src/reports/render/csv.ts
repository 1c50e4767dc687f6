// A report's tables as one CSV file (RFC 4180, CRLF): each table is a block,
// a line naming it ("table", its id, its title), its header and its rows, and
// a blank line. Text a spreadsheet would run as a formula is defused
// (store/csv.ts), as in every export.
import { csvLine } from '../../store/csv.js';
import type { Report } from '../model.js';

export function reportCsv(r: Report): string {
  let out = csvLine(['report', r.kind, r.title, r.site, new Date(r.from).toISOString(), new Date(r.to).toISOString()]) + '\r\n';
  for (const s of r.sections) {
    for (const f of s.figures ?? []) out += csvLine(['figure', s.id, f.label, f.value]);
    for (const t of s.tables ?? []) {
      out += '\r\n' + csvLine(['table', t.id, t.title]) + csvLine(t.columns);
      for (const row of t.rows) out += csvLine(row.map((c) => String(c)));
    }
  }
  return out;
}
