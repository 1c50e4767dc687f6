// Builds the admin fastify instance; never listens (server.ts does), so tests
// use app.inject(). The built-in route plugins are listed in one place below.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { requestWithoutQuery } from '../log.js';
import { inlineReports } from '../store/reader.js';
import { installAuth, sessionLimits } from './auth.js';
import type { AdminContext, AdminDeps, AdminRoutePlugin } from './context.js';
import { ChangeControl } from '../changes/service.js';
import { effectiveConfig } from '../changes/document.js';
import { changeRoutes } from './routes/changes.js';
import { navCounts } from './views/nav.js';
import { installOpenApi } from './openapi.js';
import { accountRoutes } from './routes/account.js';
import { authRoutes } from './routes/auth.js';
import { changelogRoutes } from './routes/changelog.js';
import { exceptionRoutes } from './routes/exceptions.js';
import { contentRoutes } from './routes/index.js';
import { userRoutes } from './routes/users.js';
import { ensureAdminSchema } from './schema.js';
import { installSecurity } from './security.js';
import { pageFrameOf } from './views/frame.js';
import { purgeSessions } from './session.js';
import { loadTls } from './tls.js';
import { loadSecretKey, sealPlainSecrets, secretKeyPath } from './secret-box.js';

/** The static shell (CSS, JS); next to this file in src/, or back in src/ when run from dist/. */
function publicDir(): string {
  const beside = fileURLToPath(new URL('./public/', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../src/admin/public/', import.meta.url));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Use a new config (new groups, password and session settings) without a restart: the admin app's part of the one configure contract (src/app.ts). */
    configure(next: Config): void;
  }
}

const coreRoutes: AdminRoutePlugin[] = [authRoutes, accountRoutes, changeRoutes, exceptionRoutes, changelogRoutes, userRoutes];

/**
 * Change control for an admin app used on its own (tests, tools): on the same
 * database, pushing the governed exceptions to `deps.policy` after each applied
 * change. The service passes its own (src/app.ts), which drives the resolver.
 */
function ownChangeControl(deps: AdminDeps, ctx: () => AdminContext, file: () => Config): ChangeControl {
  const changes = new ChangeControl({
    db: deps.db,
    config: file,
    logger: deps.logger,
    ...(deps.now ? { now: deps.now } : {}),
    live: {
      ...(deps.isIllegal ? { isIllegal: deps.isIllegal } : {}),
      apply: (doc) => {
        ctx().config = effectiveConfig(file(), doc);
        try {
          deps.policy?.setExceptions(doc.exceptions.map((e) => ({ id: e.id, domain: e.domain, action: e.action, groups: e.groups })));
        } catch (err) {
          deps.logger.error({ err }, 'admin: the policy refused the exception list');
        }
      },
      alerts: () => {
        const a = deps.live?.alerts;
        return a?.operational && a.notice ? { operational: a.operational, notice: a.notice } : undefined;
      },
    },
  });
  return changes;
}

export async function buildAdminApp(deps: AdminDeps): Promise<FastifyInstance> {
  const admin = deps.config.admin;
  const tls = admin.tls ? loadTls(admin.tls, deps.config.store.path, deps.logger) : undefined;
  let fileConfig = deps.config;
  const own = deps.changes === undefined;
  const changes =
    deps.changes ??
    ownChangeControl(
      deps,
      () => ctx,
      () => fileConfig,
    );
  const ctx: AdminContext = {
    config: own ? effectiveConfig(deps.config, changes.load().doc) : deps.config,
    changes,
    db: deps.db,
    logger: deps.logger,
    policy: deps.policy,
    isIllegal: deps.isIllegal,
    live: deps.live ?? {},
    reports: deps.reports ?? inlineReports(deps.db),
    now: deps.now ?? Date.now,
    https: tls !== undefined,
    secretKey: loadSecretKey(deps.config.store.path),
  };
  if (!deps.isIllegal) deps.logger.warn('admin: no isIllegal check wired; illegal names cannot be refused as exceptions');
  ensureAdminSchema(deps.db);
  const sealed = sealPlainSecrets(deps.db, ctx.secretKey);
  if (sealed > 0)
    deps.logger.info(
      { users: sealed, keyFile: secretKeyPath(deps.config.store.path) },
      'admin: sealed TOTP secrets stored in the clear by an older version',
    );

  const app = Fastify({
    loggerInstance: deps.logger.child({ part: 'admin' }, { serializers: { req: requestWithoutQuery } }),
    trustProxy: admin.trustProxy,
    bodyLimit: 256 * 1024,
    // Request logs carry method, path and address only: never bodies, cookies or query strings.
    ...(tls ? { https: tls } : {}),
  }) as unknown as FastifyInstance;

  installSecurity(app, {
    listen: admin.listen,
    hostnames: admin.hostnames,
    allowedNetworks: admin.allowedNetworks,
    https: ctx.https,
    metrics: admin.metrics,
  });
  installAuth(app, ctx);
  // The menu's counts (requests waiting for an approver, drafts waiting for IT), read once per page.
  app.addHook('preHandler', async (request) => {
    if (request.auth?.stage === 'ready' && request.method === 'GET' && !request.url.startsWith('/api/'))
      request.navCounts = navCounts(ctx.db, request.auth.user.role);
  });
  installOpenApi(app);
  // Unexpected errors: logged in full, answered without detail (nothing was changed: changes are transactions).
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status < 500) {
      return reply.code(status).send({ error: err.message, ...(err.validation ? { code: 'GH_ERR_VALIDATION' } : {}) });
    }
    request.log.error({ err }, 'admin request failed');
    return request.url.startsWith('/api/')
      ? reply.code(500).send({ error: 'internal error; nothing was changed' })
      : reply.code(500).type('text/plain').send('Something went wrong and nothing was changed. The error has been logged.\n');
  });
  app.decorate('pageFrame', pageFrameOf(ctx)); // the time zone and menu counts every page shows
  await app.register(fastifyStatic, { root: publicDir(), prefix: '/static/', index: false, cacheControl: true, maxAge: 3_600_000 });
  for (const plugin of [...coreRoutes, ...contentRoutes, ...(deps.extraRoutes ?? [])]) await app.register(plugin, { ctx });

  // SIGHUP: groups and the account/session settings apply at once; listen, TLS
  // and the network lists are fixed at build time (restart to change them).
  app.decorate('configure', (next: Config) => {
    // With its own change control the admin app gets a config file, whose groups are not applied; from the service, the config it runs with.
    if (own) {
      fileConfig = next;
      ctx.config = effectiveConfig(next, changes.doc);
    } else ctx.config = next;
  });

  // Expired sessions are refused on lookup anyway; this keeps the table small.
  const purge = setInterval(() => purgeSessions(ctx.db, ctx.now(), sessionLimits(ctx)), 10 * 60_000);
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));

  if (own) {
    // The resolver (deps.policy) starts with the governed exceptions; the timer applies and ends changes on time.
    await changes.start();
    app.addHook('onClose', async () => {
      changes.stop();
      await changes.idle();
    });
  }
  return app;
}
