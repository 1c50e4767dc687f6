// A person's data as personal data (UK GDPR): the subject access export (a
// ZIP of everything held about them, identity/export.ts) for admin and DSL,
// and erasure of a person who has left (identity/erase.ts) for admins, with
// a reason, on whose authority, and the user name typed again to confirm.
// The export's lookups come through the reader worker and the erasure runs in
// a worker of its own, so neither holds up DNS answers on this thread. Both
// are the CLI's `identity export` / `identity erase` (operations.md).
import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { eraseOffThread } from '../../identity/erase-off-thread.js';
import { IdentityError } from '../../identity/errors.js';
import { exportPerson } from '../../identity/export.js';
import { getPerson } from '../../identity/person.js';
import type { Person } from '../../identity/types.js';
import { actorOf, requireRole } from '../auth.js';
import type { AdminRoutePlugin } from '../context.js';
import { html } from '../html.js';
import { field } from '../security.js';
import { csrfField, messages, renderPage } from '../views/layout.js';
import { categoryName, formatCount } from '../views/widgets.js';
import { visibleRow } from './querylog.js';

const requireExport = requireRole('admin', 'dsl');
const requireAdmin = requireRole('admin');

export const personDataRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const personOf = (request: FastifyRequest): Person | undefined => {
    const raw = (request.params as { id?: string }).id ?? '';
    return /^\d{1,15}$/.test(raw) ? getPerson(ctx.db, Number(raw)) : undefined;
  };
  const missing = (request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(404)
      .type('text/html')
      .send(renderPage(request, { title: 'Person', body: html`<p>No such person.</p><p><a href="/people">Find a person</a></p>` }));

  // ---- Subject access: everything held about them, as a ZIP
  app.get('/people/:id/export.zip', { preHandler: requireExport }, async (request, reply) => {
    const person = personOf(request);
    if (!person) return missing(request, reply);
    const now = ctx.now();
    const out = new PassThrough();
    void exportPerson(
      ctx.db,
      person,
      out,
      async (filter) => {
        const page = await ctx.reports.search(filter);
        return { ...page, rows: page.rows.map((r) => visibleRow(ctx, r)) };
      },
      { by: `${actorOf(request)} (admin UI)`, now, categoryName: (c) => categoryName(ctx.config, c) },
    ).catch((err: Error) => {
      request.log.error({ err }, 'subject access export failed');
      out.destroy(err);
    });
    return reply
      .type('application/zip')
      .header('Cache-Control', 'no-store')
      .header('Content-Disposition', `attachment; filename="gatehouse-person-${person.id}-${new Date(now).toISOString().slice(0, 10)}.zip"`)
      .send(out);
  });

  // ---- Erasure of a person who has left
  const erasePage = (
    request: FastifyRequest,
    reply: FastifyReply,
    person: Person,
    errors: string[] = [],
    values = { reason: '', approver: '' },
  ) =>
    reply
      .code(errors.length ? 400 : 200)
      .type('text/html')
      .send(
        renderPage(request, {
          title: `Erase person #${person.id}`,
          body: html`${messages('error', errors)}
            <p>Erasing <strong id="erase-who">${person.userKey}</strong>${person.displayName ? html` (${person.displayName})` : ''} removes their
              name, email and user name from Gatehouse. Their lookups, alerts and review requests stay and keep their counts, but no
              longer say who it was. This cannot be undone. The change log records that person #${person.id} was erased, by you,
              on whose authority and why, never their name. Backups made before stay as they were until they expire.</p>
            <p>Export their data first if a subject access request is open: <a href="/people/${person.id}/export.zip">Download everything held about them</a>.</p>
            <form method="post" action="/people/${person.id}/erase" class="stack" id="erase-person">${csrfField(request)}
              <label>Reason <input name="reason" required maxlength="500" value="${values.reason}" placeholder="left July 2027; erasure request of 2027-09-01"></label>
              <p class="muted">Do not name them in the reason or the approver: the change log keeps both.</p>
              <label>Approved by <input name="approver" maxlength="200" value="${values.approver}" placeholder="the data protection officer"></label>
              <label>Type their user name (${person.userKey}) to confirm <input name="confirm" required autocomplete="off"></label>
              <button type="submit" class="danger">Erase person #${person.id}</button>
            </form>
            <p><a href="/people/${person.id}">Back to the person</a></p>`,
        }),
      );

  app.get('/people/:id/erase', { preHandler: requireAdmin }, async (request, reply) => {
    const person = personOf(request);
    return person ? erasePage(request, reply, person) : missing(request, reply);
  });

  app.post('/people/:id/erase', { preHandler: requireAdmin }, async (request, reply) => {
    const person = personOf(request);
    if (!person) return missing(request, reply);
    const values = { reason: field(request.body, 'reason').trim(), approver: field(request.body, 'approver').trim() };
    const errors: string[] = [];
    if (!values.reason) errors.push('Give the reason for the erasure.');
    if (field(request.body, 'confirm').trim().toLowerCase() !== person.userKey.toLowerCase())
      errors.push('The user name typed to confirm does not match: nothing was erased.');
    if (errors.length) return erasePage(request, reply, person, errors, values);
    let r;
    try {
      r = await eraseOffThread(ctx.config.store.path, person.id, {
        actor: actorOf(request),
        reason: values.reason,
        ...(values.approver ? { approver: values.approver } : {}),
        now: ctx.now(),
      });
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      return erasePage(request, reply, person, [`Not erased: ${err.message}.`], values);
    }
    // The running service forgets their records at once (else within 10 s).
    ctx.live.identity?.pollDevices();
    return reply.type('text/html').send(
      renderPage(request, {
        title: `Person #${r.personId} erased`,
        body: html`<p id="erased">Person #${r.personId} was erased. ${formatCount(r.lookups)} lookups, ${formatCount(r.alerts)} alerts and
            ${formatCount(r.requests)} review requests keep their counts without the name; ${formatCount(r.devices)} devices and
            ${formatCount(r.addresses)} address records were cleared. The change log has the record.</p>
          <p><a href="/people">Find a person</a></p>`,
      }),
    );
  });
};
