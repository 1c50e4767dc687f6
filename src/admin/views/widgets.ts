// Small pieces the content pages share: "not available" notes, numbers,
// category names, UTC time inputs, and the server-drawn SVG bar chart (no
// chart library, no script: it is plain markup, so the CSP is untouched).
import type { Config } from '../../config.js';
import { html, trusted, type SafeHtml } from '../html.js';

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

/** The display name of a category id ("adult" → "Adult content"), or the id if unknown. */
export function categoryName(config: Config, id: string | null | undefined): string {
  if (!id) return '';
  return config.categories.find((c) => c.id === id)?.name ?? id;
}

export function isIllegalCategory(config: Config, id: string | null | undefined): boolean {
  return !!id && config.categories.some((c) => c.id === id && c.illegal);
}

const DAY = 86_400_000;

/** from/to as YYYY-MM-DD (UTC days, both inclusive, from <input type="date">) to millisecond bounds; bad or absent ones are left out. */
export function dayRange(query: unknown): { from?: number; to?: number; fromText: string; toText: string } {
  const q = (query ?? {}) as Record<string, unknown>;
  const day = (v: unknown) =>
    typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v + 'T00:00:00Z')) ? v : '';
  const fromText = day(q.from);
  const toText = day(q.to);
  return {
    fromText,
    toText,
    ...(fromText ? { from: Date.parse(fromText + 'T00:00:00Z') } : {}),
    ...(toText ? { to: Date.parse(toText + 'T00:00:00Z') + DAY - 1 } : {}),
  };
}

/** `YYYY-MM-DDTHH:MM` (an <input type="datetime-local">, read as UTC) to ms; undefined if absent or bad. */
export function parseUtcInput(text: unknown): number | undefined {
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text)) return undefined;
  const ms = Date.parse(text + 'Z');
  return Number.isNaN(ms) ? undefined : ms;
}

/** ms to the `YYYY-MM-DDTHH:MM` form of a datetime-local input (UTC). */
export function utcInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

export interface ChartPoint {
  at: number;
  queries: number;
  blocked: number;
}

export interface ChartOptions {
  from: number;
  to: number;
  /** Width of one bar in ms (points are summed into bars). */
  bucketMs: number;
  /** Accessible title, e.g. "Queries in the last hour". */
  title: string;
  /** Label for the time axis ends. */
  tick: (ms: number) => string;
}

/**
 * A bar chart of queries (light) with the blocked part (dark) over a period,
 * as inline SVG. Empty buckets show as gaps; the tallest bar sets the scale.
 */
export function barChart(points: readonly ChartPoint[], o: ChartOptions): SafeHtml {
  const n = Math.max(1, Math.ceil((o.to - o.from) / o.bucketMs));
  const q = new Float64Array(n);
  const b = new Float64Array(n);
  for (const p of points) {
    const i = Math.floor((p.at - o.from) / o.bucketMs);
    if (i < 0 || i >= n) continue;
    q[i] += p.queries;
    b[i] += p.blocked;
  }
  let max = 0;
  let total = 0;
  let blocked = 0;
  for (let i = 0; i < n; i++) {
    max = Math.max(max, q[i]);
    total += q[i];
    blocked += b[i];
  }
  const W = 600;
  const H = 160;
  const top = 14;
  const bottom = 18;
  const plot = H - top - bottom;
  const bw = W / n;
  const bars: string[] = [];
  for (let i = 0; i < n; i++) {
    if (q[i] === 0) continue;
    const x = (i * bw).toFixed(2);
    const w = Math.max(bw - 1, 0.5).toFixed(2);
    const hq = (plot * q[i]) / max;
    const hb = (plot * b[i]) / max;
    bars.push(`<rect class="q" x="${x}" y="${(top + plot - hq).toFixed(2)}" width="${w}" height="${hq.toFixed(2)}"></rect>`);
    if (hb > 0) bars.push(`<rect class="b" x="${x}" y="${(top + plot - hb).toFixed(2)}" width="${w}" height="${hb.toFixed(2)}"></rect>`);
  }
  const summary = `${o.title}: ${formatCount(total)} queries, ${formatCount(blocked)} blocked (${formatPercent(blocked, total)}).`;
  // Only numbers and our own labels go into the SVG markup; the text parts are escaped by html``.
  return html`<figure class="chart">
    <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${summary}" preserveAspectRatio="none">
      <title>${summary}</title>
      <line class="axis" x1="0" y1="${top + plot}" x2="${W}" y2="${top + plot}"></line>
      ${trusted(bars.join(''))}
      <text class="lbl" x="2" y="10">${max > 0 ? `max ${formatCount(max)} per bar` : 'no queries'}</text>
      <text class="lbl" x="2" y="${H - 4}">${o.tick(o.from)}</text>
      <text class="lbl end" x="${W - 2}" y="${H - 4}">${o.tick(o.to)}</text>
    </svg>
    <figcaption>${summary}</figcaption>
  </figure>`;
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
