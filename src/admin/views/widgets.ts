// Small pieces the content pages share: "not available" notes, numbers,
// category names, count tables and the refused-config banner (the chart is in chart.ts).
import type { Config } from '../../config.js';
import { BUILT_IN_CATEGORIES } from '../../resolver/categories.js';
import { html, type SafeHtml } from '../html.js';
import type { ConfigRejection } from '../live.js';
import { formatTime, parseLocalInput } from './time.js';

/** A clear note where a part of the running service is not wired in (tests, a partial start). */
export function unavailable(what: string): SafeHtml {
  return html`<p class="unavailable">${what} is not available: this part of the service is not running or not connected to the admin UI.</p>`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-GB');
}

export function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  const p = (100 * part) / whole;
  return `${p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

/** The display name of a category id ("adult" → "Adult content"; the built-in ones too), or the id if unknown. */
export function categoryName(config: Config, id: string | null | undefined): string {
  if (!id) return '';
  return config.categories.find((c) => c.id === id)?.name ?? BUILT_IN_CATEGORIES.find((c) => c.id === id)?.name ?? id;
}

export function isIllegalCategory(config: Config, id: string | null | undefined): boolean {
  return !!id && config.categories.some((c) => c.id === id && c.illegal);
}

const DAY = 86_400_000;

/** from/to as YYYY-MM-DD (days in the school's zone, both inclusive, from <input type="date">) to millisecond bounds; bad or absent ones are left out. */
export function dayRange(query: unknown, zone: string): { from?: number; to?: number; fromText: string; toText: string } {
  const q = (query ?? {}) as Record<string, unknown>;
  const day = (v: unknown) => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && parseLocalInput(v, zone) !== undefined ? v : '');
  const fromText = day(q.from);
  const toText = day(q.to);
  return {
    fromText,
    toText,
    ...(fromText ? { from: parseLocalInput(fromText, zone)! } : {}),
    // The day after `to`, at local midnight: a day is 23 or 25 hours when the clocks change.
    ...(toText ? { to: parseLocalInput(addDays(toText, 1), zone)! - 1 } : {}),
  };
}

/** A YYYY-MM-DD day text moved by whole days. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(day + 'T00:00:00Z') + days * DAY).toISOString().slice(0, 10);
}
/** A table of label / figure rows (a source's counters), numbers formatted. */
export function figuresTable(id: string, rows: [string, number | string][]): SafeHtml {
  return html`<table class="counts" id="${id}"><tbody>${rows.map(
    ([k, v]) => html`<tr><td>${k}</td><td class="num">${typeof v === 'number' ? formatCount(v) : v}</td></tr>`,
  )}</tbody></table>`;
}

/** A compact table of label / count rows with a proportional bar (CSS width via a class step). */
export function countTable(
  id: string,
  heading: [string, string],
  rows: { label: SafeHtml | string; count: number; sub?: string }[],
  empty: string,
): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  const max = Math.max(...rows.map((r) => r.count), 1);
  return html`<table class="counts" id="${id}"><thead><tr><th>${heading[0]}</th><th class="num">${heading[1]}</th></tr></thead>
    <tbody>${rows.map(
      (r) => html`<tr><td>${r.label}${r.sub ? html` <span class="muted">${r.sub}</span>` : ''}
        <span class="meter"><span class="fill w${Math.max(1, Math.round((10 * r.count) / max))}"></span></span></td>
        <td class="num">${formatCount(r.count)}</td></tr>`,
    )}</tbody></table>`;
}

/** The banner for a config file the service refused on a reload: when, and each key, line and problem. */
export function configRejectedNotice(rejection: ConfigRejection | undefined, zone: string): SafeHtml {
  if (!rejection) return html``;
  return html`<div class="error" role="alert" id="config-rejected">
    <p><strong>The changed config file was refused</strong> at ${formatTime(rejection.at, zone)}: the service goes on with the
      configuration it had before. Fix <code>${rejection.file}</code> and reload again (<code>systemctl reload gatehouse</code>).</p>
    <ul>${rejection.problems.map((p) => html`<li><code>${p.path || '(top level)'}</code>${p.line ? ` (line ${p.line})` : ''}: ${p.message}</li>`)}</ul>
  </div>`;
}
