// The dashboard's bar chart of queries and blocks over a period, drawn on the
// server as SVG: no chart library and no script (the CSP allows none inline),
// and every figure is in the markup as text. It has a y axis with round
// ticks and gridlines, a time axis with ticks at round local times (every
// 10 minutes, 3 hours or day) labelled with the time and, where the date
// changes, the date, in the school's zone; and a legend.
import { html, trusted, type SafeHtml } from '../html.js';
import { formatClock, formatDay, localParts, wallToInstant, zoneOffsetMs } from './time.js';
import { formatCount, formatPercent } from './widgets.js';

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
  /** What one bar is, for the y axis: "per minute", "per 15 minutes". */
  perBar: string;
  /** Time between ticks on the time axis, in local wall-clock ms (a day: ticks at local midnight, labelled with the date only). */
  tickMs: number;
  /** Accessible title, e.g. "Queries, last hour". */
  title: string;
  /** The school's zone: tick labels are local times. */
  zone: string;
}

const W = 720;
const H = 230;
const LEFT = 52;
const RIGHT = 22;
const TOP = 30;
const BOTTOM = 40;
const PLOT_W = W - LEFT - RIGHT;
const PLOT_H = H - TOP - BOTTOM;
const DAY = 86_400_000;

/** A round step (1, 2 or 5 × 10^k) that splits `max` into about four parts. */
export function niceStep(max: number): number {
  if (max <= 4) return 1;
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/** Instants in [from, to] at round local wall-clock times: multiples of `stepMs` since the local epoch. */
export function localTicks(from: number, to: number, stepMs: number, zone: string): number[] {
  const ticks: number[] = [];
  let wall = Math.ceil((from + zoneOffsetMs(from, zone)) / stepMs) * stepMs;
  for (let guard = 0; guard < 500; guard++, wall += stepMs) {
    const at = wallToInstant(wall, zone);
    if (at > to) break;
    if (at >= from && at !== ticks[ticks.length - 1]) ticks.push(at);
  }
  return ticks;
}

const num = (n: number) => n.toFixed(1);

/**
 * Queries (light) with the blocked part (dark) per bar over a period. Empty
 * buckets show as gaps; the y axis runs from 0 to a round number above the
 * tallest bar.
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
  const step = niceStep(max);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const y = (v: number) => TOP + PLOT_H - (PLOT_H * v) / top;
  const x = (ms: number) => LEFT + (PLOT_W * (ms - o.from)) / (o.to - o.from);
  const bw = PLOT_W / n;
  // Only numbers and our own labels go into the markup; text from anywhere else would go through html``.
  const parts: string[] = [];
  for (let v = 0; v <= top; v += step) {
    parts.push(`<line class="grid" x1="${LEFT}" y1="${num(y(v))}" x2="${W - RIGHT}" y2="${num(y(v))}"></line>`);
    parts.push(`<text class="lbl ytick" x="${LEFT - 6}" y="${num(y(v) + 3.5)}">${formatCount(v)}</text>`);
  }
  for (let i = 0; i < n; i++) {
    if (q[i] === 0) continue;
    const bx = num(LEFT + i * bw);
    const w = num(Math.max(bw - 1, 0.5));
    parts.push(`<rect class="q" x="${bx}" y="${num(y(q[i]))}" width="${w}" height="${num(y(0) - y(q[i]))}"></rect>`);
    if (b[i] > 0) parts.push(`<rect class="b" x="${bx}" y="${num(y(b[i]))}" width="${w}" height="${num(y(0) - y(b[i]))}"></rect>`);
  }
  const days = o.tickMs >= DAY;
  let lastDate = '';
  for (const t of localTicks(o.from, o.to, o.tickMs, o.zone)) {
    const tx = num(x(t));
    const p = localParts(t, o.zone);
    const date = `${p.year}-${p.month}-${p.day}`;
    parts.push(`<line class="tick" x1="${tx}" y1="${TOP + PLOT_H}" x2="${tx}" y2="${TOP + PLOT_H + 4}"></line>`);
    if (days) {
      parts.push(`<text class="lbl xtick" x="${tx}" y="${TOP + PLOT_H + 16}">${formatDay(t, o.zone)}</text>`);
    } else {
      parts.push(`<text class="lbl xtick" x="${tx}" y="${TOP + PLOT_H + 16}">${formatClock(t, o.zone)}</text>`);
      // The date under the first tick and wherever it changes (midnight).
      if (date !== lastDate) parts.push(`<text class="lbl xdate" x="${tx}" y="${TOP + PLOT_H + 30}">${formatDay(t, o.zone)}</text>`);
    }
    lastDate = date;
  }
  const summary = `${o.title}: ${formatCount(total)} queries, ${formatCount(blocked)} blocked (${formatPercent(blocked, total)}).`;
  return html`<figure class="chart">
    <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${summary}">
      <title>${summary}</title>
      ${trusted(parts.join(''))}
      <line class="axis" x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${TOP + PLOT_H}"></line>
      <line class="axis" x1="${LEFT}" y1="${TOP + PLOT_H}" x2="${W - RIGHT}" y2="${TOP + PLOT_H}"></line>
      <text class="lbl axis-title" x="${LEFT}" y="14">Queries ${o.perBar}</text>
      <g class="legend">
        <rect class="q" x="${W - RIGHT - 170}" y="6" width="12" height="12"></rect><text class="lbl" x="${W - RIGHT - 153}" y="16">Queries</text>
        <rect class="b" x="${W - RIGHT - 85}" y="6" width="12" height="12"></rect><text class="lbl" x="${W - RIGHT - 68}" y="16">Blocked</text>
      </g>
      ${max === 0 ? html`<text class="lbl empty" x="${LEFT + PLOT_W / 2}" y="${TOP + PLOT_H / 2}">no queries</text>` : ''}
    </svg>
    <figcaption>${summary}</figcaption>
  </figure>`;
}
