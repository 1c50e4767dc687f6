// Reports: the weekly monitoring report (DSL and IT: it names pupils once
// identity is recorded), the board extract and the annual review pack (every
// role: counts only) as pages that print on A4, as a PDF and as a CSV of
// their tables; "send now" through the alert outbox; and the record of every
// sending with its delivery state and the PDF as it was sent. Reports are made
// in the report thread of the running service (reports/service.ts), or on the
// admin app's connection when it runs without one (tests, tools).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../roles.js';
import { requireUser } from '../auth.js';
import type { AdminContext, AdminRoutePlugin } from '../context.js';
import { html, trusted } from '../html.js';
import { field } from '../security.js';
import { csrfField, messages, renderPage } from '../views/layout.js';
import { formatTime } from '../views/time.js';
import { hasTables } from '../../store/db.js';
import { reportInput } from '../../reports/input.js';
import { makeReport, type Made, type ReportFormat } from '../../reports/make.js';
import { REPORT_KINDS, REPORT_TITLES, type ReportKind } from '../../reports/model.js';
import { PeriodError, dayText, periodQuery, resolvePeriod } from '../../reports/period.js';
import { reportFont } from '../../reports/render/pdf.js';
import { listSendings, pdfName, sendingPdf } from '../../reports/sendings.js';
import { listStates, reportLink, reportZone } from '../../reports/service.js';

/** Who may open each report. The weekly report names pupils: safeguarding staff and IT only. */
export const REPORT_ROLES: Record<ReportKind, Role[]> = {
  weekly: ['admin', 'dsl'],
  board: ['admin', 'dsl', 'auditor'],
  annual: ['admin', 'dsl', 'auditor'],
};
/** Who may send a report now. */
const SENDERS: Role[] = ['admin', 'dsl'];

const NOTICES: Record<string, string> = { queued: 'The report is queued for sending; the record below shows when it is delivered.' };

function mayOpen(request: FastifyRequest, kind: ReportKind): boolean {
  return REPORT_ROLES[kind].includes(request.auth!.user.role);
}

function kindOf(request: FastifyRequest): ReportKind | undefined {
  const k = (request.params as { kind?: string }).kind;
  return REPORT_KINDS.find((x) => x === k);
}

function periodOf(ctx: AdminContext, kind: ReportKind, query: unknown) {
  const q = (query ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return resolvePeriod(kind, { from: text(q.from), to: text(q.to) }, ctx.now(), reportZone(ctx.config), ctx.config.reports.board.months);
}

function make(ctx: AdminContext, kind: ReportKind, period: { from: number; to: number }, format: ReportFormat): Promise<Made> {
  if (ctx.live.reports) return ctx.live.reports.make(kind, period, format);
  const lists = ctx.live.lists ? listStates(ctx.live.lists()) : null;
  const input = reportInput(ctx.config, kind, period, ctx.now(), lists);
  return makeReport(ctx.db, input, format, reportFont(ctx.config.reports.fontFile), reportLink(ctx.config, kind, period));
}

function denied(request: FastifyRequest, reply: FastifyReply) {
  const body = html`<p>Your role (${request.auth!.user.role}) may not open this report: it names pupils.</p><p><a href="/reports">Back to the reports</a></p>`;
  return reply
    .code(403)
    .type('text/html')
    .send(renderPage(request, { title: 'Not allowed', body }));
}

function sendingsTable(ctx: AdminContext, request: FastifyRequest) {
  if (!hasTables(ctx.db, 'report_sendings'))
    return html`<p class="unavailable">The record of sendings is not available: the database has not been migrated.</p>`;
  const zone = reportZone(ctx.config);
  const rows = listSendings(ctx.db, 100).filter((s) => mayOpen(request, s.report));
  if (rows.length === 0) return html`<p class="muted">No report has been sent yet.</p>`;
  return html`<table class="report-list" data-table="sendings">
    <thead><tr><th scope="col">#</th><th scope="col">Report</th><th scope="col">Period</th><th scope="col">Made</th><th scope="col">Asked by</th><th scope="col">Delivery</th><th scope="col">PDF</th></tr></thead>
    <tbody>${rows.map(
      (s) => html`<tr>
        <td>${s.id}</td><td>${REPORT_TITLES[s.report]}</td>
        <td>${dayText(s.from, zone)} to ${dayText(s.to - 1, zone)}</td>
        <td>${formatTime(s.createdAt, zone)}</td><td>${s.requestedBy}</td>
        <td>${
          s.deliveries.length === 0
            ? 'no channel configured'
            : s.deliveries.map(
                (d) =>
                  html`<div data-delivery="${d.deliveredAt === null ? 'waiting' : 'delivered'}">${d.channel}${d.channel === 'email' && s.recipients.length ? html` (${s.recipients.join(', ')})` : ''}: ${
                    d.deliveredAt === null
                      ? html`waiting, ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}${d.lastError ? html` (last: ${d.lastError})` : ''}`
                      : html`delivered ${formatTime(d.deliveredAt, zone)}`
                  }</div>`,
              )
        }</td>
        <td><a href="/reports/sendings/${s.id}/pdf">PDF</a></td>
      </tr>`,
    )}</tbody></table>`;
}

export const reportRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  app.get('/reports', { preHandler: requireUser }, async (request, reply) => {
    const zone = reportZone(ctx.config);
    const notice = NOTICES[String((request.query as Record<string, unknown>).notice ?? '')];
    const kinds = REPORT_KINDS.filter((k) => mayOpen(request, k));
    const body = html`${messages('notice', notice ? [notice] : [])}
      ${kinds.map((k) => {
        const p = periodOf(ctx, k, {});
        const r = ctx.config.reports[k];
        return html`<section class="card" data-report="${k}">
          <h2>${REPORT_TITLES[k]}</h2>
          <p><a href="/reports/${k}?${periodQuery(p, zone)}">${dayText(p.from, zone)} to ${dayText(p.to - 1, zone)}</a>
            · <a href="/reports/${k}/pdf?${periodQuery(p, zone)}">PDF</a> · <a href="/reports/${k}/csv?${periodQuery(p, zone)}">CSV</a></p>
          <p class="muted">${r.schedule ? html`Sent on the schedule "${r.schedule}" (${zone}) by ${r.channels.join(' and ')}.` : 'Not sent on a schedule (reports.' + k + '.schedule).'}</p>
          <form method="get" action="/reports/${k}" class="inline">
            <label>From <input type="date" name="from" value="${dayText(p.from, zone)}"></label>
            <label>To <input type="date" name="to" value="${dayText(p.to - 1, zone)}"></label>
            <button type="submit" class="secondary">Show</button>
          </form>
        </section>`;
      })}
      <section class="card"><h2>Sent reports</h2>${sendingsTable(ctx, request)}</section>`;
    return reply.type('text/html').send(renderPage(request, { title: 'Reports', body }));
  });

  app.get('/reports/sendings/:id/pdf', { preHandler: requireUser }, async (request, reply) => {
    const id = Number((request.params as { id: string }).id);
    const s = Number.isSafeInteger(id) && hasTables(ctx.db, 'report_sendings') ? sendingPdf(ctx.db, id) : undefined;
    if (!s) return reply.code(404).type('text/plain').send('No such sending.');
    if (!mayOpen(request, s.report)) return denied(request, reply);
    return reply
      .type('application/pdf')
      .header('Content-Disposition', `attachment; filename="${pdfName(s.report, s.from)}"`)
      .send(s.pdf);
  });

  async function report(request: FastifyRequest, reply: FastifyReply, format: 'body' | 'pdf' | 'csv') {
    const kind = kindOf(request);
    if (!kind) return reply.code(404).type('text/plain').send('No such report: weekly, board or annual.');
    if (!mayOpen(request, kind)) return denied(request, reply);
    let period;
    try {
      period = periodOf(ctx, kind, request.query);
    } catch (err) {
      if (!(err instanceof PeriodError)) throw err;
      const body = html`${messages('error', [err.message])}<p><a href="/reports">Back to the reports</a></p>`;
      return reply
        .code(400)
        .type('text/html')
        .send(renderPage(request, { title: REPORT_TITLES[kind], body }));
    }
    const made = await make(ctx, kind, period, format);
    const stamp = dayText(period.from, reportZone(ctx.config));
    if (made.format === 'pdf')
      return reply
        .type('application/pdf')
        .header('Content-Disposition', `attachment; filename="${pdfName(kind, period.from)}"`)
        .send(made.pdf);
    if (made.format === 'csv')
      return reply
        .type('text/csv; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="gatehouse-${kind}-${stamp}.csv"`)
        .send(made.text);
    if (made.format !== 'body') throw new Error('unexpected format');
    const q = periodQuery(period, reportZone(ctx.config));
    const canSend = SENDERS.includes(request.auth!.user.role);
    const body = html`<p class="no-print">
        <button type="button" class="secondary" data-print>Print</button>
        <a href="/reports/${kind}/pdf?${q}">PDF</a> · <a href="/reports/${kind}/csv?${q}">CSV of its tables</a> · <a href="/reports">All reports</a>
      </p>
      ${
        canSend
          ? html`<form method="post" action="/reports/${kind}/send" class="no-print inline">${csrfField(request)}
          <input type="hidden" name="from" value="${dayText(period.from, reportZone(ctx.config))}">
          <input type="hidden" name="to" value="${dayText(period.to - 1, reportZone(ctx.config))}">
          <button type="submit">Send now to ${ctx.config.reports[kind].recipients.join(', ') || 'the e-mail channel’s recipients'}</button></form>`
          : ''
      }
      ${trusted(made.text) /* reportBody's own html template, every value escaped there (render/html.ts) */}`;
    return reply.type('text/html').send(renderPage(request, { title: made.report.title, body, bodyClass: 'report-page' }));
  }

  app.get('/reports/:kind', { preHandler: requireUser }, (request, reply) => report(request, reply, 'body'));
  app.get('/reports/:kind/pdf', { preHandler: requireUser }, (request, reply) => report(request, reply, 'pdf'));
  app.get('/reports/:kind/csv', { preHandler: requireUser }, (request, reply) => report(request, reply, 'csv'));

  app.post('/reports/:kind/send', { preHandler: requireUser }, async (request, reply) => {
    const kind = kindOf(request);
    if (!kind) return reply.code(404).type('text/plain').send('No such report.');
    if (!mayOpen(request, kind) || !SENDERS.includes(request.auth!.user.role)) return denied(request, reply);
    if (!ctx.live.reports) {
      const body = html`<p class="unavailable">Sending needs the running service (its alert outbox); use <code>gatehouse report ${kind} --send</code>.</p>`;
      return reply
        .code(503)
        .type('text/html')
        .send(renderPage(request, { title: REPORT_TITLES[kind], body }));
    }
    let period;
    try {
      period = periodOf(ctx, kind, { from: field(request.body, 'from'), to: field(request.body, 'to') });
    } catch (err) {
      if (!(err instanceof PeriodError)) throw err;
      return reply
        .code(400)
        .type('text/html')
        .send(renderPage(request, { title: REPORT_TITLES[kind], body: messages('error', [err.message]) }));
    }
    const id = await ctx.live.reports.send(kind, period, request.auth!.user.name);
    ctx.logger.info({ report: kind, sending: id, by: request.auth!.user.name }, 'report sent from the admin UI');
    return reply.redirect('/reports?notice=queued');
  });
};
