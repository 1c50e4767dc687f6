// CSV input (RFC 4180) for the roster, device lists and Windows DHCP exports,
// read with csv-parse. Lenient where exports are sloppy (stray quotes inside a
// field, short or long rows, a byte-order mark, PowerShell's "#TYPE" first
// line); a record csv-parse cannot read is reported with its line and
// skipped. Columns are found by header name, case- and space-insensitively.
import { parse } from 'csv-parse/sync';

export interface CsvRecord {
  /** 1-based line where the record ends. */
  line: number;
  fields: string[];
}

export interface CsvTable {
  /** Header names, lower-cased, inner spaces and "[required]"-style notes removed. */
  header: string[];
  records: CsvRecord[];
  errors: { line: number; reason: string }[];
  /** The file ended inside a quoted field: every record after its start is lost. */
  truncated: boolean;
}

/** Header text → the key columns are matched on: "Email Address [Required]" → "emailaddress". */
export function headerKey(name: string): string {
  return name
    .replace(/\[[^\]]*\]/g, '')
    .toLowerCase()
    .replace(/[\s_\-.]+/g, '');
}

export function readCsv(text: string): CsvTable {
  const errors: CsvTable['errors'] = [];
  let truncated = false;
  // PowerShell's Export-Csv (without -NoTypeInformation) starts with a type line.
  const body = text.replace(/^\uFEFF?#TYPE[^\n]*\n/, '');
  const offset = body.length === text.length ? 0 : 1;
  const rows = parse(body, {
    bom: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    on_skip: (err: { code?: string; lines?: number; message: string } | undefined) => {
      if (!err) return;
      if (err.code === 'CSV_QUOTE_NOT_CLOSED') truncated = true;
      errors.push({
        line: (err.lines ?? 0) + offset,
        reason: err.code === 'CSV_QUOTE_NOT_CLOSED' ? 'quote not closed' : 'unreadable CSV record',
      });
    },
  }) as unknown as { record: string[]; info: { lines: number } }[];
  const [first, ...rest] = rows;
  return {
    header: first ? first.record.map(headerKey) : [],
    records: rest.map((r) => ({ line: r.info.lines + offset, fields: r.record })),
    errors,
    truncated,
  };
}

/** Index of the first header that matches one of the names (compared by headerKey); -1 if none. */
export function column(header: string[], ...names: string[]): number {
  for (const n of names) {
    const i = header.indexOf(headerKey(n));
    if (i >= 0) return i;
  }
  return -1;
}

/** A record's field, or undefined when the column is absent or the cell empty. */
export function field(record: CsvRecord, index: number): string | undefined {
  if (index < 0) return undefined;
  const v = record.fields[index];
  return v === undefined || v.trim() === '' ? undefined : v;
}
