// A report's period as people give it: first and last day (YYYY-MM-DD, both
// included, local days of the reports' zone), either or both left out for the
// report's usual length (7 days, the board's months, a year) ending with
// yesterday. The same rules for the command line, the admin UI and links.
import { localDayOf, localDayStart } from '../store/daily.js';
import { defaultPeriod } from './input.js';
import type { ReportKind } from './model.js';

const DAY_MS = 86_400_000;
/** A year and a day: the longest period (the query log keeps 365 days). */
const MAX_DAYS = 366;

export class PeriodError extends Error {
  readonly code = 'GH_ERR_REPORT_PERIOD';
}

function dayOf(text: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const day = m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) / DAY_MS : NaN;
  if (!m || Number.isNaN(day) || new Date(day * DAY_MS).toISOString().slice(0, 10) !== text)
    throw new PeriodError(`${what} "${text}" is not a date: expected YYYY-MM-DD, for example 2026-11-02`);
  return day;
}

/** The local date of an instant as YYYY-MM-DD. */
export function dayText(ms: number, zone: string): string {
  return new Date(localDayOf(ms, zone) * DAY_MS).toISOString().slice(0, 10);
}

export interface PeriodAsked {
  from?: string;
  to?: string;
}

export function resolvePeriod(
  kind: ReportKind,
  asked: PeriodAsked,
  now: number,
  zone: string,
  boardMonths: number,
): { from: number; to: number } {
  const usual = defaultPeriod(kind, now, zone, boardMonths);
  const usualDays = localDayOf(usual.to, zone) - localDayOf(usual.from, zone);
  const first = asked.from ? dayOf(asked.from, '--from') : undefined;
  const last = asked.to ? dayOf(asked.to, '--to') : undefined;
  const endDay = last !== undefined ? last + 1 : first !== undefined ? first + usualDays : localDayOf(usual.to, zone);
  const startDay = first ?? endDay - usualDays;
  if (endDay <= startDay) throw new PeriodError(`the period ends (${asked.to}) before it starts (${asked.from})`);
  if (endDay - startDay > MAX_DAYS) throw new PeriodError(`the period is ${endDay - startDay} days: at most ${MAX_DAYS}`);
  return { from: localDayStart(startDay, zone), to: localDayStart(endDay, zone) };
}

/** The period as the query string of a report's page: ?from=…&to=… (last day included). */
export function periodQuery(period: { from: number; to: number }, zone: string): string {
  return `from=${dayText(period.from, zone)}&to=${dayText(period.to - 1, zone)}`;
}
