// The weekly monitoring report for the DSL and deputies (DfE monitoring
// standard: "weekly monitoring reports"): alerts and what became of them, what
// was blocked against the weeks before, who had the most safeguarding-relevant
// blocks, circumvention, help lookups (if the school asked), checks, changes,
// links and lists. It names pupils (once identity is recorded) but never an
// illegal-category name: those are stored hashed and left out of every list.
import type { Database } from 'better-sqlite3';
import { readPeriod, type PeriodRollup } from '../../store/daily-read.js';
import { localDayOf, localDayStart } from '../../store/daily.js';
import { formatDay } from '../../admin/views/time.js';
import { HELP_SERVICES_CATEGORY } from '../../resolver/categories.js';
import type { Chart, Report, Section, Table } from '../model.js';
import { REPORT_TITLES } from '../model.js';
import type { ReportInput } from '../input.js';
import {
  Labels,
  SEVERITIES,
  alertsOpen,
  alertsRaised,
  changesTable,
  checksRun,
  checksTable,
  count,
  filteringChanges,
  isOverdue,
  linkSwitches,
  linkTable,
  listFailureTable,
  outcomeOf,
  percent,
  time,
  timeOffPrimary,
  whoNames,
  type AlertRow,
} from './common.js';

const PREVIOUS_WEEKS = 4;
const TOP_PEOPLE = 20;
const TOP_CATEGORIES = 6;
const TOP_NAMES = 15;
/** Longer periods (the command line's --from/--to) are charted by week: a bar a day for a year is no chart. */
const MAX_DAILY_BARS = 31;

export function weeklyReport(db: Database, input: ReportInput): Report {
  const { from, to, zone } = input;
  const labels = new Labels(input);
  const opts = { clientCategories: input.clientCategories };
  const week = readPeriod(db, from, to, zone, { ...opts, byDay: true, clients: true, topNames: { by: 'blocked', limit: TOP_NAMES } });
  const firstDay = localDayOf(from, zone);
  const previous = Array.from({ length: PREVIOUS_WEEKS }, (_, i) => {
    const f = localDayStart(firstDay - 7 * (i + 1), zone);
    const t = localDayStart(firstDay - 7 * i, zone);
    return { from: f, to: t, rollup: readPeriod(db, f, t, zone, opts) };
  }).reverse();
  const raised = alertsRaised(db, from, to);
  const open = alertsOpen(db, to);
  const overdue = open.filter((a) => isOverdue(a, input.alertOverdueHours, input.now));
  const checks = checksRun(db, from, to);
  const changes = filteringChanges(db, from, to, true);
  const switches = linkSwitches(db, from, to);
  const primary = input.links[0];
  const offPrimary = timeOffPrimary(db, from, to, primary);
  const lists = listFailureTable(db, from, to, zone);
  const who = whoNames(db);
  const blockedBy = (r: PeriodRollup, test: (cat: string | null) => boolean) =>
    r.traffic.filter((t) => t.action === 'block' && test(t.category)).reduce((s, t) => s + t.queries, 0);
  const circumvention = blockedBy(week, (c) => c !== null && labels.circumvention.has(c));
  const queries = week.days.reduce((s, d) => s + d.queries, 0);
  const blocked = week.days.reduce((s, d) => s + d.blocked, 0);

  const sections: Section[] = [
    {
      id: 'summary',
      title: 'The week in figures',
      figures: [
        { label: 'Lookups', value: count(queries) },
        { label: 'Blocked', value: `${count(blocked)} (${percent(blocked, queries)})` },
        { label: 'Safeguarding alerts raised', value: count(raised.length) },
        { label: 'Alerts still open', value: count(open.length) },
        { label: `Overdue (not closed within ${input.alertOverdueHours} hours)`, value: count(overdue.length) },
        { label: 'Circumvention attempts blocked', value: count(circumvention) },
        { label: 'Filtering checks run / failed', value: `${checks.length} / ${checks.filter((c) => !c.ok).length}` },
        { label: 'Filtering changes', value: count(changes.rows.length) },
        { label: 'Internet link failovers', value: count(switches.filter((s) => s.to !== primary).length) },
        { label: 'Lists that failed to refresh', value: count(lists.rows.length) },
      ],
    },
    alertsSection(raised, open, overdue, input, labels, who),
    blockedSection(week, previous, input, labels),
    peopleSection(week, labels, who),
    circumventionSection(week, labels, who),
    ...(input.helpLookups === 'off' ? [] : [helpSection(week, input, who)]),
    { id: 'checks', title: 'Filtering checks run', tables: [checksTable(checks, zone)] },
    {
      id: 'changes',
      title: 'Filtering changes made',
      text: [`From ${changes.source}.`],
      tables: [changesTable(changes.rows, zone)],
    },
    {
      id: 'links',
      title: 'Internet links',
      figures: [{ label: `Time off the primary link (${primary ?? 'none'})`, value: duration(offPrimary) }],
      tables: [linkTable(switches, zone, primary)],
    },
    { id: 'lists', title: 'Filter lists', tables: [lists] },
    topNamesSection(week),
  ];
  return {
    kind: 'weekly',
    title: REPORT_TITLES.weekly,
    site: input.site,
    from,
    to,
    zone,
    generatedAt: input.now,
    audience: 'For the DSL and deputies. It names pupils and devices: keep it as you keep safeguarding records.',
    sections,
  };
}

export function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  return h < 48 ? `${h} h ${minutes % 60} min` : `${Math.floor(h / 24)} days ${h % 24} h`;
}

function alertsSection(
  raised: AlertRow[],
  open: AlertRow[],
  overdue: AlertRow[],
  input: ReportInput,
  labels: Labels,
  who: ReturnType<typeof whoNames>,
): Section {
  const bySeverity: Table = {
    id: 'alerts-by-severity',
    title: 'Alerts raised, by severity',
    columns: ['Severity', 'Raised', 'Lookups', 'Closed', 'Still open', 'Overdue'],
    rows: SEVERITIES.map((s) => {
      const r = raised.filter((a) => a.severity === s);
      return [
        s,
        r.length,
        r.reduce((n, a) => n + a.count, 0),
        r.filter((a) => a.status === 'closed').length,
        r.filter((a) => a.status !== 'closed').length,
        r.filter((a) => isOverdue(a, input.alertOverdueHours, input.now)).length,
      ];
    }),
  };
  const outcomes = new Map<string, number>();
  for (const a of raised) outcomes.set(outcomeOf(a, input.outcomes), (outcomes.get(outcomeOf(a, input.outcomes)) ?? 0) + 1);
  const byOutcome: Table = {
    id: 'alerts-by-outcome',
    title: 'Alerts raised, by outcome',
    columns: ['Outcome', 'Alerts'],
    rows: [...outcomes].sort((a, b) => b[1] - a[1]),
    empty: 'No safeguarding alerts were raised.',
  };
  const openTable: Table = {
    id: 'alerts-open',
    title: 'Alerts still open (whenever raised)',
    columns: ['#', 'Raised', 'Severity', 'Category', 'Who', 'Group', 'Lookups', 'Status', 'Overdue'],
    rows: open.map((a) => [
      a.id,
      time(a.createdAt, input.zone),
      a.severity,
      labels.category(a.category),
      a.clientName ? `${a.clientName} (${a.client ?? ''})` : who(a.client ?? '', 0, 0),
      a.group ?? '',
      a.count,
      a.status,
      overdue.includes(a) ? 'yes' : '',
    ]),
    empty: 'None: every alert has an outcome.',
  };
  const bars = chartBars(input);
  const perBar = SEVERITIES.map(() => bars.list.map(() => 0));
  for (const a of raised) {
    const i = bars.list.findIndex((b) => a.createdAt >= b.from && a.createdAt < b.to);
    const s = SEVERITIES.indexOf(a.severity as (typeof SEVERITIES)[number]);
    if (i >= 0 && s >= 0) perBar[s][i]++;
  }
  const chart: Chart = {
    id: 'alerts-per-day',
    title: `Alerts raised per ${bars.unit}, by severity`,
    type: 'stacked',
    periods: true,
    unit: 'alerts',
    categories: bars.list.map((b) => b.label),
    series: SEVERITIES.map((s, i) => ({ name: s, values: perBar[i] })),
  };
  return { id: 'alerts', title: 'Safeguarding alerts', charts: [chart], tables: [bySeverity, byOutcome, openTable] };
}

interface Bars {
  unit: 'day' | 'week';
  list: { label: string; from: number; to: number }[];
  /** The bar a local day is in (-1 outside the period). */
  of(day: number): number;
}

/** The bars of a chart over the period: a day each, or a week each (from the period's first day) when that is too many. */
function chartBars(input: Pick<ReportInput, 'from' | 'to' | 'zone'>): Bars {
  const first = localDayOf(input.from, input.zone);
  let end = first;
  while (localDayStart(end, input.zone) < input.to) end++;
  const width = end - first > MAX_DAILY_BARS ? 7 : 1;
  const list: Bars['list'] = [];
  for (let day = first; day < end; day += width) {
    const start = localDayStart(day, input.zone);
    const label = formatDay(start, input.zone);
    list.push({ label: width === 1 ? label : `w/c ${label}`, from: start, to: localDayStart(Math.min(end, day + width), input.zone) });
  }
  return { unit: width === 1 ? 'day' : 'week', list, of: (day) => (day < first || day >= end ? -1 : Math.floor((day - first) / width)) };
}

/** A series' values per bar: the queries of the day rows that pass `test`, added up by the bar their day is in. */
function perBar(bars: Bars, rows: PeriodRollup['byDay'], test: (r: PeriodRollup['byDay'][number]) => boolean): number[] {
  const values = bars.list.map(() => 0);
  for (const r of rows) {
    const i = bars.of(r.day);
    if (i >= 0 && test(r)) values[i] += r.queries;
  }
  return values;
}

function blockedSection(
  week: PeriodRollup,
  previous: { from: number; to: number; rollup: PeriodRollup }[],
  input: ReportInput,
  labels: Labels,
): Section {
  const blocks = (r: PeriodRollup) => r.traffic.filter((t) => t.action === 'block');
  const byCat = (r: PeriodRollup) => {
    const m = new Map<string | null, number>();
    for (const t of blocks(r)) m.set(t.category, (m.get(t.category) ?? 0) + t.queries);
    return m;
  };
  const now = byCat(week);
  const before = previous.map((p) => byCat(p.rollup));
  const cats = [...new Set([...now.keys(), ...before.flatMap((m) => [...m.keys()])])].sort((a, b) => (now.get(b) ?? 0) - (now.get(a) ?? 0));
  const average = (c: string | null) => before.reduce((s, m) => s + (m.get(c) ?? 0), 0) / Math.max(1, before.length);
  const byCategory: Table = {
    id: 'blocked-by-category',
    title: 'Blocked lookups by category',
    columns: ['Category', 'This week', `Average of the ${before.length} weeks before`, 'Change'],
    rows: cats.map((c) => [labels.category(c), now.get(c) ?? 0, Math.round(average(c)), change(now.get(c) ?? 0, average(c))]),
    empty: 'Nothing was blocked.',
  };
  const groups = [...new Set(week.traffic.map((t) => t.group ?? '(none)'))].sort();
  const lastWeek = previous[previous.length - 1]?.rollup;
  const sumWhere = (r: PeriodRollup | undefined, g: string, blockedOnly: boolean) =>
    (r?.traffic ?? [])
      .filter((t) => (t.group ?? '(none)') === g && (!blockedOnly || t.action === 'block'))
      .reduce((s, t) => s + t.queries, 0);
  const byGroup: Table = {
    id: 'blocked-by-group',
    title: 'Lookups and blocks by group',
    columns: ['Group', 'Lookups', 'Blocked', 'Share blocked', 'Blocked the week before', 'Change'],
    rows: groups.map((g) => {
      const q = sumWhere(week, g, false);
      const b = sumWhere(week, g, true);
      const prev = sumWhere(lastWeek, g, true);
      return [g, q, b, percent(b, q), prev, change(b, prev)];
    }),
    empty: 'No lookups were logged.',
  };
  const top = cats.slice(0, TOP_CATEGORIES);
  const bars = chartBars(input);
  const blockedDays = week.byDay.filter((t) => t.action === 'block');
  const perDay: Chart = {
    id: 'blocked-per-day',
    title: `Blocked lookups per ${bars.unit}, by category`,
    type: 'stacked',
    periods: true,
    unit: 'blocked lookups',
    categories: bars.list.map((b) => b.label),
    series: [
      ...top.map((c) => ({ name: labels.category(c), values: perBar(bars, blockedDays, (t) => t.category === c) })),
      ...(cats.length > top.length
        ? [{ name: 'Other categories', values: perBar(bars, blockedDays, (t) => !top.includes(t.category)) }]
        : []),
    ],
  };
  const weeks = [...previous, { from: input.from, to: input.to, rollup: week }];
  const trend: Chart = {
    id: 'blocked-per-week',
    title: 'Blocked lookups per week, against the weeks before',
    type: 'bar',
    periods: true,
    unit: 'blocked lookups',
    categories: weeks.map((w) => `w/c ${formatDay(w.from, input.zone)}`),
    series: [{ name: 'Blocked lookups', values: weeks.map((w) => w.rollup.days.reduce((s, d) => s + d.blocked, 0)) }],
  };
  const share: Chart = {
    id: 'blocked-share',
    title: 'Share of this week’s blocks by category',
    type: 'share',
    unit: 'blocked lookups',
    categories: cats.map((c) => labels.category(c)),
    series: [{ name: 'Blocked lookups', values: cats.map((c) => now.get(c) ?? 0) }],
  };
  return { id: 'blocked', title: 'What was blocked', charts: [perDay, trend, share], tables: [byCategory, byGroup] };
}

function change(now: number, before: number): string {
  if (before === 0) return now === 0 ? '–' : 'new';
  const p = Math.round((100 * (now - before)) / before);
  return `${p > 0 ? '+' : ''}${p}%`;
}

function peopleSection(week: PeriodRollup, labels: Labels, who: ReturnType<typeof whoNames>): Section {
  const people = new Map<string, { who: string; group: Set<string>; total: number; cats: Map<string, number> }>();
  for (const c of week.clients) {
    if (c.action !== 'block' || c.category === HELP_SERVICES_CATEGORY) continue;
    const key = c.personId ? `p${c.personId}` : c.deviceId ? `d${c.deviceId}` : `a${c.address}`;
    const p = people.get(key) ?? { who: who(c.address, c.personId, c.deviceId), group: new Set(), total: 0, cats: new Map() };
    p.total += c.lookups;
    if (c.group) p.group.add(c.group);
    const name = labels.category(c.category);
    p.cats.set(name, (p.cats.get(name) ?? 0) + c.lookups);
    people.set(key, p);
  }
  const top = [...people.values()].sort((a, b) => b.total - a.total || a.who.localeCompare(b.who)).slice(0, TOP_PEOPLE);
  return {
    id: 'people',
    title: 'People and devices with the most safeguarding-relevant blocks',
    text: [
      week.identity
        ? 'Named from the identity record at the time of each lookup.'
        : 'By device address: people and device names appear here once identity is recorded in the query log.',
      `Counted: blocks in ${week.clientCategories
        .filter((c) => c !== HELP_SERVICES_CATEGORY)
        .map((c) => labels.category(c))
        .join(', ')}.`,
    ],
    tables: [
      {
        id: 'top-people',
        title: `The ${TOP_PEOPLE} with the most`,
        columns: ['Who', 'Group', 'Blocked lookups', 'By category'],
        rows: top.map((p) => [
          p.who,
          [...p.group].join(', '),
          p.total,
          [...p.cats]
            .sort((a, b) => b[1] - a[1])
            .map(([c, n]) => `${c} ${n}`)
            .join(', '),
        ]),
        empty: 'No safeguarding-relevant blocks this week.',
      },
    ],
  };
}

function circumventionSection(week: PeriodRollup, labels: Labels, who: ReturnType<typeof whoNames>): Section {
  const byCat = new Map<string, number>();
  for (const t of week.traffic)
    if (t.action === 'block' && t.category !== null && labels.circumvention.has(t.category))
      byCat.set(t.category, (byCat.get(t.category) ?? 0) + t.queries);
  const byWho = new Map<string, number>();
  for (const c of week.clients)
    if (c.action === 'block' && c.category !== null && labels.circumvention.has(c.category)) {
      const w = who(c.address, c.personId, c.deviceId);
      byWho.set(w, (byWho.get(w) ?? 0) + c.lookups);
    }
  return {
    id: 'circumvention',
    title: 'Circumvention attempts (VPNs, proxies, DoH, Private Relay)',
    tables: [
      {
        id: 'circumvention-by-category',
        title: 'Blocked, by category',
        columns: ['Category', 'Blocked lookups'],
        rows: [...byCat].sort((a, b) => b[1] - a[1]).map(([c, n]) => [labels.category(c), n]),
        empty: 'No circumvention attempts were blocked.',
      },
      {
        id: 'circumvention-by-who',
        title: 'Who tried',
        columns: ['Who', 'Blocked lookups'],
        rows: [...byWho].sort((a, b) => b[1] - a[1]).slice(0, TOP_PEOPLE),
        empty: 'Nobody.',
      },
    ],
  };
}

function helpSection(week: PeriodRollup, input: ReportInput, who: ReturnType<typeof whoNames>): Section {
  const help = week.traffic.filter((t) => t.category === HELP_SERVICES_CATEGORY);
  const groups = new Map<string, number>();
  for (const t of help) groups.set(t.group ?? '(none)', (groups.get(t.group ?? '(none)') ?? 0) + t.queries);
  const bars = chartBars(input);
  const tables: Table[] = [
    {
      id: 'help-by-group',
      title: 'Help-and-support lookups by group',
      columns: ['Group', 'Lookups'],
      rows: [...groups].sort((a, b) => b[1] - a[1]),
      empty: 'No help-and-support services were looked up.',
    },
  ];
  if (input.helpLookups === 'people') {
    const byWho = new Map<string, number>();
    for (const c of week.clients)
      if (c.category === HELP_SERVICES_CATEGORY) {
        const w = who(c.address, c.personId, c.deviceId);
        byWho.set(w, (byWho.get(w) ?? 0) + c.lookups);
      }
    tables.push({
      id: 'help-by-who',
      title: 'Who looked them up',
      columns: ['Who', 'Lookups'],
      rows: [...byWho].sort((a, b) => b[1] - a[1]).slice(0, TOP_PEOPLE),
      empty: 'Nobody.',
    });
  }
  return {
    id: 'help',
    title: 'Help-and-support lookups (Childline, Samaritans, …)',
    text: ['Shown because the school asked for it (reports.weekly.helpLookups). Help services are never blocked.'],
    charts: [
      {
        id: 'help-per-day',
        title: `Help-and-support lookups per ${bars.unit}`,
        type: 'bar',
        periods: true,
        unit: 'lookups',
        categories: bars.list.map((b) => b.label),
        series: [{ name: 'Lookups', values: perBar(bars, week.byDay, (t) => t.category === HELP_SERVICES_CATEGORY) }],
      },
    ],
    tables,
  };
}

function topNamesSection(week: PeriodRollup): Section {
  // Ranked by SQL (readPeriod's topNames): the most blocked first, hidden names left out.
  const top = week.names;
  return {
    id: 'top-blocked-names',
    title: 'Most blocked names',
    text: [
      ...(week.withheldNames > 0 ? [`${week.withheldNames} names in illegal-content categories are withheld (never shown).`] : []),
      ...(week.namesBound.blocked > 0
        ? [`Counted from each day's 1,000 most blocked names: a total may be short by up to ${count(week.namesBound.blocked)}.`]
        : []),
    ],
    tables: [
      {
        id: 'top-blocked-names',
        title: 'Most blocked names',
        columns: ['Name', 'Blocked lookups', 'All lookups'],
        rows: top.map((n) => [n.name, n.blocked, n.queries]),
        empty: 'Nothing was blocked.',
      },
    ],
  };
}
