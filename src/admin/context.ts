// What the admin app is built from, and what every route plugin receives.
import type { Database } from 'better-sqlite3';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Reports } from '../store/reader.js';
import type { ChangeControl } from '../changes/service.js';
import type { LiveDeps } from './live.js';

/** One exception as the resolver's policy takes it. */
export interface PolicyException {
  id?: number;
  domain: string;
  action: 'allow' | 'deny';
  groups: string[];
}

export interface AdminDeps {
  config: Config;
  db: Database;
  logger: Logger;
  /**
   * Without `changes`: the live policy the admin app's own change control pushes
   * the governed exceptions to after every applied change (and at start).
   */
  policy?: { setExceptions(list: PolicyException[]): void };
  /** The service's change control (src/changes/); the admin app makes its own on `db` when absent. */
  changes?: ChangeControl;
  /** Whether the current matcher puts a name in an illegal category (IWF, CTIRU). */
  isIllegal?: (name: string) => boolean;
  /** Clock in milliseconds; tests inject one. */
  now?: () => number;
  /** Query-log searches and reports, run off the event loop (a StoreReader); inline on `db` when absent. */
  reports?: Reports;
  /** More route plugins (registered after the built-in ones). */
  extraRoutes?: AdminRoutePlugin[];
  /** The running service's state and engines for the content pages (see live.ts); absent parts show as not available. */
  live?: LiveDeps;
}

/** The deps with defaults filled in, handed to every route plugin as `opts.ctx`. */
export interface AdminContext extends Required<Omit<AdminDeps, 'policy' | 'isIllegal' | 'extraRoutes' | 'live'>> {
  changes: ChangeControl;
  live: LiveDeps;
  policy?: AdminDeps['policy'];
  isIllegal?: AdminDeps['isIllegal'];
  /** Served over HTTPS: cookies get Secure, responses get HSTS. */
  https: boolean;
  /** Seals TOTP secrets at rest (secret-box.ts). */
  secretKey: Buffer;
}

export interface AdminRouteOptions {
  ctx: AdminContext;
}

/** A page or API plugin: `async (app, { ctx }) => { app.get(...) }`. */
export type AdminRoutePlugin = FastifyPluginAsync<AdminRouteOptions>;
