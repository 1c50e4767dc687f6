// The Exceptions page and /api/exceptions: allow or deny a domain for chosen
// groups, and the block page's review requests to approve or refuse.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requesters } from '../../identity/review-requests.js';
import { NOBODY } from '../../store/who.js';
import { whoHtml } from '../views/who.js';
import { actorOf, requireRole, requireUser } from '../auth.js';
import type { AdminContext, AdminRoutePlugin } from '../context.js';
import {
  addException,
  approveRequest,
  ExceptionError,
  listExceptions,
  refuseRequest,
  removeException,
  requestReference,
  updateException,
  visiblePendingRequests,
  type ExceptionEdit,
  type ExceptionInput,
  type RequestRow,
} from '../exceptions.js';
import { html, type SafeHtml } from '../html.js';
import { formatTime } from '../views/time.js';
import { field, fieldList } from '../security.js';
import { csrfField, messages, renderPage } from '../views/layout.js';

const NOTICES: Record<string, string> = {
  added: 'Exception saved. It applies to new queries within a second.',
  updated: 'Exception changed. It applies to new queries within a second.',
  removed: 'Exception removed.',
  approved: 'Request approved: the exception is saved and applies within a second.',
  refused: 'Request refused and recorded.',
};

const requireAdmin = requireRole('admin');

function formInput(body: unknown): ExceptionInput {
  return {
    domain: field(body, 'domain'),
    action: field(body, 'action'),
    groups: fieldList(body, 'groups'),
    requester: field(body, 'requester'),
    subjectArea: field(body, 'subjectArea'),
    reason: field(body, 'reason'),
    approver: field(body, 'approver'),
  };
}

/** Form values from the query string: only a known group and action, a domain as text (checked when saved). */
function prefill(ctx: AdminContext, query: unknown): Partial<ExceptionInput> {
  const q = (query ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof q[k] === 'string' ? (q[k] as string).trim().slice(0, 253) : '');
  const group = str('group');
  return {
    ...(str('domain') ? { domain: str('domain') } : {}),
    ...(str('action') === 'deny' || str('action') === 'allow' ? { action: str('action') } : {}),
    ...(ctx.config.groups.some((g) => g.name === group) ? { groups: [group] } : {}),
  };
}

function groupBoxes(ctx: AdminContext, chosen: string[], idPrefix: string): SafeHtml {
  return html`<fieldset class="groups"><legend>Groups</legend>${ctx.config.groups.map(
    (g) =>
      html`<label class="check"><input type="checkbox" name="groups" value="${g.name}" id="${idPrefix}-${g.name}"${
        chosen.includes(g.name) ? html` checked` : ''
      }> ${g.name}</label>`,
  )}</fieldset>`;
}

function recordFields(values: Partial<ExceptionInput>): SafeHtml {
  return html`<label>Requester <input name="requester" required maxlength="200" value="${values.requester ?? ''}"></label>
    <label>Subject area <input name="subjectArea" required maxlength="200" value="${values.subjectArea ?? ''}"></label>
    <label>Reason <textarea name="reason" required maxlength="2000" rows="2">${values.reason ?? ''}</textarea></label>
    <label>Approver <input name="approver" required maxlength="200" value="${values.approver ?? ''}"></label>`;
}

function requestRow(ctx: AdminContext, request: FastifyRequest, r: RequestRow, admin: boolean): SafeHtml {
  return html`<tr id="request-${r.id}">
    <td data-label="Reference"><strong>${requestReference(r.id)}</strong></td>
    <td data-label="Received">${formatTime(r.created_at, ctx.config.admin.timezone)}</td>
    <td data-label="Domain"><code>${r.domain}</code></td>
    <td data-label="Category">${r.category ?? ''}</td>
    <td data-label="Group">${r.group_name ?? ''}</td>
    <td data-label="From">${r.requester_name ?? ''} <span class="muted">${r.client_address ?? ''}</span> ${whoHtml(request, requesters(ctx.db, [r.id]).get(r.id) ?? NOBODY)}</td>
    <td data-label="Reason">${r.reason ?? ''}</td>
    <td>${
      admin
        ? html`<details><summary>Approve</summary>
          <form method="post" action="/exceptions/requests/${r.id}/approve" class="stack">${csrfField(request)}
            ${groupBoxes(ctx, r.group_name ? [r.group_name] : [], `req${r.id}`)}
            ${
              // The exception and its change-log row cannot be edited, so they never get a pupil's
              // name from here: the requester is the request's reference (which an erasure scrubs).
              recordFields({ requester: `review request ${requestReference(r.id)}`, reason: r.reason ?? '' })
            }
            <p class="muted">The change log cannot be edited or erased: leave pupils' names out of it.</p>
            <button type="submit">Approve and allow</button>
          </form></details>
          <details><summary>Refuse</summary>
          <form method="post" action="/exceptions/requests/${r.id}/refuse" class="stack">${csrfField(request)}
            <label>Note <input name="note" maxlength="2000"></label>
            <button type="submit" class="danger">Refuse</button>
          </form></details>`
        : ''
    }</td>
  </tr>`;
}

export const exceptionRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  function page(request: FastifyRequest, reply: FastifyReply, errors: string[] = [], values: Partial<ExceptionInput> = {}, status = 200) {
    const admin = request.auth!.user.role === 'admin';
    const notice = NOTICES[(request.query as Record<string, string>).done ?? ''];
    const pending = visiblePendingRequests(ctx);
    const exceptions = listExceptions(ctx.db);
    const body = html`${messages('error', errors)}${messages('notice', notice ? [notice] : [])}
      ${
        admin
          ? html`<section class="card"><h2>Add an exception</h2>
          <form method="post" action="/exceptions" class="grid-form" id="add-exception">${csrfField(request)}
            <label>Domain <input name="domain" required maxlength="253" placeholder="www.example.org" value="${values.domain ?? ''}" autocapitalize="none" spellcheck="false"></label>
            <fieldset class="actions"><legend>Action</legend>
              <label class="check"><input type="radio" name="action" value="allow"${values.action !== 'deny' ? html` checked` : ''}> allow</label>
              <label class="check"><input type="radio" name="action" value="deny"${values.action === 'deny' ? html` checked` : ''}> deny</label>
            </fieldset>
            ${groupBoxes(ctx, values.groups ?? [], 'add')}
            ${recordFields(values)}
            <button type="submit">Save exception</button>
          </form></section>`
          : ''
      }
      <section><h2>Pending requests (${pending.length})</h2>
      ${
        pending.length === 0
          ? html`<p class="muted">No requests waiting.</p>`
          : html`<table class="responsive" id="review-requests"><thead><tr><th>Reference</th><th>Received</th><th>Domain</th><th>Category</th><th>Group</th><th>From</th><th>Reason</th><th></th></tr></thead>
          <tbody>${pending.map((r) => requestRow(ctx, request, r, admin))}</tbody></table>`
      }
      </section>
      <section><h2>Exceptions in force (${exceptions.length})</h2>
      ${
        exceptions.length === 0
          ? html`<p class="muted">No exceptions.</p>`
          : html`<table class="responsive" id="exceptions"><thead><tr><th>Domain</th><th>Action</th><th>Groups</th><th>Requester</th><th>Subject area</th><th>Reason</th><th>Approver</th><th>Added</th><th></th></tr></thead>
          <tbody>${exceptions.map(
            (e) => html`<tr>
              <td data-label="Domain"><code>${e.domain}</code></td>
              <td data-label="Action"><span class="badge ${e.action}">${e.action}</span></td>
              <td data-label="Groups">${e.groups.join(', ')}</td>
              <td data-label="Requester">${e.requester}</td>
              <td data-label="Subject area">${e.subjectArea}</td>
              <td data-label="Reason">${e.reason}</td>
              <td data-label="Approver">${e.approver}</td>
              <td data-label="Added">${formatTime(e.createdAt, ctx.config.admin.timezone)} by ${e.createdBy}</td>
              <td>${
                admin
                  ? html`<details><summary>Change</summary>
                    <form method="post" action="/exceptions/${e.id}" class="stack" id="edit-exception-${e.id}">${csrfField(request)}
                      ${groupBoxes(ctx, e.groups, `edit${e.id}`)}
                      ${recordFields(e)}
                      <button type="submit">Save changes</button>
                    </form></details>
                  <form method="post" action="/exceptions/${e.id}/delete" class="inline" data-confirm="Remove this exception?">${csrfField(request)}
                    <input name="reason" placeholder="reason for removal" maxlength="2000" aria-label="Reason for removal">
                    <button type="submit" class="danger">Remove</button></form>`
                  : ''
              }</td>
            </tr>`,
          )}</tbody></table>`
      }
      </section>`;
    return reply
      .code(status)
      .type('text/html')
      .send(renderPage(request, { title: 'Exceptions', body }));
  }

  /** A well-formed request the policy can never honour: an illegal name allowed, a help service denied. */
  const unprocessable = (err: ExceptionError) => err.code === 'GH_ERR_EXCEPTION_ILLEGAL' || err.code === 'GH_ERR_EXCEPTION_HELP_SERVICE';

  /** Run a change; on a validation problem show the page again with the messages. */
  async function formAction(
    request: FastifyRequest,
    reply: FastifyReply,
    done: string,
    action: () => void,
    values: Partial<ExceptionInput> = {},
  ) {
    try {
      action();
    } catch (err) {
      if (!(err instanceof ExceptionError)) throw err;
      const status = err.code === 'GH_ERR_EXCEPTION_NOT_FOUND' ? 404 : unprocessable(err) ? 422 : 400;
      return page(request, reply, err.problems, values, status);
    }
    return reply.redirect(`/exceptions?done=${done}`);
  }

  const idParam = (request: FastifyRequest) => Number((request.params as { id: string }).id);

  // ?domain=&action=&group= fill in the form (the query log's "Allow for this group…"); nothing is saved until it is submitted.
  app.get('/exceptions', { preHandler: requireUser }, async (request, reply) => page(request, reply, [], prefill(ctx, request.query)));

  app.post('/exceptions', { preHandler: requireAdmin }, async (request, reply) => {
    const input = formInput(request.body);
    return formAction(request, reply, 'added', () => addException(ctx, input, actorOf(request)), input);
  });

  app.post('/exceptions/:id', { preHandler: requireAdmin }, async (request, reply) => {
    const { domain: _domain, action: _action, ...edit } = formInput(request.body);
    return formAction(request, reply, 'updated', () => updateException(ctx, idParam(request), edit, actorOf(request)));
  });

  app.post('/exceptions/:id/delete', { preHandler: requireAdmin }, async (request, reply) =>
    formAction(request, reply, 'removed', () => removeException(ctx, idParam(request), actorOf(request), field(request.body, 'reason'))),
  );

  app.post('/exceptions/requests/:id/approve', { preHandler: requireAdmin }, async (request, reply) => {
    const input = formInput(request.body);
    return formAction(request, reply, 'approved', () => approveRequest(ctx, idParam(request), input, actorOf(request)));
  });

  app.post('/exceptions/requests/:id/refuse', { preHandler: requireAdmin }, async (request, reply) =>
    formAction(request, reply, 'refused', () => refuseRequest(ctx, idParam(request), field(request.body, 'note'), actorOf(request))),
  );

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
      createdBy: { type: 'string' },
      createdAt: { type: 'integer' },
    },
  };
  const errorSchema = {
    type: 'object',
    properties: { error: { type: 'string' }, code: { type: 'string' }, problems: { type: 'array', items: { type: 'string' } } },
  };
  const recordProps = {
    groups: { type: 'array', items: { type: 'string' }, minItems: 1 },
    requester: { type: 'string', maxLength: 200 },
    subjectArea: { type: 'string', maxLength: 200 },
    reason: { type: 'string', maxLength: 2000 },
    approver: { type: 'string', maxLength: 200 },
  };
  const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] };

  function apiError(reply: FastifyReply, err: unknown) {
    if (!(err instanceof ExceptionError)) throw err;
    const status =
      err.code === 'GH_ERR_EXCEPTION_NOT_FOUND' ? 404 : unprocessable(err) ? 422 : err.code === 'GH_ERR_EXCEPTION_DUPLICATE' ? 409 : 400;
    return reply.code(status).send({ error: err.message, code: err.code, problems: err.problems });
  }

  app.get(
    '/api/exceptions',
    {
      preHandler: requireUser,
      schema: { summary: 'Exceptions in force', response: { 200: { type: 'array', items: exceptionSchema } } },
    },
    async () => listExceptions(ctx.db),
  );

  app.post(
    '/api/exceptions',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Add an allow or deny exception (takes effect within a second)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['domain', 'action', 'groups', 'requester', 'subjectArea', 'reason', 'approver'],
          properties: { domain: { type: 'string', maxLength: 253 }, action: { type: 'string', enum: ['allow', 'deny'] }, ...recordProps },
        },
        response: { 201: exceptionSchema, 400: errorSchema, 409: errorSchema, 422: errorSchema },
      },
    },
    async (request, reply) => {
      try {
        return reply.code(201).send(addException(ctx, request.body as ExceptionInput, actorOf(request)));
      } catch (err) {
        return apiError(reply, err);
      }
    },
  );

  app.put(
    '/api/exceptions/:id',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Change the groups and record of an exception (the domain and action stay; takes effect within a second)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['groups', 'requester', 'subjectArea', 'reason', 'approver'],
          properties: recordProps,
        },
        response: { 200: exceptionSchema, 400: errorSchema, 404: errorSchema, 422: errorSchema },
      },
    },
    async (request, reply) => {
      try {
        return updateException(ctx, (request.params as { id: number }).id, request.body as ExceptionEdit, actorOf(request));
      } catch (err) {
        return apiError(reply, err);
      }
    },
  );

  app.delete(
    '/api/exceptions/:id',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Remove an exception',
        params: idParams,
        querystring: { type: 'object', properties: { reason: { type: 'string', maxLength: 2000 } } },
        response: { 204: { type: 'null' }, 404: errorSchema },
      },
    },
    async (request, reply) => {
      try {
        removeException(ctx, (request.params as { id: number }).id, actorOf(request), (request.query as { reason?: string }).reason ?? '');
        return reply.code(204).send();
      } catch (err) {
        return apiError(reply, err);
      }
    },
  );

  const requestSchema = {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      domain: { type: 'string' },
      category: { type: ['string', 'null'] },
      group_name: { type: ['string', 'null'] },
      client_address: { type: ['string', 'null'] },
      requester_name: { type: ['string', 'null'] },
      reason: { type: ['string', 'null'] },
      created_at: { type: 'integer' },
      status: { type: 'string' },
    },
  };

  app.get(
    '/api/exception-requests',
    {
      preHandler: requireUser,
      schema: { summary: 'Pending review requests from the block page', response: { 200: { type: 'array', items: requestSchema } } },
    },
    async () => visiblePendingRequests(ctx),
  );

  app.post(
    '/api/exception-requests/:id/approve',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Approve a request: it becomes an allow exception',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['groups', 'requester', 'subjectArea', 'reason', 'approver'],
          properties: recordProps,
        },
        response: { 201: exceptionSchema, 400: errorSchema, 404: errorSchema, 409: errorSchema, 422: errorSchema },
      },
    },
    async (request, reply) => {
      try {
        const body = request.body as Omit<ExceptionInput, 'domain' | 'action'>;
        return reply.code(201).send(approveRequest(ctx, (request.params as { id: number }).id, body, actorOf(request)));
      } catch (err) {
        return apiError(reply, err);
      }
    },
  );

  app.post(
    '/api/exception-requests/:id/refuse',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Refuse a request (recorded in the change log)',
        params: idParams,
        body: { type: 'object', additionalProperties: false, properties: { note: { type: 'string', maxLength: 2000 } } },
        response: { 204: { type: 'null' }, 404: errorSchema },
      },
    },
    async (request, reply) => {
      try {
        refuseRequest(
          ctx,
          (request.params as { id: number }).id,
          (request.body as { note?: string } | undefined)?.note ?? '',
          actorOf(request),
        );
        return reply.code(204).send();
      } catch (err) {
        return apiError(reply, err);
      }
    },
  );
};
