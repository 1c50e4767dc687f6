// The two-monthly extract for the safeguarding board (one trust's policy asks
// for the change-control log every two months): every filtering change in
// plain words with who asked, why and who approved, the checks made, and the
// alerts as counts by category and outcome, with a block to sign. The board
// sees counts: no pupil, no device and no address appears anywhere in it.
import type { Database } from 'better-sqlite3';
import type { Chart, Report, Table } from '../model.js';
import { REPORT_TITLES } from '../model.js';
import type { ReportInput } from '../input.js';
import {
  Labels,
  alertsRaised,
  changesTable,
  checksRun,
  checksTable,
  count,
  filteringChanges,
  outcomeOf,
  periodText,
  type AlertRow,
} from './common.js';

export function boardReport(db: Database, input: ReportInput): Report {
  const { from, to, zone } = input;
  const labels = new Labels(input);
  const changes = filteringChanges(db, from, to, false);
  const checks = checksRun(db, from, to);
  const alerts = alertsRaised(db, from, to);
  return {
    kind: 'board',
    title: REPORT_TITLES.board,
    site: input.site,
    from,
    to,
    zone,
    generatedAt: input.now,
    audience: 'For the safeguarding board: counts only; no pupil, device or address is named.',
    sections: [
      {
        id: 'changes',
        title: 'Filtering changes',
        text: [`Every change to what is filtered, ${periodText(from, to, zone)}, from ${changes.source}.`],
        figures: [{ label: 'Changes', value: count(changes.rows.length) }],
        tables: [changesTable(changes.rows, zone)],
      },
      {
        id: 'checks',
        title: 'Checks of filtering',
        figures: [
          { label: 'Checks run', value: count(checks.length) },
          { label: 'Failed', value: count(checks.filter((c) => !c.ok).length) },
        ],
        tables: [checksTable(checks, zone)],
      },
      alertCounts(alerts, input, labels),
      {
        id: 'sign-off',
        title: 'Sign-off',
        text: ['Reviewed by the safeguarding board.'],
        form: [
          { label: 'Reviewed by (name and role)', lines: 1 },
          { label: 'Date', lines: 1 },
          { label: 'Comments and actions agreed', lines: 5 },
          { label: 'Signature', lines: 1 },
        ],
      },
    ],
  };
}

/** Alerts by category and outcome: counts, never an alert. */
export function alertCounts(
  alerts: AlertRow[],
  input: ReportInput,
  labels: Labels,
): { id: string; title: string; figures: { label: string; value: string }[]; charts: Chart[]; tables: Table[] } {
  const outcomes = [...new Set(alerts.map((a) => outcomeOf(a, input.outcomes)))].sort();
  const cats = [...new Set(alerts.map((a) => a.category))].sort((a, b) => labels.category(a).localeCompare(labels.category(b)));
  const cell = (c: string, o: string) => alerts.filter((a) => a.category === c && outcomeOf(a, input.outcomes) === o).length;
  return {
    id: 'alerts',
    title: 'Safeguarding alerts, by category and outcome',
    figures: [
      { label: 'Alerts raised', value: count(alerts.length) },
      { label: 'Lookups they stand for', value: count(alerts.reduce((s, a) => s + a.count, 0)) },
      { label: 'Closed with an outcome', value: count(alerts.filter((a) => a.status === 'closed').length) },
    ],
    charts: [
      {
        id: 'alerts-by-category',
        title: 'Alerts by category and outcome',
        type: 'stacked',
        unit: 'alerts',
        categories: cats.map((c) => labels.category(c)),
        series: outcomes.map((o) => ({ name: o, values: cats.map((c) => cell(c, o)) })),
      },
    ],
    tables: [
      {
        id: 'alerts-by-category',
        title: 'Alerts by category and outcome',
        columns: ['Category', 'Alerts', ...outcomes],
        rows: cats.map((c) => [labels.category(c), alerts.filter((a) => a.category === c).length, ...outcomes.map((o) => cell(c, o))]),
        empty: 'No safeguarding alerts were raised.',
      },
    ],
  };
}
