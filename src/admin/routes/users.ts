// The Users page (admins only): create accounts, change roles, unlock, reset
// passwords or MFA, disable; every change goes to the change log. Also shows
// when and from where each locked account was locked, recovery codes left, and
// the auth audit trail (logins, failures, lockouts, unlocks, recovery codes used).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { actorOf, requireRole, requireUser } from '../auth.js';
import { latestAuthEvents, recentAuthEvents, recordAuthEvent } from '../audit.js';
import type { AdminRoutePlugin } from '../context.js';
import { html } from '../html.js';
import { formatTime } from '../views/time.js';
import { RECOVERY_CODE_COUNT, recoveryCodesLeftByUser } from '../recovery-codes.js';
import { field } from '../security.js';
import {
  createUser,
  listUsers,
  publicUser,
  resetMfa,
  resetPassword,
  ROLE_LABELS,
  ROLES,
  setDisabled,
  setRole,
  unlockUser,
  UserError,
} from '../users.js';
import { csrfField, messages, renderPage } from '../views/layout.js';

const requireAdmin = requireRole('admin');

const NOTICES: Record<string, string> = {
  created: 'Account created. The user must change the password at first login.',
  role: 'Role changed.',
  unlocked: 'Account unlocked.',
  password: 'Temporary password set; the user must change it at next login.',
  mfa: 'MFA removed; the user sets it up again at next login.',
  disabled: 'Account disabled and logged out.',
  enabled: 'Account enabled.',
};

export const userRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  function page(request: FastifyRequest, reply: FastifyReply, errors: string[] = [], status = 200) {
    const notice = NOTICES[(request.query as Record<string, string>).done ?? ''];
    const roleOptions = (current?: string) =>
      ROLES.map((r) => html`<option value="${r}"${r === current ? html` selected` : ''}>${ROLE_LABELS[r]}</option>`);
    const users = listUsers(ctx.db);
    const codesLeft = recoveryCodesLeftByUser(ctx.db);
    const locks = latestAuthEvents(ctx.db, 'locked');
    const unlockAfter = ctx.config.admin.unlockAfterMinutes;
    const lockState = (name: string) => {
      const lock = locks.get(name.toLowerCase());
      return html`<strong>locked</strong>${
        lock
          ? html`<br><span class="muted lock-detail">at ${formatTime(lock.at, ctx.config.admin.timezone)} from ${lock.address ?? 'an unknown address'}: ${lock.detail ?? ''}</span>`
          : ''
      }`;
    };
    const body = html`${messages('error', errors)}${messages('notice', notice ? [notice] : [])}
      <section class="card"><h2>Add a user</h2>
        <form method="post" action="/users" class="grid-form" autocomplete="off">${csrfField(request)}
          <label>User name <input name="name" required maxlength="64" autocomplete="off"></label>
          <label>Role <select name="role">${roleOptions('dsl')}</select></label>
          <label>Temporary password <input name="password" type="password" required minlength="8" autocomplete="new-password"></label>
          <button type="submit">Create</button>
        </form></section>
      <section><h2>Accounts</h2>
      <table class="responsive" id="users"><thead><tr><th>Name</th><th>Role</th><th>State</th><th>MFA</th><th>Last login</th><th>Actions</th></tr></thead>
      <tbody>${users.map((u) => {
        const p = publicUser(u);
        const action = (path: string, label: string, extra = html``, cls = '') =>
          html`<form method="post" action="/users/${u.id}/${path}" class="inline">${csrfField(request)}${extra}<button type="submit" class="${cls}">${label}</button></form>`;
        return html`<tr>
          <td data-label="Name">${p.name}</td>
          <td data-label="Role">${action('role', 'Change', html`<select name="role" aria-label="Role">${roleOptions(p.role)}</select> `, 'secondary')}</td>
          <td data-label="State">${p.disabled ? 'disabled' : p.locked ? lockState(p.name) : 'active'}${p.mustChangePassword ? ' · must change password' : ''}</td>
          <td data-label="MFA">${p.mfaEnabled ? html`on<br><span class="muted">${codesLeft.get(p.id) ?? 0} of ${RECOVERY_CODE_COUNT} recovery codes left</span>` : 'off'}</td>
          <td data-label="Last login">${formatTime(p.lastLoginAt, ctx.config.admin.timezone)}</td>
          <td data-label="Actions" class="actions">
            ${p.locked ? action('unlock', 'Unlock') : ''}
            ${action('reset-password', 'Set temporary password', html`<input name="password" type="password" minlength="8" required aria-label="Temporary password" placeholder="temporary password" autocomplete="new-password"> `, 'secondary')}
            ${p.mfaEnabled ? action('reset-mfa', 'Reset MFA', html``, 'secondary') : ''}
            ${p.disabled ? action('enable', 'Enable') : action('disable', 'Disable', html``, 'danger')}
          </td></tr>`;
      })}</tbody></table>
      <p class="hint" id="break-glass">Three failed attempts lock an account, admins' too; each lockout raises an IT alert.
        ${unlockAfter > 0 ? `A locked account unlocks by itself after ${unlockAfter} minutes. ` : ''}To unlock sooner: another admin
        uses Unlock here, or on the server's console <code>sudo -u gatehouse gatehouse user unlock --config /etc/gatehouse/gatehouse.yaml NAME</code>.</p></section>
      <section><h2>Sign-in activity</h2>
      <table class="responsive" id="auth-audit"><thead><tr><th>When</th><th>User</th><th>Event</th><th>Address</th><th>Detail</th></tr></thead>
      <tbody>${recentAuthEvents(ctx.db, 200).map(
        (
          e,
        ) => html`<tr><td data-label="When">${formatTime(e.at, ctx.config.admin.timezone)}</td><td data-label="User">${e.user_name}</td><td data-label="Event">${e.event.replaceAll('_', ' ')}</td>
          <td data-label="Address">${e.address ?? ''}</td><td data-label="Detail">${e.detail ?? ''}</td></tr>`,
      )}</tbody></table></section>`;
    return reply
      .code(status)
      .type('text/html')
      .send(renderPage(request, { title: 'Users', body }));
  }

  async function act(request: FastifyRequest, reply: FastifyReply, done: string, action: () => unknown) {
    try {
      await action();
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      return page(request, reply, [err.message], err.code === 'GH_ERR_USER_NOT_FOUND' ? 404 : 400);
    }
    return reply.redirect(`/users?done=${done}`);
  }

  const id = (request: FastifyRequest) => Number((request.params as { id: string }).id);

  app.get('/users', { preHandler: requireAdmin }, async (request, reply) => page(request, reply));

  app.post('/users', { preHandler: requireAdmin }, async (request, reply) =>
    act(request, reply, 'created', () =>
      createUser(ctx.db, {
        name: field(request.body, 'name').trim(),
        role: field(request.body, 'role'),
        password: field(request.body, 'password'),
        actor: actorOf(request),
        now: ctx.now(),
      }),
    ),
  );

  app.post('/users/:id/role', { preHandler: requireAdmin }, async (request, reply) =>
    act(request, reply, 'role', () => setRole(ctx.db, id(request), field(request.body, 'role'), actorOf(request), ctx.now())),
  );
  app.post('/users/:id/unlock', { preHandler: requireAdmin }, async (request, reply) =>
    act(request, reply, 'unlocked', () => {
      const u = unlockUser(ctx.db, id(request), actorOf(request), ctx.now());
      recordAuthEvent(ctx.db, {
        at: ctx.now(),
        userName: u.name,
        event: 'unlocked',
        address: request.ip,
        detail: `by ${actorOf(request)}`,
      });
    }),
  );
  app.post('/users/:id/reset-password', { preHandler: requireAdmin }, async (request, reply) =>
    act(request, reply, 'password', () => resetPassword(ctx.db, id(request), field(request.body, 'password'), actorOf(request), ctx.now())),
  );
  app.post('/users/:id/reset-mfa', { preHandler: requireAdmin }, async (request, reply) =>
    act(request, reply, 'mfa', () => resetMfa(ctx.db, id(request), actorOf(request), ctx.now())),
  );
  app.post('/users/:id/disable', { preHandler: requireAdmin }, async (request, reply) =>
    act(request, reply, 'disabled', () => setDisabled(ctx.db, id(request), true, actorOf(request), ctx.now())),
  );
  app.post('/users/:id/enable', { preHandler: requireAdmin }, async (request, reply) =>
    act(request, reply, 'enabled', () => setDisabled(ctx.db, id(request), false, actorOf(request), ctx.now())),
  );

  // ---- JSON API ----
  app.get(
    '/api/users',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Accounts (no secrets)',
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'integer' },
                name: { type: 'string' },
                role: { type: 'string' },
                mustChangePassword: { type: 'boolean' },
                locked: { type: 'boolean' },
                disabled: { type: 'boolean' },
                mfaEnabled: { type: 'boolean' },
                createdAt: { type: 'integer' },
                lastLoginAt: { type: ['integer', 'null'] },
                passwordChangedAt: { type: 'integer' },
              },
            },
          },
        },
      },
    },
    async () => listUsers(ctx.db).map(publicUser),
  );

  app.get(
    '/api/me',
    {
      preHandler: requireUser,
      schema: {
        summary: 'The logged-in user and the CSRF token for X-CSRF-Token',
        response: {
          200: { type: 'object', properties: { name: { type: 'string' }, role: { type: 'string' }, csrfToken: { type: 'string' } } },
        },
      },
    },
    async (request) => ({ name: request.auth!.user.name, role: request.auth!.user.role, csrfToken: request.auth!.session.csrf_token }),
  );
};
