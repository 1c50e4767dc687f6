// The alerts inbox: filter by kind, status and severity; acknowledge; close
// with an outcome (DSL and admin). Each alert's page shows its history and
// delivery attempts. Auditors (governors) get counts by category, severity and
// outcome for a period instead, never an alert (views/alert-counts.ts).
// Illegal categories never carry a domain (the alert store refuses one).
import { OUTCOMES } from '../../alerts/outcomes.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AlertError } from '../../alerts/store.js';
import { alertSummary } from '../../alerts/summary.js';
import type { Alert, AlertKind, AlertStatus } from '../../alerts/types.js';
import { actorOf, requireRole, requireStaff } from '../auth.js';
import type { AdminRoutePlugin } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { formatTime } from '../views/time.js';
import { alertInbox } from '../inbox.js';
import { field } from '../security.js';
import { pageAssets } from '../views/assets.js';
import { alertCountsBody, readPeriod } from '../views/alert-counts.js';
import { csrfField, messages, renderPage } from '../views/layout.js';
import { categoryName, unavailable } from '../views/widgets.js';
import { whoHtml } from '../views/who.js';
import { describeIds, deviceLabel, NOBODY, type WhoView } from '../../store/who.js';

const requireHandler = requireRole('admin', 'dsl');
const STATUSES: AlertStatus[] = ['open', 'acknowledged', 'closed'];
const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
const KINDS: AlertKind[] = ['safeguarding', 'operational'];
const PAGE = 50;

/** Outcomes offered when closing; the note adds the detail (alerts/outcomes.ts, shared with the reports). */
export { OUTCOMES };

const NOTICES: Record<string, string> = { acknowledged: 'Alert acknowledged.', closed: 'Alert closed with its outcome recorded.' };

type Filter = { kind: AlertKind; status?: AlertStatus; severity?: (typeof SEVERITIES)[number]; offset: number };

function readFilter(query: unknown): Filter {
  const q = (query ?? {}) as Record<string, string>;
  const status = STATUSES.find((s) => s === q.status);
  const severity = SEVERITIES.find((s) => s === q.severity);
  const offset = /^\d{1,7}$/.test(q.offset ?? '') ? Number(q.offset) : 0;
  return {
    kind: q.kind === 'operational' ? 'operational' : 'safeguarding',
    ...(status ? { status } : {}),
    ...(severity ? { severity } : {}),
    offset,
  };
}

function qs(f: Filter, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams({
    kind: f.kind,
    ...(f.status ? { status: f.status } : {}),
    ...(f.severity ? { severity: f.severity } : {}),
    ...extra,
  });
  return p.toString();
}

/** Only local paths go back into a redirect (never an open redirect). */
function backTo(body: unknown, fallback: string): string {
  const back = field(body, 'back');
  return /^\/alerts(\/\d+)?(\?[A-Za-z0-9=&_%.-]*)?$/.test(back) ? back : fallback;
}

function withDone(path: string, done: string): string {
  return path + (path.includes('?') ? '&' : '?') + 'done=' + done;
}

export const alertRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const closeForm = (request: FastifyRequest, a: Alert, back: string): SafeHtml => html`<details><summary>Close with an outcome</summary>
    <form method="post" action="/alerts/${a.id}/close" class="stack close-form">${csrfField(request)}
      <input type="hidden" name="back" value="${back}">
      <label>Outcome <select name="outcome" required><option value="">choose…</option>${OUTCOMES.map((o) => html`<option>${o}</option>`)}</select></label>
      <label>Note <textarea name="note" rows="2" maxlength="2000" placeholder="What was done (no more personal detail than needed)"></textarea></label>
      <button type="submit">Close alert</button>
    </form></details>`;

  const actions = (request: FastifyRequest, a: Alert, back: string): SafeHtml => {
    const role = request.auth!.user.role;
    if (role === 'auditor' || a.status === 'closed') return html``;
    return html`${
      a.status === 'open'
        ? html`<form method="post" action="/alerts/${a.id}/ack" class="inline">${csrfField(request)}<input type="hidden" name="back" value="${back}"><button type="submit" class="secondary">Acknowledge</button></form>`
        : ''
    }${closeForm(request, a, back)}`;
  };

  const whoOf = (a: Alert): WhoView => describeIds(ctx.db, a.personId, a.deviceId);

  /** The person and device on an alert's page, with the way to their person page and to the lookups around it. */
  const personFacts = (request: FastifyRequest, a: Alert): SafeHtml => {
    const w = whoOf(a);
    if (w === NOBODY || (w.personId === null && w.deviceId === null)) return html``;
    return html`<dt>Person</dt><dd id="alert-person">${w.personId !== null ? whoHtml(request, { ...w, deviceId: null, device: null, mac: null }) : 'not known'}${
      w.personId !== null
        ? html` · <a id="alert-timeline" href="/people/${w.personId}/timeline?alert=${a.id}">Their lookups around this alert</a>`
        : ''
    }</dd>
      <dt>Device</dt><dd id="alert-device">${deviceLabel(w) || 'not known'}</dd>`;
  };

  /** An alert as the API gives it: with who its person and device are now. */
  const withWho = (a: Alert) => {
    const w = whoOf(a);
    return { ...a, user: w.user, personName: w.personName, device: w.device, mac: w.mac };
  };

  const what = (a: Alert): SafeHtml =>
    a.kind === 'operational'
      ? html`${a.message ?? a.category}`
      : html`${categoryName(ctx.config, a.category)}${a.illegal ? html` <span class="muted">(illegal content: no detail kept)</span>` : a.domain ? html` · <code>${a.domain}</code>` : ''}${
          a.circumvention ? html` <span class="badge deny">circumvention</span>` : ''
        }`;

  async function page(request: FastifyRequest, reply: FastifyReply, errors: string[] = [], status = 200) {
    const inbox = alertInbox(ctx);
    if (!inbox)
      return reply
        .code(status)
        .type('text/html')
        .send(renderPage(request, { title: 'Alerts', body: unavailable('The alert inbox') }));
    const f = readFilter(request.query);
    if (request.auth!.user.role === 'auditor') {
      const body = html`${pageAssets()}<nav class="tabs" aria-label="Kind">${KINDS.map(
        (k) => html`<a href="/alerts?kind=${k}"${k === f.kind ? html` aria-current="true"` : ''}>${k}</a>`,
      )}</nav>${alertCountsBody(ctx, request, f.kind, OUTCOMES)}`;
      return reply
        .code(status)
        .type('text/html')
        .send(renderPage(request, { title: 'Alerts', body }));
    }
    const { total, items } = inbox.list({ kind: f.kind, status: f.status, severity: f.severity, limit: PAGE, offset: f.offset });
    const here = `/alerts?${qs(f, f.offset ? { offset: String(f.offset) } : {})}`;
    const notice = NOTICES[(request.query as Record<string, string>).done ?? ''];
    const opt = (values: readonly string[], chosen: string | undefined) =>
      values.map((v) => html`<option value="${v}"${v === chosen ? html` selected` : ''}>${v}</option>`);
    const body = html`${pageAssets()}${messages('error', errors)}${messages('notice', notice ? [notice] : [])}
      <nav class="tabs" aria-label="Kind">${KINDS.map(
        (k) =>
          html`<a href="/alerts?kind=${k}${f.status ? `&status=${f.status}` : ''}"${k === f.kind ? html` aria-current="true"` : ''}>${k}</a>`,
      )}</nav>
      <form method="get" action="/alerts" class="filters" id="alert-filters">
        <input type="hidden" name="kind" value="${f.kind}">
        <label>Status <select name="status"><option value="">any</option>${opt(STATUSES, f.status)}</select></label>
        <label>Severity <select name="severity"><option value="">any</option>${opt(SEVERITIES, f.severity)}</select></label>
        <button type="submit">Filter</button>
      </form>
      <p class="muted">${total} alerts match.</p>
      ${
        items.length === 0
          ? html`<p class="muted" id="alerts-empty">No alerts match.</p>`
          : html`<table class="responsive" id="alerts"><thead><tr><th>#</th><th>Raised</th><th>Severity</th><th>What</th><th>Who</th><th>Lookups</th><th>Status</th><th>Actions</th></tr></thead>
          <tbody>${items.map(
            (a) => html`<tr>
              <td data-label="#"><a href="/alerts/${a.id}">${a.id}</a></td>
              <td data-label="Raised">${formatTime(a.createdAt, ctx.config.admin.timezone)}${a.lastAt > a.createdAt ? html`<br><span class="muted">last ${formatTime(a.lastAt, ctx.config.admin.timezone)}</span>` : ''}</td>
              <td data-label="Severity"><span class="sev ${a.severity}">${a.severity}</span></td>
              <td data-label="What">${what(a)}</td>
              <td data-label="Who">${a.group ?? ''} ${a.clientName ?? ''} <span class="muted">${a.client ?? ''}</span> ${whoHtml(request, whoOf(a))}</td>
              <td data-label="Lookups">${a.count}</td>
              <td data-label="Status"><span class="state ${a.status}">${a.status}</span>${a.outcome ? html`<br><span class="muted">${a.outcome}</span>` : ''}</td>
              <td data-label="Actions" class="actions">${actions(request, a, here)}</td>
            </tr>`,
          )}</tbody></table>`
      }
      <p class="pager">${f.offset > 0 ? html`<a href="/alerts?${qs(f, { offset: String(Math.max(0, f.offset - PAGE)) })}">Newer</a>` : ''}
        ${f.offset + PAGE < total ? html`<a href="/alerts?${qs(f, { offset: String(f.offset + PAGE) })}">Older</a>` : ''}</p>`;
    return reply
      .code(status)
      .type('text/html')
      .send(renderPage(request, { title: 'Alerts', body }));
  }

  app.get('/alerts', { preHandler: requireStaff }, async (request, reply) => page(request, reply));

  // One alert names a pupil's device and a domain: for the DSL and IT only.
  app.get('/alerts/:id', { preHandler: requireHandler }, async (request, reply) => {
    const inbox = alertInbox(ctx);
    if (!inbox) return reply.type('text/html').send(renderPage(request, { title: 'Alert', body: unavailable('The alert inbox') }));
    const id = Number((request.params as { id: string }).id);
    const a = Number.isSafeInteger(id) ? inbox.get(id) : undefined;
    if (!a)
      return reply
        .code(404)
        .type('text/html')
        .send(renderPage(request, { title: 'Alert', body: html`<p>No such alert.</p><p><a href="/alerts">Back to the inbox</a></p>` }));
    const notice = NOTICES[(request.query as Record<string, string>).done ?? ''];
    const body = html`${pageAssets()}${messages('notice', notice ? [notice] : [])}
      <dl class="facts card" id="alert-facts">
        <dt>Raised</dt><dd>${formatTime(a.createdAt, ctx.config.admin.timezone)} (last lookup ${formatTime(a.lastAt, ctx.config.admin.timezone)}, ${a.count} in all)</dd>
        <dt>Severity</dt><dd><span class="sev ${a.severity}">${a.severity}</span> · ${a.kind}</dd>
        <dt>What</dt><dd>${what(a)}</dd>
        <dt>Client</dt><dd>${a.group ?? ''} ${a.clientName ?? ''} ${a.client ?? ''}</dd>
        ${personFacts(request, a)}
        <dt>Status</dt><dd><span class="state ${a.status}">${a.status}</span>
          ${a.acknowledgedBy ? html` · acknowledged by ${a.acknowledgedBy} at ${formatTime(a.acknowledgedAt, ctx.config.admin.timezone)}` : ''}
          ${a.closedBy ? html` · closed by ${a.closedBy} at ${formatTime(a.closedAt, ctx.config.admin.timezone)}` : ''}</dd>
        ${a.outcome ? html`<dt>Outcome</dt><dd id="alert-outcome">${a.outcome}</dd>` : ''}
      </dl>
      ${actions(request, a, `/alerts/${a.id}`)}
      <h2>History</h2>
      ${
        a.history.length === 0
          ? html`<p class="muted">No changes yet.</p>`
          : html`<table class="responsive"><thead><tr><th>When</th><th>Who</th><th>Change</th><th>Note</th></tr></thead>
        <tbody>${a.history.map((h) => html`<tr><td data-label="When">${formatTime(h.at, ctx.config.admin.timezone)}</td><td data-label="Who">${h.user}</td><td data-label="Change">${h.fromStatus} → ${h.toStatus}</td><td data-label="Note">${h.note ?? ''}</td></tr>`)}</tbody></table>`
      }
      <h2>Deliveries</h2>
      ${
        a.deliveries.length === 0
          ? html`<p class="muted">No delivery attempts recorded.</p>`
          : html`<table class="responsive"><thead><tr><th>When</th><th>Channel</th><th>Result</th><th>Time taken</th></tr></thead>
        <tbody>${a.deliveries.map((d) => html`<tr><td data-label="When">${formatTime(d.at, ctx.config.admin.timezone)}</td><td data-label="Channel">${d.channel}</td><td data-label="Result">${d.ok ? 'delivered' : `failed: ${d.error ?? ''}`}</td><td data-label="Time taken">${d.durationMs} ms</td></tr>`)}</tbody></table>`
      }
      <p><a href="/alerts">Back to the inbox</a></p>`;
    return reply.type('text/html').send(renderPage(request, { title: `Alert ${a.id}`, body }));
  });

  async function change(request: FastifyRequest, reply: FastifyReply, done: string, act: (id: number) => void) {
    const inbox = alertInbox(ctx);
    if (!inbox) return reply.code(503).type('text/plain').send('The alert inbox is not available.\n');
    const id = Number((request.params as { id: string }).id);
    try {
      act(id);
    } catch (err) {
      if (!(err instanceof AlertError)) throw err;
      return page(
        request,
        reply,
        [err.code === 'GH_ERR_ALERT_INPUT' ? 'Choose an outcome before closing.' : err.message],
        err.code === 'GH_ERR_ALERT_NOT_FOUND' ? 404 : 409,
      );
    }
    return reply.redirect(withDone(backTo(request.body, '/alerts'), done));
  }

  const outcomeOf = (body: unknown) => {
    const choice = field(body, 'outcome').trim().slice(0, 200);
    const note = field(body, 'note').trim().slice(0, 2000);
    return choice && note ? `${choice}: ${note}` : choice || note;
  };

  app.post('/alerts/:id/ack', { preHandler: requireHandler }, async (request, reply) =>
    change(request, reply, 'acknowledged', (id) => alertInbox(ctx)!.acknowledge(id, actorOf(request))),
  );

  app.post('/alerts/:id/close', { preHandler: requireHandler }, async (request, reply) =>
    change(request, reply, 'closed', (id) => alertInbox(ctx)!.close(id, actorOf(request), outcomeOf(request.body))),
  );

  // ---- JSON API ----
  const s = { type: 'string' };
  const ns = { type: ['string', 'null'] };
  const ni = { type: ['integer', 'null'] };
  const alertSchema = {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      kind: s,
      createdAt: { type: 'integer' },
      lastAt: { type: 'integer' },
      client: ns,
      clientName: ns,
      personId: ni,
      deviceId: ni,
      user: { type: ['string', 'null'], description: 'the person behind the address (user name), as the identity tables have it now' },
      personName: ns,
      device: ns,
      mac: ns,
      group: ns,
      category: s,
      severity: s,
      domain: ns,
      illegal: { type: 'boolean' },
      circumvention: { type: 'boolean' },
      count: { type: 'integer' },
      message: ns,
      status: s,
      outcome: ns,
      acknowledgedBy: ns,
      acknowledgedAt: ni,
      closedBy: ns,
      closedAt: ni,
    },
  };
  const errorSchema = { type: 'object', properties: { error: s, code: s } };
  const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] };

  function apiError(reply: FastifyReply, err: unknown) {
    if (!(err instanceof AlertError)) throw err;
    const status = err.code === 'GH_ERR_ALERT_NOT_FOUND' ? 404 : err.code === 'GH_ERR_ALERT_STATE' ? 409 : 400;
    return reply.code(status).send({ error: err.message, code: err.code });
  }

  const countSchema = { type: 'object', properties: { alerts: { type: 'integer' }, lookups: { type: 'integer' } } };
  const counted = (key: string) => ({
    type: 'array',
    items: { type: 'object', properties: { [key]: s, alerts: { type: 'integer' }, lookups: { type: 'integer' } } },
  });
  app.get(
    '/api/alerts/summary',
    {
      preHandler: requireStaff,
      schema: {
        summary: 'Alert counts for a period by category, severity and outcome (every role; never an alert itself)',
        querystring: {
          type: 'object',
          properties: {
            kind: { type: 'string', enum: KINDS, default: 'safeguarding' },
            from: { type: 'string', format: 'date', description: 'first day (UTC), YYYY-MM-DD; default 30 days before `to`' },
            to: { type: 'string', format: 'date', description: 'last day (UTC), YYYY-MM-DD; default today' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              kind: s,
              from: { type: 'integer' },
              to: { type: 'integer' },
              total: countSchema,
              byCategory: counted('category'),
              bySeverity: counted('severity'),
              byOutcome: { type: 'array', items: { type: 'object', properties: { outcome: s, alerts: { type: 'integer' } } } },
            },
          },
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      if (!alertInbox(ctx)) return reply.code(503).send({ error: 'the alert inbox is not available' });
      const q = request.query as { kind: AlertKind };
      const { from, to } = readPeriod(request.query, ctx.now(), ctx.config.admin.timezone);
      return alertSummary(ctx.db, { kind: q.kind, from, to, outcomes: OUTCOMES });
    },
  );

  app.get(
    '/api/alerts',
    {
      preHandler: requireHandler,
      schema: {
        summary: 'Alerts, newest first, filtered by kind, status and severity (DSL and admin; auditors: /api/alerts/summary)',
        querystring: {
          type: 'object',
          properties: {
            kind: { type: 'string', enum: KINDS },
            status: { type: 'string', enum: STATUSES },
            severity: { type: 'string', enum: [...SEVERITIES] },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
        response: {
          200: { type: 'object', properties: { total: { type: 'integer' }, items: { type: 'array', items: alertSchema } } },
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const inbox = alertInbox(ctx);
      if (!inbox) return reply.code(503).send({ error: 'the alert inbox is not available' });
      const page = inbox.list(request.query as Parameters<typeof inbox.list>[0]);
      return { total: page.total, items: page.items.map(withWho) };
    },
  );

  app.post(
    '/api/alerts/:id/acknowledge',
    {
      preHandler: requireHandler,
      schema: {
        summary: 'Acknowledge an open alert',
        params: idParams,
        response: { 200: alertSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema },
      },
    },
    async (request, reply) => {
      const inbox = alertInbox(ctx);
      if (!inbox) return reply.code(503).send({ error: 'the alert inbox is not available' });
      try {
        return inbox.acknowledge((request.params as { id: number }).id, actorOf(request));
      } catch (err) {
        return apiError(reply, err);
      }
    },
  );

  app.post(
    '/api/alerts/:id/close',
    {
      preHandler: requireHandler,
      schema: {
        summary: 'Close an alert with an outcome',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['outcome'],
          properties: { outcome: { type: 'string', minLength: 1, maxLength: 2200 } },
        },
        response: { 200: alertSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema },
      },
    },
    async (request, reply) => {
      const inbox = alertInbox(ctx);
      if (!inbox) return reply.code(503).send({ error: 'the alert inbox is not available' });
      try {
        return inbox.close((request.params as { id: number }).id, actorOf(request), (request.body as { outcome: string }).outcome);
      } catch (err) {
        return apiError(reply, err);
      }
    },
  );
};
