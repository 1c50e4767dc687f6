// Person pages, for the DSL and IT: one pupil's activity over a chosen period
// across all their devices and addresses (blocked lookups by category, the
// devices and addresses, alerts and their outcomes, review requests, the
// latest blocked lookups), the lookups around an alert (the alert page links
// here), and a CSV of their lookups. Counts come from the rw_D rollups
// (store/person-activity.ts); rows from the query-log search with the person
// filter. Names in an illegal category are withheld as everywhere else, and
// auditors never reach these pages (they get alert counts only).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { alertsOfPerson } from '../../alerts/store.js';
import type { Alert } from '../../alerts/types.js';
import { findPeople } from '../../identity/find.js';
import { requestsOf } from '../../identity/review-requests.js';
import { getPerson } from '../../identity/person.js';
import type { Person } from '../../identity/types.js';
import { csvHeader, csvRow } from '../../store/csv.js';
import type { LogRow } from '../../store/search.js';
import { deviceLabel, personLabel } from '../../store/who.js';
import { typeName } from '../../resolver/wire-names.js';
import { requireRole } from '../auth.js';
import type { AdminContext, AdminRoutePlugin } from '../context.js';
import { requestReference } from '../exceptions.js';
import { html, type SafeHtml } from '../html.js';
import { pageAssets } from '../views/assets.js';
import { readPeriod } from '../views/alert-counts.js';
import { messages, renderPage } from '../views/layout.js';
import { formatTime, localInput } from '../views/time.js';
import { categoryName, countTable, formatCount, isIllegalCategory } from '../views/widgets.js';
import { resultText, RowExplainer } from '../views/why.js';
import { listExceptions } from '../exceptions.js';
import { visibleRow } from './querylog.js';

const requirePeople = requireRole('admin', 'dsl');
/** Minutes of lookups shown either side of an alert on its timeline. */
const AROUND_MINUTES = 30;
const TIMELINE_MAX = 2000;
const CSV_MAX_ROWS = 200_000;

const personById = (ctx: AdminContext, id: number) => getPerson(ctx.db, id);

function idParam(request: FastifyRequest): number | undefined {
  const raw = (request.params as { id?: string }).id ?? '';
  return /^\d{1,15}$/.test(raw) ? Number(raw) : undefined;
}

function notFound(request: FastifyRequest, reply: FastifyReply) {
  return reply
    .code(404)
    .type('text/html')
    .send(renderPage(request, { title: 'Person', body: html`<p>No such person.</p><p><a href="/people">Find a person</a></p>` }));
}

export const peopleRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const zone = () => ctx.config.admin.timezone;

  const personFacts = (p: Person): SafeHtml => html`<dl class="facts card" id="person-facts">
      <dt>User name</dt><dd id="person-user">${p.userKey}</dd>
      ${p.displayName ? html`<dt>Name</dt><dd id="person-name">${p.displayName}</dd>` : ''}
      ${p.email ? html`<dt>Email</dt><dd>${p.email}</dd>` : ''}
      ${p.role || p.yearGroup || p.orgUnit ? html`<dt>Roster</dt><dd>${[p.role, p.yearGroup, p.orgUnit].filter(Boolean).join(' · ')}</dd>` : ''}
      <dt>Source</dt><dd>${p.inRoster ? `on the roster (${p.rosterSource ?? ''})` : 'not on the roster now (known from Wi-Fi sign-ins)'}</dd>
    </dl>`;

  const periodForm = (
    action: string,
    fromText: string,
    toText: string,
  ) => html`<form method="get" action="${action}" class="filters" id="person-period">
      <label>From <input type="date" name="from" value="${fromText}"></label>
      <label>To <input type="date" name="to" value="${toText}"></label>
      <button type="submit">Show</button>
    </form>`;

  const rowsTable = (request: FastifyRequest, rows: LogRow[], id: string, mark?: (r: LogRow) => boolean): SafeHtml => {
    const explain = new RowExplainer(ctx.config, listExceptions(ctx.db));
    return html`<table class="responsive" id="${id}"><thead><tr><th>Time</th><th>Client</th><th>Device</th><th>Name</th><th>Type</th><th>Decision</th><th>Why</th><th>Category</th><th>Result</th></tr></thead>
      <tbody>${rows.map(
        (r) => html`<tr${mark?.(r) ? html` class="alert-lookup"` : ''}>
          <td data-label="Time">${formatTime(r.ts, zone())}</td>
          <td data-label="Client">${r.client}</td>
          <td data-label="Device">${deviceLabel(r)}</td>
          <td data-label="Name" class="name"><code>${r.name}</code></td>
          <td data-label="Type">${typeName(r.qtype)}</td>
          <td data-label="Decision"><span class="badge ${r.action}">${r.action}</span></td>
          <td data-label="Why" class="why">${explain.why(r)}</td>
          <td data-label="Category">${categoryName(ctx.config, r.category)}</td>
          <td data-label="Result">${resultText(r)}</td>
        </tr>`,
      )}</tbody></table>`;
  };

  const alertsTable = (alerts: Alert[], personId: number): SafeHtml =>
    alerts.length === 0
      ? html`<p class="muted" id="person-alerts-empty">No alerts in this period.</p>`
      : html`<table class="responsive" id="person-alerts"><thead><tr><th>#</th><th>Raised</th><th>Severity</th><th>Category</th><th>Lookups</th><th>Status</th><th>Outcome</th><th></th></tr></thead>
        <tbody>${alerts.map(
          (a) => html`<tr>
            <td data-label="#"><a href="/alerts/${a.id}">${a.id}</a></td>
            <td data-label="Raised">${formatTime(a.createdAt, zone())}</td>
            <td data-label="Severity"><span class="sev ${a.severity}">${a.severity}</span></td>
            <td data-label="Category">${categoryName(ctx.config, a.category)}${a.illegal ? html` <span class="muted">(illegal content: no detail kept)</span>` : ''}</td>
            <td data-label="Lookups">${a.count}</td>
            <td data-label="Status"><span class="state ${a.status}">${a.status}</span></td>
            <td data-label="Outcome">${a.outcome ?? ''}</td>
            <td><a href="/people/${personId}/timeline?alert=${a.id}">Timeline</a></td>
          </tr>`,
        )}</tbody></table>`;

  // ---- Find a person
  app.get('/people', { preHandler: requirePeople }, async (request, reply) => {
    const q = (request.query ?? {}) as Record<string, unknown>;
    const text = typeof q.q === 'string' ? q.q.trim().slice(0, 200) : '';
    const found = text ? findPeople(ctx.db, text).slice(0, 100) : [];
    const people = found.map((id) => personById(ctx, id)).filter((p): p is Person => p !== undefined);
    const body = html`<form method="get" action="/people" class="filters" id="people-search">
        <label>Person <input name="q" value="${text}" placeholder="user name, email or name" maxlength="200" autofocus></label>
        <button type="submit">Find</button>
      </form>
      ${
        text === ''
          ? html`<p class="muted">Find a pupil or member of staff by user name, email or name, to see their activity over a period.</p>`
          : people.length === 0
            ? html`<p class="muted" id="people-empty">Nobody matches.</p>`
            : html`<table class="responsive" id="people"><thead><tr><th>Person</th><th>Roster</th></tr></thead><tbody>${people.map(
                (p) =>
                  html`<tr><td data-label="Person"><a href="/people/${p.id}">${personLabel({ user: p.userKey, personName: p.displayName ?? null, erased: false })}</a></td>
                  <td data-label="Roster">${[p.role, p.yearGroup, p.orgUnit].filter(Boolean).join(' · ') || (p.inRoster ? '' : 'not on the roster')}</td></tr>`,
              )}</tbody></table>`
      }`;
    return reply.type('text/html').send(renderPage(request, { title: 'People', body }));
  });

  // ---- One person over a period
  app.get('/people/:id', { preHandler: requirePeople }, async (request, reply) => {
    const id = idParam(request);
    const person = id === undefined ? undefined : personById(ctx, id);
    if (!person) return notFound(request, reply);
    const period = readPeriod(request.query, ctx.now(), zone());
    const { from, to } = period;
    const [activity, blocked] = await Promise.all([
      ctx.reports.personActivity({ personId: person.id, from, to }),
      ctx.reports.search({ from, to, personId: person.id, action: 'block', limit: 50 }),
    ]);
    const alerts = alertsOfPerson(ctx.db, person.id, from, to);
    const requests = requestsOf(ctx.db, person.id, from, to);
    const range = new URLSearchParams({ from: period.fromText, to: period.toText }).toString();
    const logQuery = new URLSearchParams({ person: String(person.id), from: localInput(from, zone()), to: localInput(to, zone()) });
    const title = personLabel({ user: person.userKey, personName: person.displayName ?? null, erased: false });
    const body = html`${pageAssets()}${personFacts(person)}
      ${periodForm(`/people/${person.id}`, period.fromText, period.toText)}
      <p id="person-totals"><strong>${formatCount(activity.queries)}</strong> lookups from ${period.fromText} to ${period.toText},
        <strong>${formatCount(activity.blocked)}</strong> blocked, on ${activity.devices.length} device${activity.devices.length === 1 ? '' : 's'}
        and ${activity.addresses.length} address${activity.addresses.length === 1 ? '' : 'es'}.
        <a href="/querylog?${logQuery.toString()}">All their lookups in the query log</a> ·
        <a id="person-csv" href="/people/${person.id}/activity.csv?${range}">Download CSV</a></p>
      <p id="person-data">Personal data: <a id="person-export" href="/people/${person.id}/export.zip">everything held about them (subject access, ZIP)</a>${
        request.auth?.user.role === 'admin' ? html` · <a id="person-erase" href="/people/${person.id}/erase">erase this person…</a>` : ''
      }</p>
      <div class="cols">
        <section><h2>Blocked lookups by category</h2>${countTable(
          'person-categories',
          ['Category', 'Blocked'],
          activity.byCategory.map((c) => ({
            label: c.category ? categoryName(ctx.config, c.category) : 'no category (deny exception)',
            count: c.blocked,
            sub: isIllegalCategory(ctx.config, c.category) ? 'illegal: names withheld' : '',
          })),
          'Nothing blocked in this period.',
        )}</section>
        <section><h2>Devices</h2>${countTable(
          'person-devices',
          ['Device', 'Lookups'],
          activity.devices.map((d) => ({
            label: deviceLabel(d) || 'not known',
            count: d.queries,
            sub: d.blocked ? `${formatCount(d.blocked)} blocked` : '',
          })),
          'No devices in this period.',
        )}</section>
        <section><h2>Addresses</h2>${countTable(
          'person-addresses',
          ['Address', 'Lookups'],
          activity.addresses.map((a) => ({
            label: a.client,
            count: a.queries,
            sub: `${formatTime(a.firstAt, zone())} – ${formatTime(a.lastAt, zone())}`,
          })),
          'No addresses in this period.',
        )}</section>
      </div>
      <h2>Alerts</h2>${alertsTable(alerts, person.id)}
      <h2>Review requests</h2>${
        requests.length === 0
          ? html`<p class="muted" id="person-requests-empty">No review requests in this period.</p>`
          : html`<table class="responsive" id="person-requests"><thead><tr><th>Reference</th><th>Asked</th><th>Domain</th><th>Category</th><th>Reason</th><th>Status</th></tr></thead>
          <tbody>${requests.map((r) => {
            const illegal = isIllegalCategory(ctx.config, r.category) || ctx.isIllegal?.(r.domain) === true;
            return html`<tr><td data-label="Reference">${requestReference(r.id)}</td><td data-label="Asked">${formatTime(r.createdAt, zone())}</td>
              <td data-label="Domain"><code>${illegal ? 'withheld' : r.domain}</code></td><td data-label="Category">${categoryName(ctx.config, r.category)}</td>
              <td data-label="Reason">${r.reason ?? ''}</td><td data-label="Status">${r.status}${r.decisionNote ? html`<br><span class="muted">${r.decisionNote}</span>` : ''}</td></tr>`;
          })}</tbody></table>`
      }
      <h2>Latest blocked lookups</h2>${
        blocked.rows.length === 0
          ? html`<p class="muted">Nothing blocked in this period.</p>`
          : rowsTable(
              request,
              blocked.rows.map((r) => visibleRow(ctx, r)),
              'person-blocked',
            )
      }`;
    return reply.type('text/html').send(renderPage(request, { title, body }));
  });

  // ---- The lookups around an alert (or a moment)
  app.get('/people/:id/timeline', { preHandler: requirePeople }, async (request, reply) => {
    const id = idParam(request);
    const person = id === undefined ? undefined : personById(ctx, id);
    if (!person) return notFound(request, reply);
    const q = (request.query ?? {}) as Record<string, string>;
    const alertId = /^\d{1,15}$/.test(q.alert ?? '') ? Number(q.alert) : undefined;
    const alert = alertId !== undefined ? alertsOfPerson(ctx.db, person.id).find((a) => a.id === alertId) : undefined;
    const at = alert?.createdAt ?? (/^\d{10,15}$/.test(q.at ?? '') ? Number(q.at) : undefined);
    if (at === undefined) {
      const problem = alertId !== undefined ? 'That alert is not about this person.' : 'Choose an alert on the person page.';
      return reply
        .code(alertId !== undefined ? 404 : 400)
        .type('text/html')
        .send(
          renderPage(request, {
            title: 'Timeline',
            body: html`${messages('error', [problem])}<p><a href="/people/${person.id}">Back</a></p>`,
          }),
        );
    }
    const from = at - AROUND_MINUTES * 60_000;
    const to = Math.max(at, alert?.lastAt ?? at) + AROUND_MINUTES * 60_000;
    const page = await ctx.reports.search({ from, to, personId: person.id, limit: TIMELINE_MAX });
    const rows = page.rows.map((r) => visibleRow(ctx, r)).reverse();
    const title = `${personLabel({ user: person.userKey, personName: person.displayName ?? null, erased: false })}: timeline`;
    const body = html`${pageAssets()}<p id="timeline-about">${
      alert
        ? html`Lookups from ${formatTime(from, zone())} to ${formatTime(to, zone())}, around <a href="/alerts/${alert.id}">alert ${alert.id}</a>
            (${categoryName(ctx.config, alert.category)}, ${alert.severity}, ${alert.status}${alert.outcome ? `: ${alert.outcome}` : ''}).`
        : html`Lookups from ${formatTime(from, zone())} to ${formatTime(to, zone())}.`
    } <a href="/people/${person.id}">Back to ${person.displayName ?? person.userKey}</a></p>
      ${page.next !== undefined ? html`<p class="muted">Only the latest ${TIMELINE_MAX} lookups of this window are shown.</p>` : ''}
      ${
        rows.length === 0
          ? html`<p class="muted" id="timeline-empty">No lookups in this window.</p>`
          : rowsTable(request, rows, 'timeline', (r) => alert !== undefined && r.action === 'block' && r.category === alert.category)
      }`;
    return reply.type('text/html').send(renderPage(request, { title, body }));
  });

  // ---- CSV of a person's lookups over the period
  app.get('/people/:id/activity.csv', { preHandler: requirePeople }, async (request, reply) => {
    const id = idParam(request);
    const person = id === undefined ? undefined : personById(ctx, id);
    if (!person) return reply.code(404).type('text/plain').send('No such person.\n');
    const { from, to, fromText, toText } = readPeriod(request.query, ctx.now(), zone());
    const chunks: string[] = [csvHeader()];
    let before: number | undefined;
    let written = 0;
    while (written < CSV_MAX_ROWS) {
      const page = await ctx.reports.search({
        from,
        to,
        personId: person.id,
        limit: Math.min(10_000, CSV_MAX_ROWS - written),
        ...(before !== undefined ? { before } : {}),
      });
      for (const r of page.rows) chunks.push(csvRow(visibleRow(ctx, r), (c) => categoryName(ctx.config, c)));
      written += page.rows.length;
      if (page.next === undefined) break;
      before = page.next;
    }
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="gatehouse-person-${person.id}-${fromText}-${toText}.csv"`)
      .send(chunks.join(''));
  });
};
