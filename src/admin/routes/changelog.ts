// The change log: browse by date, chain verification, CSV export, and the
// printable safeguarding board extract (last two months), which reads the
// change requests: each filtering change in plain words with its requester,
// reason, approver, test result and emergency and overdue flags. Read-only:
// there are no routes that edit or delete rows.
import type { FastifyRequest } from 'fastify';
import { requireUser } from '../auth.js';
import { changesCsv, listChanges, verifyChain, type ChainStatus, type ChangeRow } from '../changelog.js';
import type { AdminRoutePlugin } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { formatTime } from '../views/time.js';
import { renderPage } from '../views/layout.js';
import { dayRange } from '../views/widgets.js';
import { changesBetween, type BoardRow } from '../../changes/board.js';

function chainBanner(status: ChainStatus): SafeHtml {
  return status.ok
    ? html`<p class="chain ok" id="chain-status">Chain verified: ${status.rows} rows, none changed or removed.</p>`
    : html`<p class="chain broken" id="chain-status" role="alert">Chain broken at row ${status.brokenAt}: the log has been altered outside Gatehouse at or before this row.</p>`;
}

/** A row's before and after in words: the lines a change or a reload stored, else the JSON, indented. */
function words(text: string | null): SafeHtml | string {
  if (text === null) return '';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  const v = value as { changes?: unknown; summary?: unknown; note?: unknown; why?: unknown };
  const lines = Array.isArray(v?.changes) ? v.changes.filter((l): l is string => typeof l === 'string') : [];
  if (lines.length > 0 || typeof v?.summary === 'string') {
    const extra = [v.note, ...(Array.isArray(v.why) ? v.why : [v.why])].filter((x): x is string => typeof x === 'string' && x !== '');
    return html`${typeof v.summary === 'string' && lines.length === 0 ? html`<p>${v.summary}</p>` : ''}<ul class="words">${lines.map((l) => html`<li>${l}</li>`)}</ul>${extra.map((x) => html`<p>${x}</p>`)}`;
  }
  return html`<pre>${JSON.stringify(value, null, 1)}</pre>`;
}

function table(rows: ChangeRow[], zone: string): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">No changes in this period.</p>`;
  return html`<table class="responsive changes" id="changes"><thead><tr><th>#</th><th>When</th><th>Who</th><th>What</th><th>Before</th><th>After</th><th>Requester</th><th>Reason</th><th>Approver</th></tr></thead>
    <tbody>${rows.map(
      (r) => html`<tr>
        <td data-label="#">${r.id}</td>
        <td data-label="When">${formatTime(r.at, zone)}</td>
        <td data-label="Who">${r.actor}</td>
        <td data-label="What">${r.entity === 'change' ? html`<a href="/changes/${r.entity_id}">change #${r.entity_id}</a>` : `${r.entity} ${r.entity_id ?? ''}`}: <strong>${r.action}</strong></td>
        <td data-label="Before">${words(r.before_json)}</td>
        <td data-label="After">${words(r.after_json)}</td>
        <td data-label="Requester">${r.requester ?? ''}</td>
        <td data-label="Reason">${r.reason ?? ''}</td>
        <td data-label="Approver">${r.approver ?? ''}</td>
      </tr>`,
    )}</tbody></table>`;
}

/** The board's table: one row per filtering change, in plain words. */
function boardTable(rows: BoardRow[], zone: string): SafeHtml {
  if (rows.length === 0) return html`<p class="muted" id="board">No filtering changes in this period.</p>`;
  return html`<table class="responsive changes" id="board"><thead><tr><th>#</th><th>When</th><th>What changed</th><th>Asked for by</th><th>Reason</th><th>Approver</th><th>Test</th><th>Flags</th></tr></thead>
    <tbody>${rows.map(
      (r) => html`<tr id="board-${r.id}">
        <td data-label="#">${r.id}</td>
        <td data-label="When">${formatTime(r.at, zone)}</td>
        <td data-label="What changed"><ul class="words">${r.changes.map((c) => html`<li>${c}</li>`)}</ul>${
          r.endsAt !== null
            ? html`<p>Temporary: until ${formatTime(r.endsAt, zone)}${r.endedAt !== null ? `, ended ${formatTime(r.endedAt, zone)}` : ''}.</p>`
            : ''
        }${r.revertOf !== null ? html`<p>Reverts #${r.revertOf}.</p>` : ''}${r.revertedBy !== null ? html`<p>Reverted by #${r.revertedBy}.</p>` : ''}</td>
        <td data-label="Asked for by">${r.requester ?? ''}${r.subjectArea ? ` (${r.subjectArea})` : ''}; entered by ${r.enteredBy}</td>
        <td data-label="Reason">${r.reason ?? ''}</td>
        <td data-label="Approver">${r.approver ?? (r.emergency ? 'not yet reviewed' : '')}</td>
        <td data-label="Test">${r.test ?? ''}</td>
        <td data-label="Flags">${r.emergency ? html`<span class="flag emergency">emergency</span> ` : ''}${
          r.overdue ? html`<span class="flag overdue">review overdue</span> ` : ''
        }${r.status === 'refused' ? 'refused ' : ''}${r.status === 'failed' ? 'could not apply ' : ''}${r.testOk === false ? html`<span class="flag failed">test failed</span>` : ''}</td>
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
    const board = changesBetween(ctx.db, from.getTime(), now, now);
    const others = listChanges(ctx.db, { from: from.getTime(), to: now, limit: 10_000 }).filter((r) => r.entity !== 'change');
    const count = (f: (r: BoardRow) => boolean) => board.filter(f).length;
    const body = html`<p>Filtering changes from ${formatTime(from.getTime(), zone)} to ${formatTime(now, zone)}: ${board.length}
        (<span id="board-emergencies">${count((r) => r.emergency)} emergency</span>, <span id="board-overdue">${count((r) => r.overdue)} overdue for review</span>,
        ${count((r) => r.testOk === false)} failed their test). Produced by ${request.auth!.user.name} on ${formatTime(now, zone)}.</p>
      ${chainBanner(verifyChain(ctx.db))}
      <p class="no-print"><button type="button" data-print>Print</button></p>
      <h2>Changes to what is filtered</h2>
      ${boardTable(board, zone)}
      <h2>Other recorded changes (accounts, settings)</h2>
      ${table(others, zone)}
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
