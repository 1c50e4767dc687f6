// The Lists page: each configured list's source, entries in use, last refresh
// and errors, from the running list manager, with the recent refresh history
// the query-log store keeps. Illegal lists (IWF, CTIRU) show counts only.
import type { FastifyRequest } from 'fastify';
import { displaySource } from '../../lists/source.js';
import type { ListStatus } from '../../lists/manager.js';
import { requireUser } from '../auth.js';
import type { AdminContext, AdminRoutePlugin } from '../context.js';
import { html } from '../html.js';
import { formatTime } from '../views/time.js';
import { pageAssets } from '../views/assets.js';
import { renderPage } from '../views/layout.js';
import { categoryName, formatCount, unavailable } from '../views/widgets.js';
import { hasTables } from '../../store/db.js';

interface RefreshRow {
  at: number;
  list_id: string;
  ok: number;
  entries: number | null;
  error: string | null;
}

function refreshHistory(ctx: AdminContext, limit: number): RefreshRow[] {
  if (!hasTables(ctx.db, 'list_refresh')) return [];
  return ctx.db.prepare('SELECT at, list_id, ok, entries, error FROM list_refresh ORDER BY at DESC LIMIT ?').all(limit) as RefreshRow[];
}

/** What may be shown of a list's status: everything but the detail of illegal lists' sources and errors. */
export function visibleStatus(s: ListStatus): ListStatus {
  if (!s.illegal) return s;
  return { ...s, source: displaySource(s.source), etag: null, lastModified: null, badLines: { count: s.badLines.count, lines: [] } };
}

export const listRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  app.get('/lists', { preHandler: requireUser }, async (request: FastifyRequest, reply) => {
    const statuses = ctx.live.lists?.().map(visibleStatus);
    const history = refreshHistory(ctx, 50);
    const table = statuses
      ? statuses.length === 0
        ? html`<p class="muted">No lists are configured.</p>`
        : html`<table class="responsive" id="lists"><thead><tr><th>List</th><th>Category</th><th>Source</th><th>Entries</th><th>In use</th><th>Last refresh</th><th>Problems</th></tr></thead>
          <tbody>${statuses.map(
            (s) => html`<tr>
              <td data-label="List"><strong>${s.id}</strong> <span class="muted">${s.format}</span></td>
              <td data-label="Category">${categoryName(ctx.config, s.category)}${s.illegal ? html` <span class="badge deny">illegal: counts only</span>` : ''}</td>
              <td data-label="Source"><code>${s.source}</code></td>
              <td data-label="Entries" class="num">${formatCount(s.entries)}${s.exceptions ? html`<br><span class="muted">${formatCount(s.exceptions)} exceptions</span>` : ''}</td>
              <td data-label="In use"><span class="state ${s.serving}">${s.serving === 'source' ? 'fresh copy' : s.serving === 'last-good' ? 'last good copy' : 'none'}</span></td>
              <td data-label="Last refresh">${s.lastRefresh ? formatTime(Date.parse(s.lastRefresh), ctx.config.admin.timezone) : 'not yet'}${
                s.lastSuccess && s.lastSuccess !== s.lastRefresh
                  ? html`<br><span class="muted">last success ${formatTime(Date.parse(s.lastSuccess), ctx.config.admin.timezone)}</span>`
                  : ''
              }</td>
              <td data-label="Problems">${s.lastError ? html`<span class="state fail">error</span> ${s.lastError}<br>` : ''}${
                s.badLines.count
                  ? html`${formatCount(s.badLines.count)} invalid lines${s.badLines.lines.length ? ` (first: ${s.badLines.lines.slice(0, 5).join(', ')})` : ''}<br>`
                  : ''
              }${s.unenforcedPathEntries ? html`${formatCount(s.unenforcedPathEntries)} URL-path rules DNS cannot enforce<br>` : ''}${
                s.ipEntries ? html`${formatCount(s.ipEntries)} IP entries skipped` : ''
              }</td>
            </tr>`,
          )}</tbody></table>`
      : html`${unavailable('Live list status')}
        <table class="responsive" id="lists"><thead><tr><th>List</th><th>Category</th><th>Source</th><th>Refresh schedule</th></tr></thead>
        <tbody>${ctx.config.lists.map(
          (
            l,
          ) => html`<tr><td data-label="List">${l.id} <span class="muted">${l.format}</span></td><td data-label="Category">${categoryName(ctx.config, l.category)}</td>
            <td data-label="Source"><code>${displaySource(l.source)}</code></td><td data-label="Refresh schedule"><code>${l.refresh}</code></td></tr>`,
        )}</tbody></table>`;
    const body = html`${pageAssets()}${table}
      <h2>Recent refreshes</h2>
      ${
        history.length === 0
          ? html`<p class="muted">No refreshes recorded yet.</p>`
          : html`<table class="responsive" id="list-refreshes"><thead><tr><th>When</th><th>List</th><th>Result</th><th>Entries</th><th>Error</th></tr></thead>
          <tbody>${history.map(
            (r) => html`<tr><td data-label="When">${formatTime(r.at, ctx.config.admin.timezone)}</td><td data-label="List">${r.list_id}</td>
              <td data-label="Result"><span class="state ${r.ok ? 'ok' : 'fail'}">${r.ok ? 'ok' : 'failed'}</span></td>
              <td data-label="Entries" class="num">${r.entries === null ? '' : formatCount(r.entries)}</td><td data-label="Error">${r.error ?? ''}</td></tr>`,
          )}</tbody></table>`
      }`;
    return reply.type('text/html').send(renderPage(request, { title: 'Lists', body }));
  });

  const s = { type: 'string' };
  const ns = { type: ['string', 'null'] };
  const i = { type: 'integer' };
  app.get(
    '/api/lists',
    {
      preHandler: requireUser,
      schema: {
        summary: 'Status of every list (illegal lists: counts only)',
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: s,
                category: s,
                illegal: { type: 'boolean' },
                source: s,
                format: s,
                entries: i,
                exceptions: i,
                badLines: { type: 'object', properties: { count: i, lines: { type: 'array', items: i } } },
                unenforcedPathEntries: i,
                ipEntries: i,
                serving: s,
                lastRefresh: ns,
                lastSuccess: ns,
                lastError: ns,
              },
            },
          },
          503: { type: 'object', properties: { error: s } },
        },
      },
    },
    async (_request, reply) => {
      if (!ctx.live.lists) return reply.code(503).send({ error: 'list status is not available' });
      return ctx.live.lists().map(visibleStatus);
    },
  );
};
