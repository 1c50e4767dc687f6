// The change log: browse by date, chain verification, CSV export, and the
// printable safeguarding board extract (last two months). Read-only: there
// are no routes that edit or delete rows.
import type { FastifyRequest } from 'fastify';
import { requireUser } from '../auth.js';
import { changesCsv, listChanges, verifyChain, type ChainStatus, type ChangeRow } from '../changelog.js';
import type { AdminRoutePlugin } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { formatTime } from '../views/time.js';
import { renderPage } from '../views/layout.js';
import { dayRange } from '../views/widgets.js';

function chainBanner(status: ChainStatus): SafeHtml {
  return status.ok
    ? html`<p class="chain ok" id="chain-status">Chain verified: ${status.rows} rows, none changed or removed.</p>`
    : html`<p class="chain broken" id="chain-status" role="alert">Chain broken at row ${status.brokenAt}: the log has been altered outside Gatehouse at or before this row.</p>`;
}

function json(text: string | null): string {
  if (text === null) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 1);
  } catch {
    return text;
  }
}

function table(rows: ChangeRow[], zone: string): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">No changes in this period.</p>`;
  return html`<table class="responsive changes" id="changes"><thead><tr><th>#</th><th>When</th><th>Who</th><th>What</th><th>Before</th><th>After</th><th>Requester</th><th>Reason</th><th>Approver</th></tr></thead>
    <tbody>${rows.map(
      (r) => html`<tr>
        <td data-label="#">${r.id}</td>
        <td data-label="When">${formatTime(r.at, zone)}</td>
        <td data-label="Who">${r.actor}</td>
        <td data-label="What">${r.entity} ${r.entity_id ?? ''}: <strong>${r.action}</strong></td>
        <td data-label="Before"><pre>${json(r.before_json)}</pre></td>
        <td data-label="After"><pre>${json(r.after_json)}</pre></td>
        <td data-label="Requester">${r.requester ?? ''}</td>
        <td data-label="Reason">${r.reason ?? ''}</td>
        <td data-label="Approver">${r.approver ?? ''}</td>
      </tr>`,
    )}</tbody></table>`;
}

export const changelogRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  app.get('/changelog', { preHandler: requireUser }, async (request, reply) => {
    const range = dayRange(request.query, ctx.config.admin.timezone);
    const rows = listChanges(ctx.db, { ...range, limit: 1000 });
    const qs = new URLSearchParams({
      ...(range.fromText ? { from: range.fromText } : {}),
      ...(range.toText ? { to: range.toText } : {}),
    }).toString();
    const body = html`${chainBanner(verifyChain(ctx.db))}
      <form method="get" action="/changelog" class="filters">
        <label>From <input type="date" name="from" value="${range.fromText}"></label>
        <label>To <input type="date" name="to" value="${range.toText}"></label>
        <button type="submit">Filter</button>
        <a class="button secondary" href="/changelog.csv${qs ? '?' + qs : ''}">Download CSV</a>
        <a class="button secondary" href="/changelog/extract">Board extract (last 2 months)</a>
      </form>
      ${rows.length === 1000 ? html`<p class="muted">Showing the latest 1000 rows; narrow the dates or download the CSV for all.</p>` : ''}
      ${table(rows, ctx.config.admin.timezone)}`;
    return reply.type('text/html').send(renderPage(request, { title: 'Change log', body }));
  });

  app.get('/changelog.csv', { preHandler: requireUser }, async (request, reply) => {
    const range = dayRange(request.query, ctx.config.admin.timezone);
    const name = `gatehouse-changes${range.fromText ? '-from-' + range.fromText : ''}${range.toText ? '-to-' + range.toText : ''}.csv`;
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${name}"`)
      .send(changesCsv(listChanges(ctx.db, { ...range, limit: 10_000 })));
  });

  app.get('/changelog/extract', { preHandler: requireUser }, async (request: FastifyRequest, reply) => {
    const now = ctx.now();
    const zone = ctx.config.admin.timezone;
    const from = new Date(now);
    from.setUTCMonth(from.getUTCMonth() - 2);
    const rows = listChanges(ctx.db, { from: from.getTime(), to: now, limit: 10_000 });
    const body = html`<p>Changes to filtering, accounts and settings from ${formatTime(from.getTime(), zone)} to ${formatTime(now, zone)}:
        ${rows.length} rows. Produced by ${request.auth!.user.name} on ${formatTime(now, zone)}.</p>
      ${chainBanner(verifyChain(ctx.db))}
      <p class="no-print"><button type="button" data-print>Print</button></p>
      ${table(rows, ctx.config.admin.timezone)}
      <p class="signature">Reviewed by: ____________________ &nbsp; Date: ____________</p>`;
    return reply.type('text/html').send(renderPage(request, { title: 'Safeguarding board extract', body, bodyClass: 'extract' }));
  });

  // ---- JSON API ----
  const text = { type: ['string', 'null'] };
  const rowSchema = {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      at: { type: 'integer' },
      actor: text,
      entity: text,
      entity_id: text,
      action: text,
      before_json: text,
      after_json: text,
      requester: text,
      reason: text,
      approver: text,
      prev_hash: text,
      hash: text,
    },
  };

  app.get(
    '/api/changelog',
    {
      preHandler: requireUser,
      schema: {
        summary: 'Change-log rows, newest first',
        querystring: {
          type: 'object',
          properties: {
            from: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
            to: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 500 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
        response: { 200: { type: 'array', items: rowSchema } },
      },
    },
    async (request) => {
      const q = request.query as { limit: number; offset: number };
      return listChanges(ctx.db, { ...dayRange(request.query, ctx.config.admin.timezone), limit: q.limit, offset: q.offset });
    },
  );

  app.get(
    '/api/changelog/verify',
    {
      preHandler: requireUser,
      schema: {
        summary: 'Re-compute the hash chain',
        response: {
          200: { type: 'object', properties: { ok: { type: 'boolean' }, rows: { type: 'integer' }, brokenAt: { type: 'integer' } } },
        },
      },
    },
    async () => verifyChain(ctx.db),
  );
};
