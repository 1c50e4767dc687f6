// The account page: who you are, MFA and how many recovery codes are left, a
// new set of recovery codes, optional MFA for roles that do not require it,
// and "set up a new authenticator" (a lost or replaced phone).
import type { FastifyRequest } from 'fastify';
import { recordAuthEvent } from '../audit.js';
import { mfaRequired, requireUser, setSessionCookie } from '../auth.js';
import type { AdminRoutePlugin } from '../context.js';
import { html } from '../html.js';
import { loginContextFor, registerFailure } from '../login.js';
import { enrol, ensurePendingSecret, issueRecoveryCodes, pendingSecret } from '../mfa.js';
import { verifyPassword } from '../passwords.js';
import { RECOVERY_CODE_COUNT, recoveryCodesLeft } from '../recovery-codes.js';
import { field } from '../security.js';
import { deleteSession, rotateSession } from '../session.js';
import { getUserById, resetMfa, ROLE_LABELS } from '../users.js';
import { csrfField, messages, renderPage } from '../views/layout.js';
import { sendMfaPage, sendRecoveryCodesPage } from '../views/mfa.js';

export const accountRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const notices = (request: FastifyRequest, left: number): string[] => {
    const done = (request.query as Record<string, string>).done;
    if (done === 'recovery')
      return [
        `You logged in with a recovery code: ${left} of ${RECOVERY_CODE_COUNT} left. If your phone is lost, set up a new authenticator below; make new recovery codes when few are left.`,
      ];
    return done === 'mfa' ? ['MFA is on.'] : [];
  };

  app.get('/account', { preHandler: requireUser }, async (request, reply) => {
    const user = getUserById(ctx.db, request.auth!.user.id)!;
    const left = user.totp_enabled ? recoveryCodesLeft(ctx.db, user.id) : 0;
    const mfa = user.totp_enabled
      ? html`<section class="card narrow" id="mfa-settings"><h2>MFA</h2>
          <p>On. <span id="recovery-left">${left} of ${RECOVERY_CODE_COUNT} recovery codes left.</span>${
            left <= 3 ? html` <strong>Make new ones soon.</strong>` : ''
          }</p>
          <form method="post" action="/account/recovery-codes">${csrfField(request)}
            <button type="submit" class="secondary">New recovery codes</button>
            <span class="hint">The old ones stop working.</span>
          </form>
          <details><summary>Set up a new authenticator (a lost or new phone)</summary>
            <form method="post" action="/account/mfa/reset" class="stack">${csrfField(request)}
              <p class="hint">This removes your authenticator and recovery codes and logs you out. At your next login you scan a new QR code${
                mfaRequired(ctx, { ...user, totp_enabled: 0 }) ? '' : ' (from this page: your role does not require MFA)'
              }.</p>
              <label>Your password <input name="current" type="password" required autocomplete="current-password"></label>
              <button type="submit" class="danger">Remove my authenticator</button>
            </form>
          </details></section>`
      : html`<p><a class="button" href="/account/mfa">Set up MFA</a></p>`;
    const body = html`${messages('notice', notices(request, left))}
      <dl class="facts">
        <dt>User name</dt><dd>${user.name}</dd>
        <dt>Role</dt><dd>${ROLE_LABELS[user.role]}</dd>
        <dt>MFA</dt><dd>${user.totp_enabled ? 'on' : 'off'}</dd>
      </dl>
      <p><a class="button" href="/password">Change password</a></p>
      ${mfa}`;
    return reply.type('text/html').send(renderPage(request, { title: 'Your account', body }));
  });

  app.post('/account/recovery-codes', { preHandler: requireUser }, async (request, reply) => {
    const auth = request.auth!;
    const user = getUserById(ctx.db, auth.user.id)!;
    // Only a session that passed the MFA step may see new codes.
    if (!user.totp_enabled || !auth.session.mfa_done) return reply.redirect('/account');
    return sendRecoveryCodesPage(request, reply, issueRecoveryCodes(ctx, request, user), '/account');
  });

  app.post('/account/mfa/reset', { preHandler: requireUser }, async (request, reply) => {
    const auth = request.auth!;
    const user = getUserById(ctx.db, auth.user.id)!;
    if (!user.totp_enabled) return reply.redirect('/account');
    if (!(await verifyPassword(field(request.body, 'current'), user.password_hash))) {
      registerFailure(loginContextFor(ctx, request), user, 'wrong password at MFA reset');
      if (getUserById(ctx.db, user.id)!.locked_at !== null) {
        deleteSession(ctx.db, auth.session.id_hash);
        setSessionCookie(reply, ctx, null);
        return reply.redirect('/login');
      }
      return reply
        .code(400)
        .type('text/html')
        .send(
          renderPage(request, {
            title: 'Your account',
            body: html`${messages('error', ['The password is wrong; MFA was not changed.'])}<p><a href="/account">Back to your account</a></p>`,
          }),
        );
    }
    // The same as an admin's Reset MFA: secret and codes gone, every session ended.
    resetMfa(ctx.db, user.id, user.name, ctx.now());
    recordAuthEvent(ctx.db, { at: ctx.now(), userName: user.name, event: 'mfa_reset', address: request.ip, detail: 'by the user' });
    setSessionCookie(reply, ctx, null);
    request.auth = null;
    const body = html`<p>Your authenticator and recovery codes were removed and you are logged out.</p>
      <p>Log in again to set up the new authenticator.</p><p><a class="button" href="/login">Log in</a></p>`;
    return reply.type('text/html').send(renderPage(request, { title: 'Authenticator removed', body }));
  });

  // Optional MFA for roles that do not require it.
  app.get('/account/mfa', { preHandler: requireUser }, async (request, reply) => {
    const user = ensurePendingSecret(ctx, request.auth!.user);
    if (user.totp_enabled) return reply.redirect('/account');
    return sendMfaPage(request, reply, { userName: user.name, secret: pendingSecret(ctx, user), required: false, errors: [] });
  });

  app.post('/account/mfa', { preHandler: requireUser }, async (request, reply) => {
    const auth = request.auth!;
    const user = getUserById(ctx.db, auth.user.id)!;
    if (user.totp_enabled) return reply.redirect('/account');
    const codes = enrol(ctx, request, user, field(request.body, 'code'));
    if (!codes)
      return sendMfaPage(request, reply, {
        userName: user.name,
        secret: pendingSecret(ctx, user),
        required: false,
        errors: ['That code is not right.'],
        status: 400,
      });
    // The code just given is the second factor: this session counts as past the MFA step.
    const { id, row } = rotateSession(ctx.db, auth.session, ctx.now(), true);
    setSessionCookie(reply, ctx, id);
    request.auth = { ...auth, session: row, user: getUserById(ctx.db, user.id)! };
    return sendRecoveryCodesPage(request, reply, codes, '/account?done=mfa');
  });
};
