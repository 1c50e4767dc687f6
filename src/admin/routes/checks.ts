// Checks: run the built-in filtering self-test (real DNS queries to the
// running resolver, from an address in each group's networks) and keep the
// record: when, who, what was tested, the results, and the resulting actions.
// A failed run raises a 'check-failed' operational alert when the alert engine
// is wired in, and says so in the record.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { runSelfTest } from '../../checks/self-test.js';
import { runAndRecord } from '../../checks/run.js';
import { addCheckAction, getCheck, listChecks, type CheckRecord } from '../../checks/record.js';
import { actorOf, requireRole, requireUser } from '../auth.js';
import type { AdminContext, AdminRoutePlugin } from '../context.js';
import { html } from '../html.js';
import { formatTime } from '../views/time.js';
import { field, fieldList } from '../security.js';
import { pageAssets } from '../views/assets.js';
import { csrfField, messages, renderPage } from '../views/layout.js';
import { categoryName } from '../views/widgets.js';
import { localInput } from '../views/time.js';
import { hasTables } from '../../store/db.js';

const requireRunner = requireRole('admin', 'dsl');

function hasChecksTable(ctx: AdminContext): boolean {
  return hasTables(ctx.db, 'checks');
}

export class CheckBusyError extends Error {
  readonly code = 'GH_ERR_CHECK_BUSY';
}

/** One self-test at a time per admin app: a second request waits for nothing and is told so. */
export function checkRunner(ctx: AdminContext) {
  let running = false;
  return async (groups: string[], actor: string): Promise<CheckRecord> => {
    if (running) throw new CheckBusyError('A check is already running; wait for it to finish.');
    running = true;
    try {
      const wanted = groups.length ? groups : undefined;
      const { id, result } = await runAndRecord({
        run: () =>
          ctx.live.selfTest
            ? ctx.live.selfTest({ groups: wanted })
            : runSelfTest({ config: ctx.config, ...(wanted ? { groups: wanted } : {}), now: ctx.now }),
        db: ctx.db,
        alerts: ctx.live.alerts,
        runBy: actor,
        trigger: 'manual',
        now: ctx.now,
      });
      ctx.logger.info(
        { check: id, ok: result.ok, passed: result.passed, failed: result.failed, by: actor },
        'filtering check run from the admin UI',
      );
      return getCheck(ctx.db, id)!;
    } finally {
      running = false;
    }
  };
}

export const checkRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const run = checkRunner(ctx);

  async function listPage(request: FastifyRequest, reply: FastifyReply, errors: string[] = [], status = 200) {
    if (!hasChecksTable(ctx)) {
      return reply
        .code(503)
        .type('text/html')
        .send(
          renderPage(request, {
            title: 'Checks',
            body: html`<p class="unavailable">The checks record is not available: the database has not been migrated.</p>`,
          }),
        );
    }
    const { total, items } = listChecks(ctx.db, { limit: 100 });
    const canRun = request.auth!.user.role !== 'auditor';
    const names = Object.entries(ctx.config.checks.names);
    const body = html`${pageAssets()}${messages('error', errors)}
      <section class="card"><h2>Run the filtering self-test</h2>
        <p>Sends real DNS queries to the resolver from an address in each group's networks: for every category, the test names
          (${names.length ? names.map(([c, n], i) => html`${i ? ', ' : ''}${categoryName(ctx.config, c)}: ${n.length}`) : html`<em>none configured: add checks.names to the config</em>`})
          must be blocked or allowed as that group's policy says, and the DoH canary must be blocked.</p>
        ${
          canRun
            ? html`<form method="post" action="/checks/run" data-busy="Running the self-test…" id="run-check">${csrfField(request)}
              <fieldset><legend>Groups (none ticked: all)</legend>${ctx.config.groups.map(
                (g) => html`<label class="check"><input type="checkbox" name="groups" value="${g.name}"> ${g.name}</label>`,
              )}</fieldset>
              <button type="submit">Run the self-test now</button></form>`
            : html`<p class="muted">Your role can read the record of checks but not run them.</p>`
        }
        ${ctx.config.checks.schedule ? html`<p class="muted">The service also runs it on the schedule <code>${ctx.config.checks.schedule}</code>.</p>` : ''}
      </section>
      <h2>Record of checks</h2>
      <p class="muted">${total} checks recorded. Records cannot be changed or deleted.
        <button type="button" class="secondary no-print" data-print>Print</button></p>
      ${
        items.length === 0
          ? html`<p class="muted" id="checks-empty">No checks recorded yet.</p>`
          : html`<table class="responsive" id="checks"><thead><tr><th>#</th><th>When</th><th>Run by</th><th>Result</th><th>Summary</th><th>Actions</th></tr></thead>
          <tbody>${items.map(
            (c) => html`<tr>
              <td data-label="#"><a href="/checks/${c.id}">${c.id}</a></td>
              <td data-label="When">${formatTime(c.startedAt, ctx.config.admin.timezone)}</td>
              <td data-label="Run by">${c.runBy} <span class="muted">(${c.trigger})</span></td>
              <td data-label="Result"><span class="state ${c.ok ? 'ok' : 'fail'}">${c.ok ? 'passed' : 'failed'}</span> ${c.passed}/${c.passed + c.failed}</td>
              <td data-label="Summary">${c.summary}</td>
              <td data-label="Actions">${c.actions.length}</td>
            </tr>`,
          )}</tbody></table>`
      }`;
    return reply
      .code(status)
      .type('text/html')
      .send(renderPage(request, { title: 'Checks', body }));
  }

  app.get('/checks', { preHandler: requireUser }, async (request, reply) => listPage(request, reply));

  app.post('/checks/run', { preHandler: requireRunner }, async (request, reply) => {
    if (!hasChecksTable(ctx)) return reply.code(503).type('text/plain').send('The checks record is not available.\n');
    const known = new Set(ctx.config.groups.map((g) => g.name));
    const groups = fieldList(request.body, 'groups').filter((g) => known.has(g));
    try {
      const record = await run(groups, actorOf(request));
      return reply.redirect(`/checks/${record.id}?done=run`);
    } catch (err) {
      if (err instanceof CheckBusyError) return listPage(request, reply, [err.message], 409);
      throw err;
    }
  });

  app.get('/checks/:id', { preHandler: requireUser }, async (request, reply) => {
    const id = Number((request.params as { id: string }).id);
    const c = hasChecksTable(ctx) && Number.isSafeInteger(id) ? getCheck(ctx.db, id) : undefined;
    if (!c)
      return reply
        .code(404)
        .type('text/html')
        .send(renderPage(request, { title: 'Check', body: html`<p>No such check.</p><p><a href="/checks">Back</a></p>` }));
    const q = request.query as Record<string, string>;
    const notice = q.done === 'run' ? 'Self-test finished and recorded.' : q.done === 'action' ? 'Action recorded.' : '';
    const canAct = request.auth!.user.role !== 'auditor';
    const body = html`${pageAssets()}${messages('notice', notice ? [notice] : [])}
      <section class="card checks-result ${c.ok ? 'ok' : 'fail'}" id="check-summary">
        <p><strong>${c.ok ? 'Passed' : 'Failed'}</strong>: ${c.summary}</p>
        <dl class="facts"><dt>When</dt><dd>${formatTime(c.startedAt, ctx.config.admin.timezone)} to ${formatTime(c.finishedAt, ctx.config.admin.timezone)}</dd>
          <dt>Run by</dt><dd>${c.runBy} (${c.trigger})</dd><dt>Resolver tested</dt><dd><code>${c.server}</code></dd></dl>
      </section>
      <h2>What was tested</h2>
      <table class="responsive" id="check-cases"><thead><tr><th>Group</th><th>Sent from</th><th>Category</th><th>Name</th><th>Expected</th><th>Result</th><th>Answer</th></tr></thead>
        <tbody>${c.cases.map(
          (k) => html`<tr>
            <td data-label="Group">${k.group}</td>
            <td data-label="Sent from">${k.source}</td>
            <td data-label="Category">${k.category === 'allowed' || k.category === 'canary' ? k.category : categoryName(ctx.config, k.category)}</td>
            <td data-label="Name"><code>${k.name}</code></td>
            <td data-label="Expected">${k.expected} <span class="muted">(${k.why})</span></td>
            <td data-label="Result"><span class="state ${k.ok ? 'ok' : 'fail'}">${k.ok ? 'ok' : 'FAIL'}</span> ${k.actual}</td>
            <td data-label="Answer"><code>${k.detail}</code></td>
          </tr>`,
        )}</tbody></table>
      ${
        canAct
          ? html`<p class="no-print"><a id="check-traffic-link" href="/querylog?${new URLSearchParams({
              checks: 'only',
              from: localInput(c.startedAt, ctx.config.admin.timezone),
              to: localInput(c.finishedAt + 60_000, ctx.config.admin.timezone),
            }).toString()}">This run's queries in the query log</a> <span class="muted">(self-test traffic is kept apart from people's lookups)</span></p>`
          : ''
      }
      ${c.skipped.length ? html`<h3>Not tested</h3><ul>${c.skipped.map((s) => html`<li><span class="state skipped">${s.group}</span> ${s.reason}</li>`)}</ul>` : ''}
      <h2>Resulting actions</h2>
      ${
        c.actions.length === 0
          ? html`<p class="muted" id="check-no-actions">No actions recorded.</p>`
          : html`<table class="responsive" id="check-actions"><thead><tr><th>When</th><th>Who</th><th>Action</th></tr></thead>
        <tbody>${c.actions.map((a) => html`<tr><td data-label="When">${formatTime(a.at, ctx.config.admin.timezone)}</td><td data-label="Who">${a.user}</td><td data-label="Action">${a.action}</td></tr>`)}</tbody></table>`
      }
      ${
        canAct
          ? html`<form method="post" action="/checks/${c.id}/actions" class="card" id="add-action">${csrfField(request)}
            <label>Record an action taken <textarea name="action" rows="2" maxlength="2000" required placeholder="e.g. Reported the failure to the filtering provider, ticket 1234"></textarea></label>
            <button type="submit">Record action</button></form>`
          : ''
      }
      <p class="no-print"><button type="button" class="secondary" data-print>Print this record</button> <a href="/checks">Back to the record of checks</a></p>`;
    return reply.type('text/html').send(renderPage(request, { title: `Check ${c.id}`, body }));
  });

  app.post('/checks/:id/actions', { preHandler: requireRunner }, async (request, reply) => {
    const id = Number((request.params as { id: string }).id);
    if (!hasChecksTable(ctx) || !Number.isSafeInteger(id) || !getCheck(ctx.db, id))
      return reply.code(404).type('text/plain').send('No such check.\n');
    const text = field(request.body, 'action').trim();
    if (!text) return reply.redirect(`/checks/${id}`);
    addCheckAction(ctx.db, id, actorOf(request), text, ctx.now());
    return reply.redirect(`/checks/${id}?done=action`);
  });

  // ---- JSON API ----
  const s = { type: 'string' };
  const caseSchema = {
    type: 'object',
    properties: { group: s, source: s, category: s, name: s, expected: s, actual: s, ok: { type: 'boolean' }, detail: s, why: s },
  };
  const actionSchema = { type: 'object', properties: { id: { type: 'integer' }, at: { type: 'integer' }, user: s, action: s } };
  const checkSchema = {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      startedAt: { type: 'integer' },
      finishedAt: { type: 'integer' },
      runBy: s,
      trigger: s,
      server: s,
      ok: { type: 'boolean' },
      passed: { type: 'integer' },
      failed: { type: 'integer' },
      summary: s,
      cases: { type: 'array', items: caseSchema },
      skipped: { type: 'array', items: { type: 'object', properties: { group: s, reason: s } } },
      actions: { type: 'array', items: actionSchema },
    },
  };
  const errorSchema = { type: 'object', properties: { error: s } };

  app.get(
    '/api/checks',
    {
      preHandler: requireUser,
      schema: {
        summary: 'The record of filtering checks, newest first (cases left out: see /api/checks/{id})',
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
        response: { 200: { type: 'object', properties: { total: { type: 'integer' }, items: { type: 'array', items: checkSchema } } } },
      },
    },
    async (request) => listChecks(ctx.db, request.query as { limit: number; offset: number }),
  );

  app.get(
    '/api/checks/:id',
    {
      preHandler: requireUser,
      schema: {
        summary: 'One check with every case and action',
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
        response: { 200: checkSchema, 404: errorSchema },
      },
    },
    async (request, reply) => getCheck(ctx.db, (request.params as { id: number }).id) ?? reply.code(404).send({ error: 'no such check' }),
  );

  app.post(
    '/api/checks',
    {
      preHandler: requireRunner,
      schema: {
        summary: 'Run the filtering self-test now and record it',
        body: { type: 'object', additionalProperties: false, properties: { groups: { type: 'array', items: { type: 'string' } } } },
        response: { 201: checkSchema, 400: errorSchema, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const groups = (request.body as { groups?: string[] } | undefined)?.groups ?? [];
      const unknown = groups.filter((g) => !ctx.config.groups.some((c) => c.name === g));
      if (unknown.length) return reply.code(400).send({ error: `unknown group: ${unknown.join(', ')}` });
      try {
        return reply.code(201).send(await run(groups, actorOf(request)));
      } catch (err) {
        if (err instanceof CheckBusyError) return reply.code(409).send({ error: err.message });
        throw err;
      }
    },
  );

  app.post(
    '/api/checks/:id/actions',
    {
      preHandler: requireRunner,
      schema: {
        summary: 'Record an action taken after a check',
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action'],
          properties: { action: { type: 'string', minLength: 1, maxLength: 2000 } },
        },
        response: { 201: actionSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const id = (request.params as { id: number }).id;
      if (!getCheck(ctx.db, id)) return reply.code(404).send({ error: 'no such check' });
      return reply.code(201).send(addCheckAction(ctx.db, id, actorOf(request), (request.body as { action: string }).action, ctx.now()));
    },
  );
};
