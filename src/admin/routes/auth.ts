// Login (password, then TOTP code or MFA enrolment, then a forced password
// change when due), logout, and the account page.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordAuthEvent } from '../audit.js';
import { requireUser, setSessionCookie, stageOf } from '../auth.js';
import type { AdminContext, AdminRoutePlugin } from '../context.js';
import { html } from '../html.js';
import { checkCodeStep, checkPasswordStep, completeLogin, registerFailure, type LoginContext } from '../login.js';
import { verifyPassword } from '../passwords.js';
import { RateLimiter } from '../ratelimit.js';
import { cookieHeader, field, parseCookies } from '../security.js';
import { createSession, deleteSession, deleteUserSessions, rotateSession } from '../session.js';
import { checkTotp, newTotpSecret, qrDataUrl, totpUri } from '../totp.js';
import { openSecret, sealSecret } from '../secret-box.js';
import { changeOwnPassword, getUserById, type UserRow } from '../users.js';
import { csrfField, messages, renderPage } from '../views/layout.js';
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

function loginContext(ctx: AdminContext, request: FastifyRequest): LoginContext {
  return {
    db: ctx.db,
    secretKey: ctx.secretKey,
    now: ctx.now(),
    address: request.ip,
    unlockAfterMinutes: ctx.config.admin.unlockAfterMinutes,
  };
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
    const result = await checkPasswordStep(loginContext(ctx, request), name, password);
    if (!result.ok) return loginPage(request, reply, [loginFailedText(ctx)], 401);
    const user = result.user;
    const needsMfa = user.totp_enabled === 1 || user.role === 'admin';
    // A fresh session id at login (no fixation); any old session of this browser ends.
    if (request.auth) deleteSession(ctx.db, request.auth.session.id_hash);
    const { id, row } = createSession(ctx.db, user.id, ctx.now(), request.ip, !needsMfa);
    if (!needsMfa) completeLogin(loginContext(ctx, request), user);
    setSessionCookie(reply, ctx, id);
    request.auth = { session: row, user, stage: stageOf(ctx, row, user) };
    return reply.redirect(nextPath(ctx, request));
  });

  async function mfaPage(request: FastifyRequest, reply: FastifyReply, user: UserRow, errors: string[], status = 200) {
    const enrolling = user.totp_enabled !== 1;
    const secret = enrolling && user.totp_secret ? openSecret(ctx.secretKey, user.id, user.totp_secret) : null;
    const qr = secret ? await qrDataUrl(totpUri(secret, user.name)) : '';
    const body = html`${messages('error', errors)}
      ${
        enrolling
          ? html`<p>Your role needs a second factor. Scan this code with an authenticator app (for example Microsoft or Google
            Authenticator), or type the key into it, then enter the 6-digit code it shows.</p>
            <figure class="qr"><img src="${qr}" alt="QR code for the authenticator app" width="200" height="200">
            <figcaption>Key: <code id="totp-secret">${secret ?? ''}</code></figcaption></figure>`
          : html`<p>Enter the 6-digit code from your authenticator app.</p>`
      }
      <form method="post" class="card narrow" autocomplete="off">${csrfField(request)}
        <label>Code <input name="code" inputmode="numeric" pattern="[0-9 ]{6,7}" maxlength="7" required autocomplete="one-time-code"></label>
        <button type="submit">${enrolling ? 'Turn on MFA' : 'Verify'}</button>
      </form>`;
    return reply
      .code(status)
      .type('text/html')
      .send(renderPage(request, { title: enrolling ? 'Set up MFA' : 'Verify your identity', body }));
  }

  /**
   * Make sure an enrolling user has a (not yet enabled) secret that opens with
   * this key (a pending one sealed with a lost key is replaced); returns the fresh row.
   */
  function ensureSecret(user: UserRow): UserRow {
    if (user.totp_enabled !== 1 && (!user.totp_secret || openSecret(ctx.secretKey, user.id, user.totp_secret) === null)) {
      ctx.db
        .prepare('UPDATE admin_users SET totp_secret = ? WHERE id = ? AND totp_enabled = 0')
        .run(sealSecret(ctx.secretKey, user.id, newTotpSecret()), user.id);
      return getUserById(ctx.db, user.id)!;
    }
    return user;
  }

  /** Enable MFA when the code fits the pending secret; false when it does not. */
  function enrol(request: FastifyRequest, user: UserRow, code: string): boolean {
    const secret = user.totp_secret ? openSecret(ctx.secretKey, user.id, user.totp_secret) : null;
    const step = secret ? checkTotp(secret, code, ctx.now(), 0) : null;
    if (step === null) return false;
    ctx.db.prepare('UPDATE admin_users SET totp_enabled = 1, totp_last_step = ? WHERE id = ?').run(step, user.id);
    recordAuthEvent(ctx.db, { at: ctx.now(), userName: user.name, event: 'mfa_enrolled', address: request.ip });
    return true;
  }

  app.get('/login/mfa', async (request, reply) => {
    if (request.auth?.stage !== 'mfa') return reply.redirect(nextPath(ctx, request));
    return mfaPage(request, reply, ensureSecret(request.auth.user), []);
  });

  app.post('/login/mfa', async (request, reply) => {
    const auth = request.auth;
    if (auth?.stage !== 'mfa') return reply.redirect(nextPath(ctx, request));
    const code = field(request.body, 'code');
    let user = getUserById(ctx.db, auth.user.id)!;
    if (user.totp_enabled !== 1) {
      if (!enrol(request, user, code))
        return mfaPage(request, reply, user, ['That code is not right. Check the time on your phone and try again.'], 400);
    } else {
      const result = checkCodeStep(loginContext(ctx, request), user, code);
      if (!result.ok) {
        if (result.reason === 'locked') {
          deleteSession(ctx.db, auth.session.id_hash);
          setSessionCookie(reply, ctx, null);
          return reply.redirect('/login');
        }
        return mfaPage(request, reply, user, ['That code is not right. After 3 failed attempts the account is locked.'], 401);
      }
    }
    user = getUserById(ctx.db, user.id)!;
    completeLogin(loginContext(ctx, request), user);
    const { id, row } = rotateSession(ctx.db, auth.session, ctx.now(), true);
    setSessionCookie(reply, ctx, id);
    request.auth = { session: row, user, stage: stageOf(ctx, row, user) };
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
      <p class="hint">At least 8 characters, with an upper-case letter and a digit; not containing your user name; not one of your last 5 passwords.</p>
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
      registerFailure(loginContext(ctx, request), user, 'wrong current password at password change');
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

  app.get('/account', { preHandler: requireUser }, async (request, reply) => {
    const user = request.auth!.user;
    const body = html`<dl class="facts">
        <dt>User name</dt><dd>${user.name}</dd>
        <dt>Role</dt><dd>${user.role}</dd>
        <dt>MFA</dt><dd>${user.totp_enabled ? 'on' : 'off'}</dd>
      </dl>
      <p><a class="button" href="/password">Change password</a>
      ${user.totp_enabled ? '' : html` <a class="button" href="/account/mfa">Set up MFA</a>`}</p>`;
    return reply.type('text/html').send(renderPage(request, { title: 'Your account', body }));
  });

  // Optional MFA for roles that do not require it.
  app.get('/account/mfa', { preHandler: requireUser }, async (request, reply) => {
    const user = ensureSecret(request.auth!.user);
    if (user.totp_enabled) return reply.redirect('/account');
    return mfaPage(request, reply, user, []);
  });

  app.post('/account/mfa', { preHandler: requireUser }, async (request, reply) => {
    const user = getUserById(ctx.db, request.auth!.user.id)!;
    if (user.totp_enabled) return reply.redirect('/account');
    if (!enrol(request, user, field(request.body, 'code'))) return mfaPage(request, reply, user, ['That code is not right.'], 400);
    return reply.redirect('/account');
  });
};
