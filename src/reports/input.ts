// What a report is built from besides the database: the parts of the config
// and of the running service it describes, as plain data (it crosses to the
// report thread), and the default periods. Built on the main thread.
import type { Config } from '../config.js';
import { BUILT_IN_CATEGORIES, CANARY_CATEGORY, HELP_SERVICES_CATEGORY } from '../resolver/categories.js';
import { BUILT_IN_HELP_SERVICES } from '../resolver/help-services.js';
import { localDayOf, localDayStart } from '../store/daily.js';
import { localParts } from '../admin/views/time.js';
import type { ReportKind } from './model.js';
import { OUTCOMES } from '../alerts/outcomes.js';

export interface ListState {
  id: string;
  category: string;
  format: string;
  source: string;
  entries: number;
  serving: string;
  lastSuccess: string | null;
  lastError: string | null;
}

export interface ReportInput {
  kind: ReportKind;
  from: number;
  to: number;
  now: number;
  zone: string;
  site: string;
  categories: { id: string; name: string; illegal: boolean; circumvention: boolean; severity: string }[];
  groups: {
    name: string;
    default: boolean;
    block: string[];
    schedules: { block: string[]; days: string[]; times: string[] }[];
    safeSearch: { google: boolean; bing: boolean; duckduckgo: boolean; youtube: string };
  }[];
  /** Link names, the primary first. */
  links: string[];
  helpLookups: 'off' | 'counts' | 'people';
  /** An alert not closed this many hours after it was raised is overdue. */
  alertOverdueHours: number;
  outcomes: string[];
  /** The lists as the running service holds them; null from the command line (the database's refresh record is used). */
  lists: ListState[] | null;
  helpServices: { domain: string; service: string }[];
  /** Category ids counted per client in the daily rollups. */
  clientCategories: string[];
}

/** Categories whose lookups are safeguarding-relevant: counted per client and person. */
export function safeguardingCategories(config: Pick<Config, 'categories'>): string[] {
  return [
    ...config.categories.filter((c) => c.illegal || c.circumvention || c.severity !== 'none').map((c) => c.id),
    CANARY_CATEGORY,
    HELP_SERVICES_CATEGORY,
  ];
}

/** The period a report covers by default, ending at the start of today (local): 7 days, or `months` months. */
export function defaultPeriod(kind: ReportKind, now: number, zone: string, boardMonths = 2): { from: number; to: number } {
  const today = localDayOf(now, zone);
  const to = localDayStart(today, zone);
  if (kind === 'weekly') return { from: localDayStart(today - 7, zone), to };
  const months = kind === 'board' ? boardMonths : 12;
  const p = localParts(now, zone);
  const back = new Date(Date.UTC(p.year, p.month - 1 - months, p.day));
  return { from: localDayStart(back.getTime() / 86_400_000, zone), to };
}

export function reportInput(
  config: Config,
  kind: ReportKind,
  period: { from: number; to: number },
  now: number,
  lists: ListState[] | null = null,
): ReportInput {
  const r = config.reports;
  const excluded = new Set(config.helpServices.exclude);
  return {
    kind,
    ...period,
    now,
    zone: r.timezone ?? config.admin.timezone,
    site: r.site,
    categories: [
      ...config.categories.map((c) => ({
        id: c.id,
        name: c.name,
        illegal: c.illegal,
        circumvention: c.circumvention,
        severity: c.severity,
      })),
      ...BUILT_IN_CATEGORIES.map((c) => ({
        id: c.id,
        name: c.name,
        illegal: false,
        circumvention: c.id === CANARY_CATEGORY,
        severity: 'none',
      })),
    ],
    groups: config.groups.map((g) => ({
      name: g.name,
      default: g.default,
      block: g.block,
      schedules: g.schedules.map((s) => ({ block: s.block, days: s.days, times: s.times })),
      safeSearch: g.safeSearch,
    })),
    links: config.links.map((l) => l.name),
    helpLookups: r.weekly.helpLookups,
    alertOverdueHours: r.weekly.alertOverdueHours,
    outcomes: [...OUTCOMES],
    lists,
    helpServices: [
      ...BUILT_IN_HELP_SERVICES.filter((s) => !excluded.has(s.domain)),
      ...config.helpServices.extra.map((d) => ({ domain: d, service: 'added by the school (helpServices.extra)' })),
    ],
    clientCategories: safeguardingCategories(config),
  };
}
