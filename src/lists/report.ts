// Per-list parse counts: what list status shows. Bad lines are kept as line
// numbers only (never their text), the first few of them.
import { EXCEPT_APEX, EXCEPT_SUB, type ParseEvent } from './formats/types.js';

export const BAD_LINES_KEPT = 20;

export interface ParseReport {
  /** Entries that block. */
  entries: number;
  /** Entries that except (adblock `@@`, RPZ `rpz-passthru.`). */
  exceptions: number;
  badLines: { count: number; lines: number[] };
  /** Valid rules DNS cannot enforce: URL paths, adblock options and regexes, RPZ IP triggers. */
  unenforced: number;
  /** Lines naming an IP address instead of a host: skipped. */
  ipEntries: number;
}

export function emptyReport(): ParseReport {
  return { entries: 0, exceptions: 0, badLines: { count: 0, lines: [] }, unenforced: 0, ipEntries: 0 };
}

/** Count one non-entry event (entries are counted by the caller, which also stores them). */
export function countEvent(report: ParseReport, event: ParseEvent): void {
  switch (event.type) {
    case 'entry':
      if (event.flags & (EXCEPT_APEX | EXCEPT_SUB)) report.exceptions++;
      else report.entries++;
      break;
    case 'bad':
      report.badLines.count++;
      if (report.badLines.lines.length < BAD_LINES_KEPT) report.badLines.lines.push(event.line);
      break;
    case 'unenforced':
      report.unenforced++;
      break;
    case 'ip':
      report.ipEntries++;
      break;
  }
}

/**
 * A download that is mostly not in the list's format (an HTML error page, a
 * truncated or binary file) is refused as a whole, so the old list is kept.
 */
export function parseFailure(report: ParseReport): string | null {
  const bad = report.badLines.count;
  const good = report.entries + report.exceptions + report.unenforced + report.ipEntries;
  if (bad > 0 && bad >= good) return `${bad} of ${bad + good} lines are not valid for the list's format`;
  return null;
}
