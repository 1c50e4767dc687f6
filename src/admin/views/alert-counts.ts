// What an auditor (a governor) sees on the Alerts page: how many alerts there
// were in a chosen period, by category, severity and outcome. Never an alert
// itself: no pupil, address, group or domain, and no outcome note.
import type { FastifyRequest } from 'fastify';
import { alertSummary, type AlertSummary } from '../../alerts/summary.js';
import type { AlertKind } from '../../alerts/types.js';
import type { AdminContext } from '../context.js';
import { html } from '../html.js';
import { addDays, categoryName, dayRange, formatCount } from './widgets.js';
import { localInput, parseLocalInput } from './time.js';

/** With no period chosen: the last 30 days, today included. */
const DEFAULT_DAYS = 30;

/** The period from the query (YYYY-MM-DD, days in the school's zone, both inclusive) as [from, to) in ms, with the texts for the form. */
export function readPeriod(query: unknown, now: number, zone: string): { from: number; to: number; fromText: string; toText: string } {
  const r = dayRange(query, zone);
  const localDay = (ms: number) => localInput(ms, zone).slice(0, 10);
  const to = r.to !== undefined ? r.to + 1 : parseLocalInput(addDays(localDay(now), 1), zone)!;
  const from = r.from ?? parseLocalInput(addDays(localDay(to - 1), 1 - DEFAULT_DAYS), zone)!;
  return { from, to, fromText: localDay(from), toText: localDay(to - 1) };
}

export function summaryFor(ctx: AdminContext, kind: AlertKind, query: unknown, outcomes: readonly string[]): AlertSummary {
  const { from, to } = readPeriod(query, ctx.now(), ctx.config.admin.timezone);
  return alertSummary(ctx.db, { kind, from, to, outcomes });
}

export function alertCountsBody(ctx: AdminContext, request: FastifyRequest, kind: AlertKind, outcomes: readonly string[]) {
  const period = readPeriod(request.query, ctx.now(), ctx.config.admin.timezone);
  const s = summaryFor(ctx, kind, request.query, outcomes);
  const name = (id: string) => (kind === 'safeguarding' ? categoryName(ctx.config, id) : id);
  const table = <R>(id: string, caption: string, head: string, rows: R[], cells: (r: R) => unknown) =>
    rows.length === 0
      ? html``
      : html`<table class="responsive counts" id="${id}"><caption>${caption}</caption>
        <thead><tr><th>${head}</th><th>Alerts</th>${kind === 'safeguarding' && id !== 'counts-outcome' ? html`<th>Lookups</th>` : ''}</tr></thead>
        <tbody>${rows.map((r) => html`<tr>${cells(r)}</tr>`)}</tbody></table>`;
  const counts = (r: { alerts: number; lookups: number }) =>
    html`<td data-label="Alerts">${formatCount(r.alerts)}</td>${kind === 'safeguarding' ? html`<td data-label="Lookups">${formatCount(r.lookups)}</td>` : ''}`;
  return html`<p class="muted" id="counts-note">Your role sees how many alerts there were, not the alerts themselves: no pupil,
      address or domain. The Designated Safeguarding Lead handles each alert.</p>
    <form method="get" action="/alerts" class="filters" id="alert-period">
      <input type="hidden" name="kind" value="${kind}">
      <label>From <input type="date" name="from" value="${period.fromText}"></label>
      <label>To <input type="date" name="to" value="${period.toText}"></label>
      <button type="submit">Show</button>
    </form>
    <p id="counts-total"><strong>${formatCount(s.total.alerts)}</strong> ${kind} alerts raised from ${period.fromText} to ${period.toText}${kind === 'safeguarding' ? `, standing for ${formatCount(s.total.lookups)} blocked lookups` : ''}.</p>
    <div class="cols">
      ${table('counts-category', 'By category', kind === 'safeguarding' ? 'Category' : 'Kind', s.byCategory, (r) => html`<td data-label="Category">${name(r.category)}</td>${counts(r)}`)}
      ${table('counts-severity', 'By severity', 'Severity', s.bySeverity, (r) => html`<td data-label="Severity"><span class="sev ${r.severity}">${r.severity}</span></td>${counts(r)}`)}
      ${table('counts-outcome', 'By outcome', 'Outcome', s.byOutcome, (r) => html`<td data-label="Outcome">${r.outcome}</td><td data-label="Alerts">${formatCount(r.alerts)}</td>`)}
    </div>`;
}
