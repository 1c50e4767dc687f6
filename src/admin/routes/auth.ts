// Login (password, then TOTP code, recovery code or MFA enrolment, then a
// forced password change when due) and logout. The account page is account.ts.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordAuthEvent } from '../audit.js';
import { mfaRequired, setSessionCookie, stageOf } from '../auth.js';
import type { AdminContext, AdminRoutePlugin } from '../context.js';
import { html } from '../html.js';
import { checkCodeStep, checkPasswordStep, checkRecoveryStep, completeLogin, loginContextFor, registerFailure } from '../login.js';
import { enrol, ensurePendingSecret, pendingSecret } from '../mfa.js';
import { verifyPassword } from '../passwords.js';
import { RateLimiter } from '../ratelimit.js';
import { cookieHeader, field, parseCookies } from '../security.js';
import { createSession, deleteSession, deleteUserSessions, rotateSession } from '../session.js';
import { changeOwnPassword, getUserById } from '../users.js';
import { csrfField, messages, renderPage } from '../views/layout.js';
import { sendMfaPage, sendRecoveryCodesPage } from '../views/mfa.js';
import { homeFor } from '../views/nav.js';

const LOGIN_COOKIE = 'gh_login';

const WARNING = html`<p class="warning" role="note"><strong>Authorised users only.</strong> This system is for staff of the school
who have been given an account. Activity is monitored and recorded; misuse may lead to disciplinary or legal action.</p>`;

function loginFailedText(ctx: AdminContext): string {
  const unlock = ctx.config.admin.unlockAfterMinutes;
  return `The user name or password is wrong, or the account is locked. After 3 failed attempts an account is locked${
    unlock > 0 ? ` for ${unlock} minutes or` : ''
  } until an IT administrator unlocks it.`;
}

/** Where a session goes next: the pending login step, or the role's home page. */
function nextPath(ctx: AdminContext, request: FastifyRequest): string {
  const auth = request.auth;
  if (!auth) return '/login';
  return auth.stage === 'mfa' ? '/login/mfa' : auth.stage === 'password' ? '/password' : homeFor(auth.user.role);
}

export const authRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const byAddress = new RateLimiter(ctx.config.admin.loginRateLimit.perAddress, ctx.config.admin.loginRateLimit.windowSeconds * 1000);
  const byUser = new RateLimiter(ctx.config.admin.loginRateLimit.perUser, ctx.config.admin.loginRateLimit.windowSeconds * 1000);

  function loginPage(request: FastifyRequest, reply: FastifyReply, errors: string[], status = 200) {
    // Double-submit token: the login form has no session yet to hold a CSRF token.
    const token = randomBytes(24).toString('base64url');
    reply.header('Set-Cookie', cookieHeader(LOGIN_COOKIE, token, { secure: ctx.https }));
    const body = html`${WARNING}${messages('error', errors)}
      <form method="post" action="/login" class="card narrow" autocomplete="off">
        <input type="hidden" name="_login" value="${token}">
        <label>User name <input name="username" required maxlength="64" autocomplete="off" autocapitalize="none" spellcheck="false"></label>
        <label>Password <input name="password" type="password" required maxlength="256" autocomplete="current-password"></label>
        <button type="submit">Log in</button>
      </form>`;
    return reply
      .code(status)
      .type('text/html')
      .send(renderPage(request, { title: 'Log in', body }));
  }

  app.get('/', async (request, reply) => reply.redirect(nextPath(ctx, request)));

  app.get('/login', async (request, reply) => {
    if (request.auth) return reply.redirect(nextPath(ctx, request));
    return loginPage(request, reply, []);
  });

  app.post('/login', { config: { csrf: false } }, async (request, reply) => {
    const sent = field(request.body, '_login');
    const cookie = parseCookies(request.headers.cookie).get(LOGIN_COOKIE) ?? '';
    if (!sent || sent.length !== cookie.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(cookie))) {
      return reply.code(403).type('text/plain').send('Forbidden: the login form expired. Reload the page and try again.\n');
    }
    const name = field(request.body, 'username').trim().slice(0, 64);
    const password = field(request.body, 'password');
    const now = ctx.now();
    if (!byAddress.take(request.ip, now) || !byUser.take(name.toLowerCase(), now)) {
      recordAuthEvent(ctx.db, { at: now, userName: name, event: 'rate_limited', address: request.ip });
      return loginPage(request, reply, ['Too many login attempts. Wait a few minutes and try again.'], 429);
    }
    const result = await checkPasswordStep(loginContextFor(ctx, request), name, password);
    if (!result.ok) return loginPage(request, reply, [loginFailedText(ctx)], 401);
    const user = result.user;
    const needsMfa = mfaRequired(ctx, user);
    // A fresh session id at login (no fixation); any old session of this browser ends.
    if (request.auth) deleteSession(ctx.db, request.auth.session.id_hash);
    const { id, row } = createSession(ctx.db, user.id, ctx.now(), request.ip, !needsMfa);
    if (!needsMfa) completeLogin(loginContextFor(ctx, request), user, null);
    setSessionCookie(reply, ctx, id);
    request.auth = { session: row, user, stage: stageOf(ctx, row, user) };
    return reply.redirect(nextPath(ctx, request));
  });

  app.get('/login/mfa', async (request, reply) => {
    if (request.auth?.stage !== 'mfa') return reply.redirect(nextPath(ctx, request));
    const user = ensurePendingSecret(ctx, request.auth.user);
    return sendMfaPage(request, reply, { userName: user.name, secret: pendingSecret(ctx, user), required: true, errors: [] });
  });

  app.post('/login/mfa', async (request, reply) => {
    const auth = request.auth;
    if (auth?.stage !== 'mfa') return reply.redirect(nextPath(ctx, request));
    let user = getUserById(ctx.db, auth.user.id)!;
    let codes: string[] | null = null;
    let factor: 'totp' | 'recovery code' = 'totp';
    if (user.totp_enabled !== 1) {
      codes = enrol(ctx, request, user, field(request.body, 'code'));
      if (!codes) {
        const errors = ['That code is not right. Check the time on your phone and try again.'];
        return sendMfaPage(request, reply, { userName: user.name, secret: pendingSecret(ctx, user), required: true, errors, status: 400 });
      }
    } else {
      const recovery = field(request.body, 'recovery');
      if (recovery) factor = 'recovery code';
      const login = loginContextFor(ctx, request);
      const result = recovery ? checkRecoveryStep(login, user, recovery) : checkCodeStep(login, user, field(request.body, 'code'));
      if (!result.ok) {
        if (result.reason === 'locked') {
          deleteSession(ctx.db, auth.session.id_hash);
          setSessionCookie(reply, ctx, null);
          return reply.redirect('/login');
        }
        const errors = [
          `That ${factor === 'totp' ? 'code' : 'recovery code'} is not right. After 3 failed attempts the account is locked.`,
        ];
        return sendMfaPage(request, reply, { userName: user.name, secret: null, required: true, errors, status: 401 });
      }
    }
    user = getUserById(ctx.db, user.id)!;
    completeLogin(loginContextFor(ctx, request), user, factor);
    const { id, row } = rotateSession(ctx.db, auth.session, ctx.now(), true);
    setSessionCookie(reply, ctx, id);
    request.auth = { session: row, user, stage: stageOf(ctx, row, user) };
    if (codes) return sendRecoveryCodesPage(request, reply, codes, nextPath(ctx, request));
    // After a recovery code, the account page says how many are left and how to replace the phone.
    if (factor === 'recovery code' && request.auth.stage === 'ready') return reply.redirect('/account?done=recovery');
    return reply.redirect(nextPath(ctx, request));
  });

  function passwordPage(request: FastifyRequest, reply: FastifyReply, errors: string[], status = 200) {
    const auth = request.auth!;
    const why =
      auth.stage === 'password'
        ? auth.user.must_change_password
          ? 'You must choose a new password before you go on.'
          : 'Your password has expired. Choose a new one.'
        : 'Choose a new password.';
    const body = html`<p>${why}</p>
      <p class="hint">At least 8 characters, with an upper-case letter and a digit; not containing your user name; not a common password
        or a small change to one (such as Password1); not one of your last 5 passwords. A few unusual words together make a good one.</p>
      ${messages('error', errors)}
      <form method="post" action="/password" class="card narrow">${csrfField(request)}
        <label>Current password <input name="current" type="password" required autocomplete="current-password"></label>
        <label>New password <input name="password" type="password" required minlength="8" maxlength="256" autocomplete="new-password"></label>
        <label>New password again <input name="confirm" type="password" required autocomplete="new-password"></label>
        <button type="submit">Change password</button>
      </form>`;
    return reply
      .code(status)
      .type('text/html')
      .send(renderPage(request, { title: 'Change password', body }));
  }

  app.get('/password', async (request, reply) => {
    if (!request.auth || request.auth.stage === 'mfa') return reply.redirect(nextPath(ctx, request));
    return passwordPage(request, reply, []);
  });

  app.post('/password', async (request, reply) => {
    const auth = request.auth;
    if (!auth || auth.stage === 'mfa') return reply.redirect(nextPath(ctx, request));
    const current = field(request.body, 'current');
    const next = field(request.body, 'password');
    const user = getUserById(ctx.db, auth.user.id)!;
    if (!(await verifyPassword(current, user.password_hash))) {
      registerFailure(loginContextFor(ctx, request), user, 'wrong current password at password change');
      if (getUserById(ctx.db, user.id)!.locked_at !== null) {
        deleteSession(ctx.db, auth.session.id_hash);
        setSessionCookie(reply, ctx, null);
        return reply.redirect('/login');
      }
      return passwordPage(request, reply, ['The current password is wrong.'], 400);
    }
    if (next !== field(request.body, 'confirm')) return passwordPage(request, reply, ['The two new passwords differ.'], 400);
    const problems = await changeOwnPassword(ctx.db, user.id, next, ctx.now());
    if (problems.length > 0)
      return passwordPage(
        request,
        reply,
        problems.map((p) => `New password: ${p}.`),
        400,
      );
    recordAuthEvent(ctx.db, { at: ctx.now(), userName: user.name, event: 'password_changed', address: request.ip });
    // Other browsers logged in with the old password are logged out; this one gets a new id.
    deleteUserSessions(ctx.db, user.id, auth.session.id_hash);
    ctx.db.prepare('UPDATE admin_users SET failed_attempts = 0 WHERE id = ?').run(user.id);
    const { id, row } = rotateSession(ctx.db, auth.session, ctx.now(), auth.session.mfa_done === 1);
    setSessionCookie(reply, ctx, id);
    const fresh = getUserById(ctx.db, user.id)!;
    request.auth = { session: row, user: fresh, stage: stageOf(ctx, row, fresh) };
    return reply.redirect(nextPath(ctx, request));
  });

  app.post('/logout', async (request, reply) => {
    if (request.auth) {
      deleteSession(ctx.db, request.auth.session.id_hash);
      recordAuthEvent(ctx.db, { at: ctx.now(), userName: request.auth.user.name, event: 'logout', address: request.ip });
    }
    setSessionCookie(reply, ctx, null);
    return reply.redirect('/login');
  });
};
