// What every lease-file parser yields. A parser is a generator over the whole
// file's text, as the list parsers are (src/lists/formats): a bad line or
// block is reported with its 1-based line number and skipped, never fatal.
// Events carry no raw text of the line, so nothing a client chose reaches a
// report unless it passed names.ts.

export interface Lease {
  address: string;
  mac?: string;
  hostName?: string;
  /** ms since the epoch, when the file says. */
  startedAt?: number;
  /** ms since the epoch; Infinity for leases that never end (reservations, "ends never"). */
  endsAt: number;
  /** False for a lease the file records as released, declined, expired or free. */
  active: boolean;
}

export type LeaseEvent =
  | { kind: 'lease'; line: number; lease: Lease }
  /** The line or block was skipped. */
  | { kind: 'bad'; line: number; reason: string }
  /** The lease was kept without a field that could not be used (a host name with control characters). */
  | { kind: 'warn'; line: number; reason: string };

export interface LeaseParseOptions {
  /** windows-csv: day/month order of its dates. */
  dateOrder?: 'dmy' | 'mdy';
  /** windows-csv: the time zone of its local times. */
  timezone?: string;
}

/** Lines longer than this are bad, whatever the format (a lease line is under 1 KiB). */
export const MAX_LINE = 4096;
