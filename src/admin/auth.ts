// Who is asking: loads the session from its cookie on every request, refuses
// state-changing requests without the session's CSRF token, and provides the
// role guards routes use as preHandlers.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { AdminContext } from './context.js';
import { html } from './html.js';
import { cookieHeader, field, parseCookies } from './security.js';
import { deleteSession, loadSession, type SessionRow } from './session.js';
import { getUserById, passwordExpired, ROLES, type Role, type UserRow } from './users.js';
import { renderPage } from './views/layout.js';

export type Stage = 'mfa' | 'password' | 'ready';

export interface AuthState {
  session: SessionRow;
  user: UserRow;
  /** What the user must still do before using the UI. */
  stage: Stage;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthState | null;
  }
  interface FastifyContextConfig {
    /** Set false only for the login form, which has its own double-submit token. */
    csrf?: boolean;
  }
}

export function sessionCookieName(https: boolean): string {
  // __Host- cookies must be Secure, Path=/ and have no Domain: browsers enforce it.
  return https ? '__Host-gh_session' : 'gh_session';
}

export function setSessionCookie(reply: FastifyReply, ctx: AdminContext, id: string | null): void {
  const name = sessionCookieName(ctx.https);
  reply.header('Set-Cookie', cookieHeader(name, id ?? '', { secure: ctx.https, ...(id === null ? { maxAgeSeconds: 0 } : {}) }));
}

export function sessionLimits(ctx: AdminContext) {
  return { idleMs: ctx.config.admin.sessionIdleMinutes * 60_000, absoluteMs: ctx.config.admin.sessionAbsoluteHours * 3_600_000 };
}

/** Whether a login needs the second step: MFA is on for the account, or its role must have it (admin.mfaRoles). */
export function mfaRequired(ctx: AdminContext, user: UserRow): boolean {
  return user.totp_enabled === 1 || ctx.config.admin.mfaRoles.includes(user.role);
}

export function stageOf(ctx: AdminContext, session: SessionRow, user: UserRow): Stage {
  if (!session.mfa_done && mfaRequired(ctx, user)) return 'mfa';
  if (user.must_change_password || passwordExpired(user, ctx.config.admin.passwordExpiryDays, ctx.now())) return 'password';
  return 'ready';
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function installAuth(app: FastifyInstance, ctx: AdminContext): void {
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/static/')) return; // assets need no session (and no database write)
    const id = parseCookies(request.headers.cookie).get(sessionCookieName(ctx.https));
    if (!id) return;
    const session = loadSession(ctx.db, id, ctx.now(), sessionLimits(ctx));
    if (!session) return;
    const user = getUserById(ctx.db, session.user_id);
    if (!user || user.disabled) {
      deleteSession(ctx.db, session.id_hash);
      return;
    }
    request.auth = { session, user, stage: stageOf(ctx, session, user) };
  });
  app.addHook('preHandler', async (request, reply) => {
    if (SAFE_METHODS.has(request.method) || request.routeOptions.config?.csrf === false) return;
    const sent = (request.headers['x-csrf-token'] as string | undefined) ?? field(request.body, '_csrf');
    if (!request.auth || !sent || !sameToken(sent, request.auth.session.csrf_token)) {
      return reply.code(403).type('text/plain').send('Forbidden: missing or wrong CSRF token. Reload the page and try again.\n');
    }
  });
}

const isApi = (request: FastifyRequest) => request.url.startsWith('/api/');

/**
 * A preHandler that admits only fully logged-in users with one of the roles.
 * Pages redirect to the next login step; the API answers 401/403 in JSON.
 */
export function requireRole(...roles: Role[]): preHandlerAsyncHookHandler {
  return async (request, reply) => {
    const auth = request.auth;
    if (!auth) {
      return isApi(request) ? reply.code(401).send({ error: 'not logged in' }) : reply.redirect('/login');
    }
    if (auth.stage !== 'ready') {
      if (isApi(request)) return reply.code(403).send({ error: auth.stage === 'mfa' ? 'MFA required' : 'password change required' });
      return reply.redirect(auth.stage === 'mfa' ? '/login/mfa' : '/password');
    }
    if (!roles.includes(auth.user.role)) {
      if (isApi(request)) return reply.code(403).send({ error: 'your role may not do this' });
      const body = html`<p>Your role (${auth.user.role}) may not open this page or make this change.</p><p><a href="/">Back to your home page</a></p>`;
      return reply
        .code(403)
        .type('text/html')
        .send(renderPage(request, { title: 'Not allowed', body }));
    }
  };
}

/** Any logged-in user, whatever the role. */
export const requireUser = requireRole(...ROLES);

/** The roles that see the running service (dashboard, alerts): everyone but an approver, whose work is change requests. */
export const requireStaff = requireRole('admin', 'dsl', 'auditor');

/** The acting user's name, for the change log. */
export function actorOf(request: FastifyRequest): string {
  return request.auth?.user.name ?? 'unknown';
}
