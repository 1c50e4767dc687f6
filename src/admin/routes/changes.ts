// Change requests: the list (waiting for approval, drafts, emergencies to
// review, scheduled, temporary, recent), a form for each kind of change, and
// one page per request with its before/after in plain words, its record, its
// history from the change log and the steps the viewer may take. The JSON API
// under /api/changes does the same. Every step goes through src/changes/,
// which enforces four eyes whatever the route.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireRole, requireUser } from '../auth.js';
import { changesOf } from '../changelog.js';
import type { AdminContext, AdminRoutePlugin } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { formatTime } from '../views/time.js';
import { field } from '../security.js';
import { csrfField, messages, renderPage } from '../views/layout.js';
import {
  describedTable,
  flags,
  groupBoxes,
  isOverdue,
  recordFields,
  requestButtons,
  requestRecord,
  requestTable,
  type RecordValues,
} from '../views/changes.js';

/** What a request form is filled in with. */
export type FormValues = RecordValues & {
  domain?: string;
  action?: string;
  groups?: string[];
  /** A roster group mapping's attribute and value (the mapping form). */
  attribute?: string;
  value?: string;
};
import { actorFrom, opsFromForm, opsFromJson, recordFrom, timeFromJson, timesFrom } from '../change-forms.js';
import { ChangeError, changeErrorStatus } from '../../changes/errors.js';
import { DEFAULT_BACKOUT } from '../../changes/requests.js';
import {
  getRequest,
  listRequests,
  mustGetRequest,
  unreviewedEmergencies,
  type ChangeRequest,
  type ChangeStatus,
} from '../../changes/store.js';
import type { ChangeOp } from '../../changes/operations.js';
import type { GroupMapping } from '../../identity/config.js';
import { MAPPING_ATTRIBUTES, mappingMatch, mappingWords } from '../../identity/groups.js';

const requireAdmin = requireRole('admin');
const requireApprover = requireRole('approver');
const requireReverter = requireRole('admin', 'approver');

const NOTICES: Record<string, string> = {
  submitted: 'Submitted: it waits for an approver, and changes nothing until it is approved.',
  draft: 'Saved as a draft. Submit it when it is ready.',
  emergency: 'Applied at once as an emergency. The approvers and the DSL have been told; an approver must review it.',
  approved: 'Approved.',
  refused: 'Refused and recorded.',
  withdrawn: 'Withdrawn.',
  reverted: 'Reverted: the change below undoes it, and is in force now.',
  reviewed: 'Review recorded.',
};

/** Whether the viewer may apply an emergency change (changeControl.emergencyAdmins). */
export function mayEmergency(ctx: AdminContext, request: FastifyRequest): boolean {
  const user = request.auth?.user;
  return (
    !!user && user.role === 'admin' && ctx.config.changeControl.emergencyAdmins.some((n) => n.toLowerCase() === user.name.toLowerCase())
  );
}

/** A block-page draft about a name on an illegal list is never shown (the list entries stay secret). */
export function visible(ctx: AdminContext, c: ChangeRequest): boolean {
  if (c.category && ctx.config.categories.some((k) => k.id === c.category && k.illegal)) return false;
  return !c.ops.some((o) => 'domain' in o && ctx.isIllegal?.(o.domain));
}

/** Values a form is filled in with from the query string (the query log's "Allow for this group…"); nothing is saved by a GET. */
export function prefill(ctx: AdminContext, query: unknown): FormValues {
  const q = (query ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof q[k] === 'string' ? (q[k] as string).trim().slice(0, 253) : '');
  const group = str('group');
  const attribute = str('attribute');
  return {
    ...((MAPPING_ATTRIBUTES as readonly string[]).includes(attribute) ? { attribute } : {}),
    ...(str('value') ? { value: str('value') } : {}),
    ...(str('domain') ? { domain: str('domain') } : {}),
    ...(str('action') === 'deny' || str('action') === 'allow' ? { action: str('action') } : {}),
    ...(ctx.config.groups.some((g) => g.name === group) ? { groups: [group] } : {}),
  };
}

/** The form that asks to allow or deny a site (here, and on the Exceptions page as #add-exception). */
export function exceptionForm(ctx: AdminContext, request: FastifyRequest, id: string, values: FormValues): SafeHtml {
  return html`<form method="post" action="/changes" class="grid-form" id="${id}">${csrfField(request)}
    <input type="hidden" name="what" value="exception">
    <label>Domain <input name="domain" required maxlength="253" placeholder="www.example.org" value="${values.domain ?? ''}" autocapitalize="none" spellcheck="false"></label>
    <fieldset class="actions"><legend>Action</legend>
      <label class="check"><input type="radio" name="action" value="allow"${values.action !== 'deny' ? html` checked` : ''}> allow</label>
      <label class="check"><input type="radio" name="action" value="deny"${values.action === 'deny' ? html` checked` : ''}> deny</label>
    </fieldset>
    ${groupBoxes(
      ctx.config.groups.map((g) => g.name),
      values.groups ?? [],
      id === 'add-exception' ? 'add' : id,
    )}
    ${recordFields(values, { backout: DEFAULT_BACKOUT }, ctx.config.admin.timezone)}
    ${requestButtons(mayEmergency(ctx, request))}
  </form>`;
}

const ATTRIBUTE_LABELS: Record<(typeof MAPPING_ATTRIBUTES)[number], string> = {
  orgUnit: 'org unit (and the units below it)',
  role: 'role',
  yearGroup: 'year group',
};

/** The roster group mappings in force; `editable`: each with a link that fills the change-request form in to change it. */
export function mappingTable(mappings: readonly GroupMapping[], editable = true): SafeHtml {
  if (mappings.length === 0)
    return html`<p class="muted" id="mappings">No roster group mappings: people are filtered by their network’s group.</p>`;
  return html`<table class="responsive" id="mappings"><thead><tr><th>People with</th><th>Filtered as</th><th></th></tr></thead>
    <tbody>${mappings.map((m) => {
      const { attribute, value } = mappingMatch(m);
      const query = new URLSearchParams({ attribute, value }).toString();
      return html`<tr><td data-label="People with">${mappingWords(m)}</td><td data-label="Filtered as">${m.group}</td>
        <td>${editable ? html`<a href="/changes/new?${query}#new-mapping">change or remove</a>` : ''}</td></tr>`;
    })}</tbody></table>`;
}

/** The form that asks to add, move or remove a roster group mapping. */
function mappingForm(ctx: AdminContext, request: FastifyRequest, values: FormValues): SafeHtml {
  const mappings = ctx.changes.doc.identityGroups;
  const chosen = values.attribute ?? 'orgUnit';
  const current = mappings.find((m) => {
    const { attribute, value } = mappingMatch(m);
    return attribute === chosen && value === values.value;
  })?.group;
  return html`<section class="card"><h2>Roster group mappings</h2>
      <p>Which group a person the roster knows is filtered as, wherever identity puts them (<code>identity.precedence</code>).
        An org unit covers the units below it and the longest path wins; then the role, then the year group.</p>
      ${mappingTable(mappings)}
      <form method="post" action="/changes" class="grid-form" id="new-mapping">${csrfField(request)}
        <input type="hidden" name="what" value="mapping">
        <label>Roster attribute <select name="attribute">${MAPPING_ATTRIBUTES.map(
          (a) => html`<option value="${a}"${a === chosen ? html` selected` : ''}>${ATTRIBUTE_LABELS[a]}</option>`,
        )}</select></label>
        <label>Value (as the roster has it) <input name="value" required maxlength="256" placeholder="/Students/Year 9" value="${values.value ?? ''}" autocapitalize="none" spellcheck="false"></label>
        <label>Filtered as <select name="group">${ctx.changes.doc.groups.map(
          (g) => html`<option value="${g.name}"${g.name === current ? html` selected` : ''}>${g.name}</option>`,
        )}<option value="">no group: remove the mapping (their network’s group applies)</option></select></label>
        ${recordFields(values, { backout: DEFAULT_BACKOUT }, ctx.config.admin.timezone)}
        ${requestButtons(mayEmergency(ctx, request))}
      </form></section>`;
}

function newForms(ctx: AdminContext, request: FastifyRequest, values: FormValues): SafeHtml {
  const groups = ctx.config.groups.map((g) => g.name);
  const categories = ctx.config.categories.filter((c) => !c.illegal);
  const groupSelect = html`<label>Group <select name="group">${groups.map((g) => html`<option value="${g}">${g}</option>`)}</select></label>`;
  const record = recordFields(values, { backout: DEFAULT_BACKOUT }, ctx.config.admin.timezone);
  const buttons = requestButtons(mayEmergency(ctx, request));
  return html`<section class="card"><h2>Allow or deny a site</h2>${exceptionForm(ctx, request, 'new-exception', values)}</section>
    <section class="card"><h2>Change what groups block</h2>
      <form method="post" action="/changes" class="grid-form" id="new-category">${csrfField(request)}
        <input type="hidden" name="what" value="category">
        <label>Category <select name="category">${categories.map((c) => html`<option value="${c.id}">${c.name}</option>`)}</select></label>
        <fieldset class="actions"><legend>Change</legend>
          <label class="check"><input type="radio" name="change" value="block" checked> block it</label>
          <label class="check"><input type="radio" name="change" value="unblock"> stop blocking it</label>
        </fieldset>
        ${groupBoxes(groups, [], 'cat')}
        <p class="muted">Illegal content (IWF, CTIRU) is always blocked and is not in this list.</p>
        ${record}${buttons}
      </form></section>
    <section class="card"><h2>Safe search</h2>
      <form method="post" action="/changes" class="grid-form" id="new-safe-search">${csrfField(request)}
        <input type="hidden" name="what" value="safe-search">
        ${groupSelect}
        <fieldset class="actions"><legend>Force safe search on</legend>
          <label class="check"><input type="checkbox" name="google"> Google</label>
          <label class="check"><input type="checkbox" name="bing"> Bing</label>
          <label class="check"><input type="checkbox" name="duckduckgo"> DuckDuckGo</label>
        </fieldset>
        <label>YouTube <select name="youtube"><option value="off">off</option><option value="moderate">moderate</option><option value="strict">strict</option></select></label>
        ${record}${buttons}
      </form></section>
    ${mappingForm(ctx, request, values)}
    <section class="card"><h2>Switch filtering off for a while</h2>
      <p>For a group, a network (an exam room, or one device as a /32) or a person, always until an end time, always approved first. Illegal content stays blocked.</p>
      <form method="post" action="/changes" class="grid-form" id="new-switch-off">${csrfField(request)}
        <input type="hidden" name="what" value="switch-off">
        <fieldset class="actions"><legend>Switch off for</legend>
          <label class="check"><input type="radio" name="target" value="group" checked> a group</label>
          <label class="check"><input type="radio" name="target" value="network"> a network</label>
          <label class="check"><input type="radio" name="target" value="person"> a person</label>
        </fieldset>
        ${groupSelect}
        <label>Network <input name="network" placeholder="10.1.5.0/24" maxlength="64" autocapitalize="none" spellcheck="false"></label>
        <label>Person (user name) <input name="person" maxlength="200" autocapitalize="none"></label>
        ${record}
        <div class="buttons"><button type="submit" name="submit" value="submit">Submit for approval</button>
          <button type="submit" name="submit" value="draft" class="secondary">Save as draft</button></div>
      </form></section>`;
}

function actionsFor(ctx: AdminContext, request: FastifyRequest, c: ChangeRequest): SafeHtml {
  const user = request.auth!.user;
  const form = (path: string, id: string, label: string, inner: SafeHtml | string = '', cls = '') =>
    html`<form method="post" action="/changes/${c.id}/${path}" class="stack" id="${id}">${csrfField(request)}${inner}
      <button type="submit"${cls ? html` class="${cls}"` : ''}>${label}</button></form>`;
  const note = (name: string, label: string, required = false) =>
    html`<label>${label} <input name="${name}" maxlength="2000"${required ? html` required` : ''}></label>`;
  const parts: SafeHtml[] = [];
  const own = user.id === c.createdById || user.id === c.submittedById;
  if (user.role === 'approver' && c.status === 'submitted') {
    if (own) parts.push(html`<p class="muted" id="own-request">You asked for this change, so another approver must decide it.</p>`);
    else {
      parts.push(form('approve', 'approve-form', 'Approve', note('note', 'Note (optional)')));
      parts.push(form('refuse', 'refuse-form', 'Refuse', note('note', 'Why'), 'danger'));
    }
  }
  if (user.role === 'approver' && c.emergency && c.decision === null && !own) {
    parts.push(
      form(
        'review',
        'review-approve-form',
        'Approve this emergency change',
        html`<input type="hidden" name="decision" value="approve">${note('note', 'Note (optional)')}`,
      ),
    );
    parts.push(
      form(
        'review',
        'review-refuse-form',
        'Refuse it (it is reverted at once)',
        html`<input type="hidden" name="decision" value="refuse">${note('note', 'Why', true)}`,
        'danger',
      ),
    );
  }
  if (user.role === 'admin' && c.status === 'draft') {
    parts.push(editForm(ctx, request, c));
  }
  if (user.role === 'admin' && (c.status === 'draft' || c.status === 'submitted')) {
    if (mayEmergency(ctx, request)) parts.push(form('emergency', 'emergency-form', 'Apply now as an emergency', '', 'danger'));
    parts.push(form('withdraw', 'withdraw-form', 'Withdraw', note('note', 'Why (optional)'), 'secondary'));
  }
  if ((user.role === 'admin' || user.role === 'approver') && c.status === 'applied') {
    parts.push(form('revert', 'revert-form', 'Revert this change', note('reason', 'Why', true), 'danger'));
  }
  return parts.length ? html`<section class="card actions-card"><h2>What you can do</h2>${parts}</section>` : html``;
}

/** Confirming a draft (a block-page request): the site, the groups and the record; submitting it. */
function editForm(ctx: AdminContext, request: FastifyRequest, c: ChangeRequest): SafeHtml {
  const only = c.ops.length === 1 ? c.ops[0] : undefined;
  const site =
    only?.op === 'exception-add'
      ? html`<input type="hidden" name="what" value="exception">
        <label>Domain (confirm the site) <input name="domain" required maxlength="253" value="${only.domain}" autocapitalize="none" spellcheck="false"></label>
        <input type="hidden" name="action" value="${only.action}">
        ${groupBoxes(
          ctx.config.groups.map((g) => g.name),
          only.groups,
          `edit${c.id}`,
        )}`
      : html`<input type="hidden" name="what" value="">`;
  return html`<form method="post" action="/changes/${c.id}/edit" class="grid-form" id="edit-form">${csrfField(request)}
    ${site}
    ${recordFields(c, { backout: DEFAULT_BACKOUT }, ctx.config.admin.timezone)}
    <div class="buttons"><button type="submit" name="submit" value="submit">Confirm and submit for approval</button>
      <button type="submit" name="submit" value="draft" class="secondary">Save</button></div>
  </form>`;
}

function history(ctx: AdminContext, c: ChangeRequest): SafeHtml {
  const rows = changesOf(ctx.db, 'change', c.id);
  return html`<table class="responsive" id="change-history"><thead><tr><th>#</th><th>When</th><th>Who</th><th>Step</th></tr></thead>
    <tbody>${rows.map(
      (
        r,
      ) => html`<tr><td data-label="#">${r.id}</td><td data-label="When">${formatTime(r.at, ctx.config.admin.timezone)}</td><td data-label="Who">${r.actor}</td>
        <td data-label="Step">${r.action}</td></tr>`,
    )}</tbody></table>`;
}

export const changeRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const idOf = (request: FastifyRequest) => Number((request.params as { id: string }).id);

  function listPage(request: FastifyRequest, reply: FastifyReply) {
    const now = ctx.now();
    const notice = NOTICES[(request.query as Record<string, string>).done ?? ''];
    const by = (...s: ChangeStatus[]) => listRequests(ctx.db, { status: s, limit: 500 }).filter((c) => visible(ctx, c));
    const emergencies = unreviewedEmergencies(ctx.db);
    const applied = by('applied');
    const recent = listRequests(ctx.db, { limit: 50 }).filter(
      (c) => visible(ctx, c) && !['draft', 'submitted', 'approved'].includes(c.status),
    );
    const admin = request.auth!.user.role === 'admin';
    const body = html`${messages('notice', notice ? [notice] : [])}
      ${admin ? html`<p><a class="button" href="/changes/new" id="new-change">New change request</a></p>` : ''}
      <section><h2>Waiting for an approver</h2>${requestTable('waiting', by('submitted'), now, 'Nothing waits for approval.', ctx.config.admin.timezone)}</section>
      <section><h2>Emergency changes to review</h2>${requestTable('emergencies', emergencies, now, 'No emergency change waits for review.', ctx.config.admin.timezone)}</section>
      <section><h2>Drafts (block-page requests and saved drafts, waiting for IT)</h2>${requestTable('drafts', by('draft'), now, 'No drafts.', ctx.config.admin.timezone)}</section>
      <section><h2>Approved, applying at their start time</h2>${requestTable('scheduled', by('approved'), now, 'None.', ctx.config.admin.timezone)}</section>
      <section><h2>Temporary changes in force</h2>${requestTable(
        'temporary',
        applied.filter((c) => c.endsAt !== null),
        now,
        'None.',
        ctx.config.admin.timezone,
      )}</section>
      <section><h2>Recent</h2>${requestTable('recent', recent, now, 'None yet.', ctx.config.admin.timezone)}</section>`;
    return reply.type('text/html').send(renderPage(request, { title: 'Change requests', body }));
  }

  function newPage(request: FastifyRequest, reply: FastifyReply, errors: string[] = [], values: FormValues = {}, status = 200) {
    const body = html`${messages('error', errors)}
      <p>A change to what is filtered is a request: an approver (head teacher or senior leader) approves it before it applies,
      and the change log records every step. It can be temporary: give an end time and it undoes itself then.</p>
      ${newForms(ctx, request, { ...prefill(ctx, request.query), ...values })}`;
    return reply
      .code(status)
      .type('text/html')
      .send(renderPage(request, { title: 'New change request', body }));
  }

  function detailPage(request: FastifyRequest, reply: FastifyReply, c: ChangeRequest, errors: string[] = [], status = 200) {
    const now = ctx.now();
    const notice = NOTICES[(request.query as Record<string, string>).done ?? ''];
    const applying =
      c.status === 'approved' && c.startsAt !== null ? ` It applies at ${formatTime(c.startsAt, ctx.config.admin.timezone)}.` : '';
    const body = html`${messages('error', errors)}${messages('notice', notice ? [notice + applying] : [])}
      <p class="summary" id="change-summary">${c.summary}${flags(c, now)}</p>
      ${isOverdue(c, now) ? html`<p class="error" role="alert" id="overdue">This emergency change was due for an approver’s review by ${formatTime(c.reviewDueAt, ctx.config.admin.timezone)}.</p>` : ''}
      <h2>What changes</h2>${describedTable(c.described)}
      <h2>Record</h2>${requestRecord(c, now, ctx.config.admin.timezone)}
      ${actionsFor(ctx, request, c)}
      <h2>History</h2>${history(ctx, c)}`;
    return reply
      .code(status)
      .type('text/html')
      .send(renderPage(request, { title: `Change request #${c.id}`, body }));
  }

  /** Run a step from a form; a ChangeError shows the page again with its problems. */
  async function step(request: FastifyRequest, reply: FastifyReply, done: string, run: () => ChangeRequest) {
    const id = idOf(request);
    let c: ChangeRequest;
    try {
      c = run();
    } catch (err) {
      if (!(err instanceof ChangeError)) throw err;
      const shown = getRequest(ctx.db, id);
      if (!shown || !visible(ctx, shown)) return reply.code(404).type('text/plain').send('No such change request.\n');
      return detailPage(request, reply, shown, err.problems, changeErrorStatus(err.code));
    }
    return reply.redirect(`/changes/${c.id}?done=${done}`);
  }

  app.get('/changes', { preHandler: requireUser }, async (request, reply) => listPage(request, reply));
  app.get('/changes/new', { preHandler: requireAdmin }, async (request, reply) => newPage(request, reply));

  app.post('/changes', { preHandler: requireAdmin }, async (request, reply) => {
    const body = request.body;
    const mode = field(body, 'submit');
    const values = {
      ...recordFrom(body),
      ...timesFrom(body, ctx.now(), ctx.config.admin.timezone),
      domain: field(body, 'domain'),
      action: field(body, 'action'),
      attribute: field(body, 'attribute'),
      value: field(body, 'value'),
    };
    try {
      const actor = actorFrom(request);
      const created = ctx.changes.create(
        {
          ops: opsFromForm(body),
          ...recordFrom(body),
          ...timesFrom(body, ctx.now(), ctx.config.admin.timezone),
          source: 'ui',
          submit: mode === 'submit',
        },
        actor,
      );
      if (mode === 'emergency') {
        ctx.changes.emergency(created.id, actor);
        return reply.redirect(`/changes/${created.id}?done=emergency`);
      }
      return reply.redirect(`/changes/${created.id}?done=${mode === 'submit' ? 'submitted' : 'draft'}`);
    } catch (err) {
      if (!(err instanceof ChangeError)) throw err;
      return newPage(request, reply, err.problems, values, changeErrorStatus(err.code));
    }
  });

  app.get('/changes/:id', { preHandler: requireUser }, async (request, reply) => {
    const c = getRequest(ctx.db, idOf(request));
    if (!c || !visible(ctx, c)) return reply.code(404).type('text/plain').send('No such change request.\n');
    return detailPage(request, reply, c);
  });

  app.post('/changes/:id/edit', { preHandler: requireAdmin }, async (request, reply) => {
    const body = request.body;
    const submit = field(body, 'submit') === 'submit';
    return step(request, reply, submit ? 'submitted' : 'draft', () => {
      const c = mustGetRequest(ctx.db, idOf(request));
      const ops: ChangeOp[] = field(body, 'what') ? opsFromForm(body) : c.ops;
      return ctx.changes.update(
        c.id,
        { ops, ...recordFrom(body), ...timesFrom(body, ctx.now(), ctx.config.admin.timezone), submit },
        actorFrom(request),
      );
    });
  });
  app.post('/changes/:id/withdraw', { preHandler: requireAdmin }, async (request, reply) =>
    step(request, reply, 'withdrawn', () => ctx.changes.withdraw(idOf(request), actorFrom(request), field(request.body, 'note'))),
  );
  app.post('/changes/:id/approve', { preHandler: requireApprover }, async (request, reply) =>
    step(request, reply, 'approved', () => ctx.changes.approve(idOf(request), actorFrom(request), field(request.body, 'note'))),
  );
  app.post('/changes/:id/refuse', { preHandler: requireApprover }, async (request, reply) =>
    step(request, reply, 'refused', () => ctx.changes.refuse(idOf(request), actorFrom(request), field(request.body, 'note'))),
  );
  app.post('/changes/:id/emergency', { preHandler: requireAdmin }, async (request, reply) =>
    step(request, reply, 'emergency', () => ctx.changes.emergency(idOf(request), actorFrom(request))),
  );
  app.post('/changes/:id/revert', { preHandler: requireReverter }, async (request, reply) =>
    step(request, reply, 'reverted', () => ctx.changes.revert(idOf(request), actorFrom(request), field(request.body, 'reason'))),
  );
  app.post('/changes/:id/review', { preHandler: requireApprover }, async (request, reply) =>
    step(request, reply, 'reviewed', () =>
      ctx.changes.review(
        idOf(request),
        actorFrom(request),
        field(request.body, 'decision') === 'refuse' ? 'refuse' : 'approve',
        field(request.body, 'note'),
      ),
    ),
  );

  // ---- JSON API ----
  const text = { type: ['string', 'null'] };
  const num = { type: ['integer', 'null'] };
  const changeSchema = {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      kind: { type: 'string' },
      status: { type: 'string' },
      source: { type: 'string' },
      summary: { type: 'string' },
      ops: { type: 'array', items: { type: 'object', additionalProperties: true } },
      described: { type: 'array', items: { type: 'object', additionalProperties: true } },
      groups: { type: 'array', items: { type: 'string' } },
      requester: text,
      subjectArea: text,
      reason: text,
      risk: text,
      backout: text,
      startsAt: num,
      endsAt: num,
      createdBy: { type: 'string' },
      createdAt: { type: 'integer' },
      submittedBy: text,
      decision: text,
      decidedBy: text,
      decidedAt: num,
      emergency: { type: 'boolean' },
      reviewDueAt: num,
      appliedAt: num,
      policyVersion: num,
      endedAt: num,
      revertOf: num,
      revertedBy: num,
      test: { type: ['object', 'null'], additionalProperties: true },
    },
  };
  const errorSchema = {
    type: 'object',
    properties: { error: { type: 'string' }, code: { type: 'string' }, problems: { type: 'array', items: { type: 'string' } } },
  };
  const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] };
  const errors = { 400: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 422: errorSchema };

  function apiStep(reply: FastifyReply, run: () => ChangeRequest, code = 200) {
    try {
      return reply.code(code).send(run());
    } catch (err) {
      if (!(err instanceof ChangeError)) throw err;
      return reply.code(changeErrorStatus(err.code)).send({ error: err.message, code: err.code, problems: err.problems });
    }
  }

  app.get(
    '/api/changes',
    {
      preHandler: requireUser,
      schema: {
        summary: 'Change requests, newest first',
        querystring: {
          type: 'object',
          properties: { status: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 } },
        },
        response: { 200: { type: 'array', items: changeSchema } },
      },
    },
    async (request) => {
      const q = request.query as { status?: string; limit: number };
      const status = q.status ? (q.status.split(',') as ChangeStatus[]) : undefined;
      return listRequests(ctx.db, { ...(status ? { status } : {}), limit: q.limit }).filter((c) => visible(ctx, c));
    },
  );

  app.get(
    '/api/changes/:id',
    {
      preHandler: requireUser,
      schema: { summary: 'One change request', params: idParams, response: { 200: changeSchema, 404: errorSchema } },
    },
    async (request, reply) => {
      const c = getRequest(ctx.db, (request.params as { id: number }).id);
      if (!c || !visible(ctx, c)) return reply.code(404).send({ error: 'no such change request', code: 'GH_ERR_CHANGE_NOT_FOUND' });
      return c;
    },
  );

  app.post(
    '/api/changes',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Request a change (draft, or submitted for approval); it applies only once an approver approves it',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['ops'],
          properties: {
            ops: { type: 'array', minItems: 1, maxItems: 500, items: { type: 'object', additionalProperties: true } },
            requester: { type: 'string', maxLength: 200 },
            subjectArea: { type: 'string', maxLength: 200 },
            reason: { type: 'string', maxLength: 2000 },
            risk: { type: 'string', enum: ['low', 'medium', 'high'] },
            backout: { type: 'string', maxLength: 2000 },
            startsAt: { type: ['string', 'null'] },
            endsAt: { type: ['string', 'null'] },
            submit: { type: 'boolean', default: true },
          },
        },
        response: { 201: changeSchema, ...errors },
      },
    },
    async (request, reply) => {
      const b = request.body as Record<string, unknown>;
      return apiStep(
        reply,
        () =>
          ctx.changes.create(
            {
              ops: opsFromJson(b.ops),
              requester: b.requester as string | undefined,
              subjectArea: b.subjectArea as string | undefined,
              reason: b.reason as string | undefined,
              risk: b.risk as string | undefined,
              backout: b.backout as string | undefined,
              startsAt: timeFromJson(b.startsAt, 'startsAt'),
              endsAt: timeFromJson(b.endsAt, 'endsAt'),
              source: 'api',
              submit: b.submit !== false,
            },
            actorFrom(request),
          ),
        201,
      );
    },
  );

  const noteBody = { type: 'object', additionalProperties: false, properties: { note: { type: 'string', maxLength: 2000 } } };
  const post = (
    path: string,
    summary: string,
    preHandler: typeof requireUser,
    body: object | undefined,
    run: (request: FastifyRequest) => ChangeRequest,
  ) =>
    app.post(
      `/api/changes/:id/${path}`,
      { preHandler, schema: { summary, params: idParams, ...(body ? { body } : {}), response: { 200: changeSchema, ...errors } } },
      async (request, reply) => apiStep(reply, () => run(request)),
    );
  const id = (request: FastifyRequest) => (request.params as { id: number }).id;
  const note = (request: FastifyRequest) => (request.body as { note?: string } | undefined)?.note ?? '';
  post('submit', 'Submit a draft for approval', requireAdmin, undefined, (r) => ctx.changes.submit(id(r), actorFrom(r)));
  post('withdraw', 'Withdraw a draft or submitted request', requireAdmin, noteBody, (r) =>
    ctx.changes.withdraw(id(r), actorFrom(r), note(r)),
  );
  post(
    'approve',
    'Approve (an approver, after MFA, never the requester); applies now unless it has a later start',
    requireApprover,
    noteBody,
    (r) => ctx.changes.approve(id(r), actorFrom(r), note(r)),
  );
  post('refuse', 'Refuse (an approver, never the requester)', requireApprover, noteBody, (r) =>
    ctx.changes.refuse(id(r), actorFrom(r), note(r)),
  );
  post('emergency', 'Apply at once as an emergency (changeControl.emergencyAdmins); needs review', requireAdmin, undefined, (r) =>
    ctx.changes.emergency(id(r), actorFrom(r)),
  );
  post(
    'revert',
    'Revert an applied change (a new change, applied at once); returns the revert',
    requireReverter,
    {
      type: 'object',
      additionalProperties: false,
      required: ['reason'],
      properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } },
    },
    (r) => ctx.changes.revert(id(r), actorFrom(r), (r.body as { reason: string }).reason),
  );
  post(
    'review',
    'Review an emergency change (an approver); refused, it is reverted at once',
    requireApprover,
    {
      type: 'object',
      additionalProperties: false,
      required: ['decision'],
      properties: { decision: { type: 'string', enum: ['approve', 'refuse'] }, note: { type: 'string', maxLength: 2000 } },
    },
    (r) => ctx.changes.review(id(r), actorFrom(r), (r.body as { decision: 'approve' | 'refuse' }).decision, note(r)),
  );

  app.get(
    '/api/policy',
    {
      preHandler: requireUser,
      schema: {
        summary: 'The governed filtering policy in force: its version, groups, exceptions and switch-offs',
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => ({ version: ctx.changes.version, ...ctx.changes.doc }),
  );
};
