// Shared set-up for the admin tests: a temp SQLite database, a parsed config,
// the real app (inject only), users, and a client that logs in step by step.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { TOTP, Secret } from 'otpauth';
import { buildAdminApp } from '../../src/admin/app.js';
import type { AdminDeps, PolicyException } from '../../src/admin/context.js';
import { createUser, getUserByName, type Role } from '../../src/admin/users.js';
import { loadSecretKey, openSecret } from '../../src/admin/secret-box.js';
import { parseConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { openDatabase } from '../../src/store/db.js';

export function testConfig(dir: string, adminYaml = ''): Config {
  return parseConfig(
    `links:
  - { name: primary, upstreams: ["udp://127.0.0.1:53"] }
groups:
  - { name: pupils, networks: ["127.0.0.2/32"] }
  - { name: staff, networks: ["127.0.0.3/32"] }
  - { name: guests, default: true }
store:
  path: ${join(dir, 'gatehouse.db')}
admin:
${adminYaml.includes('allowedNetworks') ? '' : '  allowedNetworks: ["127.0.0.0/8", "::1/128"]'}
${adminYaml}`,
    join(dir, 'gatehouse.yaml'),
  );
}

export interface Harness {
  app: FastifyInstance;
  db: Database.Database;
  config: Config;
  clock: { now: number };
  policyCalls: PolicyException[][];
  close(): Promise<void>;
}

export async function harness(
  opts: { adminYaml?: string; isIllegal?: (n: string) => boolean; deps?: Partial<AdminDeps> } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-admin-'));
  const config = testConfig(dir, opts.adminYaml);
  // The real store: its migrations create the admin tables.
  const db = openDatabase(config.store.path);
  const clock = { now: Date.parse('2026-03-02T09:00:00Z') };
  const policyCalls: PolicyException[][] = [];
  const app = await buildAdminApp({
    config,
    db,
    logger: silentLogger(),
    now: () => clock.now,
    policy: { setExceptions: (list) => policyCalls.push(list) },
    isIllegal: opts.isIllegal,
    ...opts.deps,
  });
  return {
    app,
    db,
    config,
    clock,
    policyCalls,
    async close() {
      await app.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const PASSWORD = 'Initial-Pass1';
export const NEW_PASSWORD = 'Changed-Pass2';

export async function addUser(h: Harness, name: string, role: Role, password = PASSWORD) {
  return createUser(h.db, { name, role, password, actor: 'test', now: h.clock.now });
}

/**
 * An account past its first-login password change (it logs in with PASSWORD):
 * tests about other things skip the hashing a password change costs.
 */
export async function addReadyUser(h: Harness, name: string, role: Role) {
  const user = await addUser(h, name, role);
  h.db.prepare('UPDATE admin_users SET must_change_password = 0 WHERE id = ?').run(user.id);
  return user;
}

/** A user's TOTP secret, opened with the key file beside the database (as the app does). */
export function totpSecretOf(db: Database.Database, storePath: string, name: string): string {
  const user = getUserByName(db, name)!;
  const secret = user.totp_secret ? openSecret(loadSecretKey(storePath), user.id, user.totp_secret) : null;
  if (!secret) throw new Error(`${name} has no TOTP secret that opens`);
  return secret;
}

/** The current TOTP code for a secret at the harness clock (as an authenticator app would show). */
export function totpCode(secret: string, at: number): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: at });
}

/** The TOTP key as the enrolment page shows it (in groups of four), without the spaces; null when not enrolling. */
export function shownTotpKey(body: string): string | null {
  const m = /id="totp-secret">([A-Z2-7 ]+)</.exec(body);
  return m ? m[1].replace(/ /g, '') : null;
}

/** The recovery codes on the page that shows them once. */
export function shownRecoveryCodes(body: string): string[] {
  const list = /<ol class="codes" id="recovery-codes">([\s\S]*?)<\/ol>/.exec(body);
  return list ? [...list[1].matchAll(/<code>([0-9A-Z-]+)<\/code>/g)].map((m) => m[1]) : [];
}

/** A browser-like client: keeps cookies, knows the CSRF token from the last page. */
export class Client {
  cookies = new Map<string, string>();
  csrf = '';
  /** The recovery codes shown at the last MFA enrolment. */
  recoveryCodes: string[] = [];
  /** `remoteAddress`: the client address the requests come from (default 127.0.0.1). */
  constructor(
    readonly h: Harness,
    readonly remoteAddress?: string,
    readonly headers: Record<string, string> = {},
  ) {}

  private remember(res: LightMyRequestResponse) {
    for (const c of res.cookies as { name: string; value: string; maxAge?: number }[]) {
      if (c.value === '' || c.maxAge === 0) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    const m = /<meta name="csrf-token" content="([^"]*)"/.exec(res.body);
    if (m) this.csrf = m[1];
  }

  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(url: string) {
    const res = await this.h.app.inject({
      method: 'GET',
      url,
      remoteAddress: this.remoteAddress,
      headers: { ...this.headers, cookie: this.cookieHeader() },
    });
    this.remember(res);
    return res;
  }

  /** POST a form; the CSRF token is added unless `csrf: false`. */
  async post(url: string, fields: Record<string, string | string[]>, opts: { csrf?: boolean } = {}) {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    if (opts.csrf !== false && this.csrf) body.append('_csrf', this.csrf);
    const res = await this.h.app.inject({
      method: 'POST',
      url,
      payload: body.toString(),
      remoteAddress: this.remoteAddress,
      headers: { ...this.headers, cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
    });
    this.remember(res);
    return res;
  }

  async api(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, opts: { csrf?: boolean } = {}) {
    const headers: Record<string, string> = { ...this.headers, cookie: this.cookieHeader() };
    if (opts.csrf !== false) headers['x-csrf-token'] = this.csrf;
    const res = await this.h.app.inject({
      method,
      url,
      headers,
      remoteAddress: this.remoteAddress,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    this.remember(res);
    return res;
  }

  async submitLogin(name: string, password: string) {
    const page = await this.get('/login');
    const token = /name="_login" value="([^"]+)"/.exec(page.body)![1];
    return this.post('/login', { _login: token, username: name, password }, { csrf: false });
  }

  /**
   * The whole login: password, MFA (enrolling if needed), first-login password
   * change. Returns the user's TOTP secret when they have one.
   */
  async login(name: string, password = PASSWORD, newPassword = NEW_PASSWORD): Promise<string | null> {
    let res = await this.submitLogin(name, password);
    if (res.statusCode !== 302) throw new Error(`login failed: ${res.statusCode}`);
    let secret: string | null = null;
    // Where the login goes on to: a redirect, or the link on the recovery codes page.
    let next = res.headers.location as string | undefined;
    if (next === '/login/mfa') {
      const page = await this.get('/login/mfa');
      const shown = shownTotpKey(page.body);
      secret = shown ?? totpSecretOf(this.h.db, this.h.config.store.path, name);
      res = await this.post('/login/mfa', { code: totpCode(secret!, this.h.clock.now) });
      this.h.clock.now += 30_000; // the next code must come from a later step
      if (shown) {
        // Enrolment ends on the recovery codes, shown once; their page links on to the next step.
        this.recoveryCodes = shownRecoveryCodes(res.body);
        next = /id="recovery-codes-saved" href="([^"]+)"/.exec(res.body)?.[1];
      } else next = res.headers.location as string | undefined;
      if (!next) throw new Error(`MFA step did not finish: ${res.statusCode} ${res.body.slice(0, 300)}`);
    }
    if (next === '/password') {
      await this.get('/password');
      res = await this.post('/password', { current: password, password: newPassword, confirm: newPassword });
      if (res.statusCode !== 302) throw new Error(`login did not finish: ${res.statusCode} ${res.body.slice(0, 300)}`);
    }
    await this.get('/account'); // a page of ours, for the new session's CSRF token
    return secret;
  }
}
