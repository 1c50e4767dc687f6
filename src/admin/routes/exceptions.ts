// The Exceptions page: the allow and deny exceptions in force (from the
// governed policy, with the record of the change that made each), the block
// page's review requests waiting for IT, and the forms that ask for a new
// exception, a change of groups or a removal. Each of those is a change
// request (src/changes/): it changes nothing until an approver approves it.
import type { FastifyRequest } from 'fastify';
import { requireRole, requireUser } from '../auth.js';
import type { AdminRoutePlugin } from '../context.js';
import { html } from '../html.js';
import { formatTime } from '../views/time.js';
import { csrfField, renderPage } from '../views/layout.js';
import { groupBoxes, recordFields, requestButtons, requestTable } from '../views/changes.js';
import { actorFrom, opsFromJson, timeFromJson } from '../change-forms.js';
import { exceptionForm, mayEmergency, prefill, visible } from './changes.js';
import { ChangeError, changeErrorStatus } from '../../changes/errors.js';
import { requesters } from '../../identity/review-requests.js';
import { NOBODY } from '../../store/who.js';
import { whoHtml } from '../views/who.js';
import { DEFAULT_BACKOUT } from '../../changes/requests.js';
import { listRequests } from '../../changes/store.js';

const requireAdmin = requireRole('admin');

export const exceptionRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const reviewRequests = () =>
    listRequests(ctx.db, { status: ['draft'], limit: 500 }).filter((c) => c.source === 'block-page' && visible(ctx, c));

  // ?domain=&action=&group= fill in the form (the query log's "Allow for this group…"); nothing is saved until it is submitted.
  app.get('/exceptions', { preHandler: requireUser }, async (request: FastifyRequest, reply) => {
    const admin = request.auth!.user.role === 'admin';
    const now = ctx.now();
    const groups = ctx.config.groups.map((g) => g.name);
    const exceptions = [...ctx.changes.doc.exceptions].sort((a, b) => a.domain.localeCompare(b.domain) || a.id - b.id);
    const pending = reviewRequests();
    // Who asked, as far as identity knew then (read at render time: an erased person is gone).
    const askedBy = requesters(
      ctx.db,
      pending.map((c) => c.id),
    );
    const asking = listRequests(ctx.db, { status: ['submitted', 'approved'], limit: 200 }).filter(
      (c) => visible(ctx, c) && c.ops.some((o) => o.op.startsWith('exception')),
    );
    const body = html`${
      admin
        ? html`<section class="card"><h2>Ask for an exception</h2>
          <p>An allow or deny exception is a change request: it applies once an approver (head teacher or senior leader) approves it.</p>
          ${exceptionForm(ctx, request, 'add-exception', prefill(ctx, request.query))}</section>`
        : ''
    }
      <section><h2>Review requests from the block page (${pending.length})</h2>
      <p class="muted">IT confirms the site and its record, then submits it for approval.</p>
      ${requestTable('review-requests', pending, now, 'No requests waiting.', ctx.config.admin.timezone, (c) => whoHtml(request, askedBy.get(c.id) ?? NOBODY))}</section>
      <section><h2>Exception requests waiting for approval or their start (${asking.length})</h2>
      ${requestTable('exception-requests', asking, now, 'None.', ctx.config.admin.timezone)}</section>
      <section><h2>Exceptions in force (${exceptions.length})</h2>
      ${
        exceptions.length === 0
          ? html`<p class="muted">No exceptions.</p>`
          : html`<table class="responsive" id="exceptions"><thead><tr><th>Domain</th><th>Action</th><th>Groups</th><th>Requester</th><th>Subject area</th><th>Reason</th><th>Approver</th><th>Since</th><th></th></tr></thead>
          <tbody>${exceptions.map(
            (e) => html`<tr>
              <td data-label="Domain"><code>${e.domain}</code></td>
              <td data-label="Action"><span class="badge ${e.action}">${e.action}</span></td>
              <td data-label="Groups">${e.groups.join(', ')}</td>
              <td data-label="Requester">${e.requester}</td>
              <td data-label="Subject area">${e.subjectArea}</td>
              <td data-label="Reason">${e.reason}</td>
              <td data-label="Approver">${e.approver}</td>
              <td data-label="Since">${formatTime(e.createdAt, ctx.config.admin.timezone)} (<a href="/changes/${e.changeId}">#${e.changeId}</a>)${
                e.until !== undefined ? html`, until ${formatTime(e.until, ctx.config.admin.timezone)}` : ''
              }</td>
              <td>${
                admin
                  ? html`<details><summary>Change groups</summary>
                    <form method="post" action="/changes" class="stack" id="edit-exception-${e.id}">${csrfField(request)}
                      <input type="hidden" name="what" value="exception-groups"><input type="hidden" name="domain" value="${e.domain}">
                      <input type="hidden" name="action" value="${e.action}">
                      ${groupBoxes(groups, e.groups, `edit${e.id}`)}
                      ${recordFields({}, { backout: DEFAULT_BACKOUT }, ctx.config.admin.timezone)}
                      ${requestButtons(mayEmergency(ctx, request))}
                    </form></details>
                  <details><summary>Remove</summary>
                    <form method="post" action="/changes" class="stack" id="remove-exception-${e.id}">${csrfField(request)}
                      <input type="hidden" name="what" value="exception-remove"><input type="hidden" name="domain" value="${e.domain}">
                      <input type="hidden" name="action" value="${e.action}">
                      ${recordFields({}, { backout: DEFAULT_BACKOUT }, ctx.config.admin.timezone)}
                      ${requestButtons(mayEmergency(ctx, request))}
                    </form></details>`
                  : ''
              }</td>
            </tr>`,
          )}</tbody></table>`
      }
      </section>`;
    return reply.type('text/html').send(renderPage(request, { title: 'Exceptions', body }));
  });

  // ---- JSON API ----
  const exceptionSchema = {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      domain: { type: 'string' },
      action: { type: 'string', enum: ['allow', 'deny'] },
      groups: { type: 'array', items: { type: 'string' } },
      requester: { type: 'string' },
      subjectArea: { type: 'string' },
      reason: { type: 'string' },
      approver: { type: 'string' },
      changeId: { type: 'integer' },
      createdAt: { type: 'integer' },
      until: { type: 'integer' },
    },
  };
  const errorSchema = {
    type: 'object',
    properties: { error: { type: 'string' }, code: { type: 'string' }, problems: { type: 'array', items: { type: 'string' } } },
  };

  app.get(
    '/api/exceptions',
    {
      preHandler: requireUser,
      schema: { summary: 'Exceptions in force (the governed policy)', response: { 200: { type: 'array', items: exceptionSchema } } },
    },
    async () => ctx.changes.doc.exceptions,
  );

  app.post(
    '/api/exceptions',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Ask for an allow or deny exception: a change request, submitted for approval (it applies once approved)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['domain', 'action', 'groups', 'requester', 'subjectArea', 'reason'],
          properties: {
            domain: { type: 'string', maxLength: 253 },
            action: { type: 'string', enum: ['allow', 'deny'] },
            groups: { type: 'array', items: { type: 'string' }, minItems: 1 },
            requester: { type: 'string', maxLength: 200 },
            subjectArea: { type: 'string', maxLength: 200 },
            reason: { type: 'string', maxLength: 2000 },
            risk: { type: 'string', enum: ['low', 'medium', 'high'], default: 'low' },
            backout: { type: 'string', maxLength: 2000, default: DEFAULT_BACKOUT },
            startsAt: { type: ['string', 'null'] },
            endsAt: { type: ['string', 'null'] },
          },
        },
        response: {
          201: { type: 'object', additionalProperties: true },
          400: errorSchema,
          403: errorSchema,
          404: errorSchema,
          409: errorSchema,
          422: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const b = request.body as Record<string, unknown>;
      try {
        const c = ctx.changes.create(
          {
            ops: opsFromJson([{ op: 'exception-add', domain: b.domain, action: b.action, groups: b.groups }]),
            requester: b.requester as string,
            subjectArea: b.subjectArea as string,
            reason: b.reason as string,
            risk: b.risk as string,
            backout: b.backout as string,
            startsAt: timeFromJson(b.startsAt, 'startsAt'),
            endsAt: timeFromJson(b.endsAt, 'endsAt'),
            source: 'api',
            submit: true,
          },
          actorFrom(request),
        );
        return reply.code(201).send(c);
      } catch (err) {
        if (!(err instanceof ChangeError)) throw err;
        return reply.code(changeErrorStatus(err.code)).send({ error: err.message, code: err.code, problems: err.problems });
      }
    },
  );

  app.get(
    '/api/exception-requests',
    {
      preHandler: requireUser,
      schema: {
        summary: 'Review requests from the block page: draft change requests waiting for IT to confirm them',
        response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } },
      },
    },
    async () => reviewRequests(),
  );
};
