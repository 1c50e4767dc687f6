// The annual review pack (DfE standard 2: review filtering and monitoring at
// least once a year, with evidence): what each group blocks and allows and why,
// the lists and their freshness, the help list, the year's changes, checks,
// alerts and outcomes, trends by month, uptime and failovers, and the status
// lines of the compliance map; then the parts only people can write (the risk
// profile, the review's decisions). Counts only: no pupil, device or address.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { readPeriod } from '../../store/daily-read.js';
import { localDayStart } from '../../store/daily.js';
import { localParts } from '../../admin/views/time.js';
import { hasTables } from '../../store/db.js';
import type { Chart, Report, Section, Table } from '../model.js';
import { REPORT_TITLES } from '../model.js';
import type { ReportInput } from '../input.js';
import { alertCounts } from './board.js';
import { duration } from './weekly.js';
import {
  Labels,
  alertsRaised,
  changesTable,
  checksRun,
  count,
  filteringChanges,
  linkSwitches,
  monthName,
  percent,
  periodText,
  time,
  timeOffPrimary,
} from './common.js';

interface Month {
  label: string;
  from: number;
  to: number;
}

function months(from: number, to: number, zone: string): Month[] {
  const out: Month[] = [];
  let start = from;
  while (start < to) {
    const p = localParts(start, zone);
    const next = Math.min(to, localDayStart(Date.UTC(p.year, p.month, 1) / 86_400_000, zone));
    out.push({ label: monthName(start, zone), from: start, to: next });
    start = next;
  }
  return out;
}

export function annualReport(db: Database, input: ReportInput): Report {
  const { from, to, zone } = input;
  const labels = new Labels(input);
  // Counts only: no clients and no names are read.
  const year = readPeriod(db, from, to, zone, { clientCategories: input.clientCategories, byDay: true });
  const ms = months(from, to, zone);
  const inMonth = (m: Month, at: number) => at >= m.from && at < m.to;
  const changes = filteringChanges(db, from, to, false);
  const checks = checksRun(db, from, to);
  const alerts = alertsRaised(db, from, to);
  const primary = input.links[0];
  const switches = linkSwitches(db, from, to);
  // The month each local day of the period is in, worked out once (a zone's midnight costs an Intl call).
  const monthOfDay = new Map(year.days.map((d) => [d.day, ms.findIndex((m) => inMonth(m, d.from))]));

  const monthly: Table = {
    id: 'monthly-traffic',
    title: 'Lookups and blocks by month',
    columns: ['Month', 'Lookups', 'Blocked', 'Share blocked', 'Safeguarding alerts', 'Checks (failed)', 'Filtering changes'],
    rows: ms.map((m) => {
      const days = year.days.filter((d) => inMonth(m, d.from));
      const q = days.reduce((s, d) => s + d.queries, 0);
      const b = days.reduce((s, d) => s + d.blocked, 0);
      const c = checks.filter((x) => inMonth(m, x.startedAt));
      return [
        m.label,
        q,
        b,
        percent(b, q),
        alerts.filter((a) => inMonth(m, a.createdAt)).length,
        `${c.length} (${c.filter((x) => !x.ok).length})`,
        changes.rows.filter((x) => inMonth(m, x.at)).length,
      ];
    }),
  };
  const blockedTotals = new Map<string | null, number>();
  for (const t of year.traffic) if (t.action === 'block') blockedTotals.set(t.category, (blockedTotals.get(t.category) ?? 0) + t.queries);
  const topCats = [...blockedTotals.keys()].sort((a, b) => blockedTotals.get(b)! - blockedTotals.get(a)!).slice(0, 6);
  const perMonth = topCats.map(() => ms.map(() => 0));
  for (const t of year.byDay) {
    const c = t.action === 'block' ? topCats.indexOf(t.category) : -1;
    const m = monthOfDay.get(t.day) ?? -1;
    if (c >= 0 && m >= 0) perMonth[c][m] += t.queries;
  }
  const trend: Chart = {
    id: 'blocked-per-month',
    title: 'Blocked lookups per month, by category',
    type: 'stacked',
    periods: true,
    unit: 'blocked lookups',
    categories: ms.map((m) => m.label),
    series: topCats.map((c, i) => ({ name: labels.category(c), values: perMonth[i] })),
  };
  const lookups: Chart = {
    id: 'lookups-per-month',
    title: 'Lookups per month',
    type: 'line',
    periods: true,
    unit: 'lookups',
    categories: ms.map((m) => m.label),
    series: [
      { name: 'Lookups', values: ms.map((m) => year.days.filter((d) => inMonth(m, d.from)).reduce((s, d) => s + d.queries, 0)) },
      { name: 'Blocked', values: ms.map((m) => year.days.filter((d) => inMonth(m, d.from)).reduce((s, d) => s + d.blocked, 0)) },
    ],
  };
  const uptime: Table = {
    id: 'uptime',
    title: 'Service and links by month',
    columns: ['Month', 'Minutes with lookups answered', 'Time off the primary link', 'Failovers', 'List refresh failures'],
    rows: ms.map((m) => {
      const days = year.days.filter((d) => inMonth(m, d.from));
      const active = days.reduce((s, d) => s + d.activeMinutes, 0);
      const minutes = Math.round((m.to - m.from) / 60_000);
      return [
        m.label,
        `${percent(active, minutes)} (${count(active)} of ${count(minutes)})`,
        duration(timeOffPrimary(db, m.from, m.to, primary)),
        switches.filter((s) => inMonth(m, s.at) && s.to !== primary).length,
        days.reduce((s, d) => s + d.listFailures, 0),
      ];
    }),
  };
  const sections: Section[] = [
    policySection(db, input, labels),
    listsSection(db, input, labels),
    {
      id: 'help',
      title: 'Help and support services (never blocked but by the illegal lists)',
      tables: [
        {
          id: 'help-services',
          title: 'Help and support services',
          columns: ['Domain', 'Service'],
          rows: input.helpServices.map((s) => [s.domain, s.service]),
        },
      ],
    },
    {
      id: 'changes',
      title: 'The year’s filtering changes',
      text: [`From ${changes.source}.`],
      figures: [{ label: 'Filtering changes', value: count(changes.rows.length) }],
      tables: [changesTable(changes.rows, zone)],
    },
    {
      id: 'checks',
      title: 'Checks and their results',
      figures: [
        { label: 'Checks run', value: count(checks.length) },
        { label: 'Passed', value: count(checks.filter((c) => c.ok).length) },
        { label: 'Failed', value: count(checks.filter((c) => !c.ok).length) },
      ],
      charts: [
        {
          id: 'checks-per-month',
          title: 'Checks per month',
          type: 'stacked',
          periods: true,
          unit: 'checks',
          categories: ms.map((m) => m.label),
          series: [
            { name: 'Passed', values: ms.map((m) => checks.filter((c) => c.ok && inMonth(m, c.startedAt)).length) },
            { name: 'Failed', values: ms.map((m) => checks.filter((c) => !c.ok && inMonth(m, c.startedAt)).length) },
          ],
        },
      ],
      tables: [
        {
          id: 'failed-checks',
          title: 'Failed checks',
          columns: ['#', 'When', 'Run by', 'Summary', 'Actions recorded'],
          rows: checks.filter((c) => !c.ok).map((c) => [c.id, time(c.startedAt, zone), `${c.runBy} (${c.trigger})`, c.summary, c.actions]),
          empty: 'No check failed.',
        },
      ],
    },
    alertCounts(alerts, input, labels),
    { id: 'trends', title: 'Trends by month', charts: [lookups, trend], tables: [monthly] },
    {
      id: 'uptime',
      title: 'Uptime and failovers',
      text: [
        'Minutes with lookups answered counts the minutes in which the service logged at least one lookup: a quiet minute (a night, a holiday) is not downtime.',
      ],
      figures: [
        { label: `Time off the primary link (${primary ?? 'none'})`, value: duration(timeOffPrimary(db, from, to, primary)) },
        { label: 'Failovers', value: count(switches.filter((s) => s.to !== primary).length) },
      ],
      tables: [uptime],
    },
    complianceSection(),
    {
      id: 'review',
      title: 'For the review to complete',
      text: [
        'The review is made by the senior leadership team, the DSL, the IT service provider and the responsible governor. Record here what the system cannot know.',
      ],
      form: [
        { label: 'Risk profile: the school’s pupils, their ages and needs, how they use technology, local risks', lines: 6 },
        { label: 'What changed this year (new technology, new risks, incidents) and what it means for filtering', lines: 5 },
        { label: 'Checks made from devices around the site (who, where, what, results)', lines: 4 },
        { label: 'Decisions of the review (what to block or allow differently, monitoring, training)', lines: 6 },
        { label: 'Actions, owners and dates', lines: 5 },
        { label: 'Review attended by (names and roles)', lines: 3 },
        { label: 'Signed (responsible governor / senior leader) and date', lines: 2 },
      ],
    },
  ];
  return {
    kind: 'annual',
    title: REPORT_TITLES.annual,
    site: input.site,
    from,
    to,
    zone,
    generatedAt: input.now,
    audience: `For the annual review, ${periodText(from, to, zone)}: counts only; no pupil, device or address is named.`,
    sections,
  };
}

function policySection(db: Database, input: ReportInput, labels: Labels): Section {
  const days = (d: string[]) => d.join(' ');
  const groups: Table = {
    id: 'groups',
    title: 'What each group blocks',
    columns: ['Group', 'Always blocked', 'Blocked on a timetable', 'Safe search', 'Catches unknown devices'],
    rows: input.groups.map((g) => [
      g.name,
      g.block.map((c) => labels.category(c)).join(', ') || 'illegal content only',
      g.schedules.map((s) => `${s.block.map((c) => labels.category(c)).join(', ')} (${days(s.days)} ${s.times.join(', ')})`).join('; '),
      [
        g.safeSearch.google && 'Google',
        g.safeSearch.bing && 'Bing',
        g.safeSearch.duckduckgo && 'DuckDuckGo',
        g.safeSearch.youtube !== 'off' && `YouTube ${g.safeSearch.youtube}`,
      ]
        .filter(Boolean)
        .join(', ') || 'off',
      g.default ? 'yes (guests)' : '',
    ]),
  };
  const categories: Table = {
    id: 'categories',
    title: 'Categories and why',
    columns: ['Category', 'Alert severity', 'Kind'],
    rows: input.categories.map((c) => [
      c.name,
      c.severity,
      c.illegal ? 'illegal: blocked for everyone, never excepted' : c.circumvention ? 'circumvention (VPN, proxy, DoH)' : 'school choice',
    ]),
  };
  // Exceptions: the governed policy's once change control lands; today the exceptions table. No requester: it may be a pupil.
  const exceptions: Table = {
    id: 'exceptions',
    title: 'Exceptions in force (allowed or blocked for a group)',
    columns: ['Domain', 'Allow or block', 'Groups', 'Subject area', 'Reason', 'Approver', 'Since'],
    rows: hasTables(db, 'exceptions')
      ? (
          db
            .prepare('SELECT domain, action, groups_json, subject_area, reason, approver, created_at FROM exceptions ORDER BY domain')
            .all() as Record<string, string | number>[]
        ).map((e) => [
          e.domain as string,
          e.action as string,
          (JSON.parse(e.groups_json as string) as string[]).join(', '),
          (e.subject_area as string) ?? '',
          (e.reason as string) ?? '',
          (e.approver as string) ?? '',
          time(e.created_at as number, input.zone),
        ])
      : [],
    empty: 'No exceptions.',
  };
  return { id: 'policy', title: 'What each group blocks and allows, and why', tables: [groups, categories, exceptions] };
}

function listsSection(db: Database, input: ReportInput, labels: Labels): Section {
  const rows = input.lists
    ? input.lists.map((l) => [
        l.id,
        labels.category(l.category),
        l.format,
        l.entries,
        l.serving,
        l.lastSuccess ? time(Date.parse(l.lastSuccess), input.zone) : 'never',
        l.lastError ?? '',
      ])
    : (
        db
          .prepare(
            `SELECT list_id, max(CASE WHEN ok = 1 THEN at END) AS ok_at, max(CASE WHEN ok = 1 THEN entries END) AS entries,
               (SELECT error FROM list_refresh e WHERE e.list_id = r.list_id ORDER BY at DESC LIMIT 1) AS last_error
             FROM list_refresh r GROUP BY list_id ORDER BY list_id`,
          )
          .all() as Record<string, string | number | null>[]
      ).map((r) => [
        r.list_id as string,
        '',
        '',
        (r.entries as number | null) ?? '',
        '',
        r.ok_at === null ? 'never' : time(r.ok_at as number, input.zone),
        (r.last_error as string | null) ?? '',
      ]);
  return {
    id: 'lists',
    title: 'Filter lists and their freshness',
    text: input.lists ? [] : ['From the record of list refreshes (the running service gives more detail).'],
    tables: [
      {
        id: 'lists',
        title: 'Filter lists',
        columns: ['List', 'Category', 'Format', 'Entries', 'Serving', 'Last good refresh', 'Last error'],
        rows,
        empty: 'No lists are configured.',
      },
    ],
  };
}

/** The compliance map's status lines (docs/compliance.md): the duty and its status, section by section. */
export function complianceSection(file = fileURLToPath(new URL('../../../docs/compliance.md', import.meta.url))): Section {
  if (!existsSync(file))
    return { id: 'compliance', title: 'Compliance map', text: ['The compliance map (docs/compliance.md) is not installed.'] };
  const rows: [string, string, string][] = [];
  let heading = '';
  let statusColumn = -1;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('#')) {
      heading = line.replace(/^#+\s*/, '');
      statusColumn = -1;
      continue;
    }
    if (!line.startsWith('|')) continue;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.every((c) => /^-+$/.test(c))) continue;
    if (statusColumn < 0) {
      statusColumn = cells.findIndex((c) => c.toLowerCase() === 'status');
      continue;
    }
    const plain = (s: string) => s.replace(/\*\*|`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    rows.push([heading, plain(cells[0]).slice(0, 200), plain(cells[statusColumn] ?? '')]);
  }
  return {
    id: 'compliance',
    title: 'Compliance map: status in this version of Gatehouse',
    text: ['From docs/compliance.md: built (in the software and tested), partly, planned, school (people and process), not covered.'],
    tables: [{ id: 'compliance', title: 'Compliance map', columns: ['Section', 'Duty', 'Status'], rows: rows.filter((r) => r[2] !== '') }],
  };
}
