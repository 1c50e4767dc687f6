// Set-up for the content-page tests: a config with categories (one illegal),
// the real store with a query log written by the real writer thread, the real
// admin app (inject only) and the cookie-keeping Client from helpers.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAdminApp } from '../../src/admin/app.js';
import type { AdminDeps } from '../../src/admin/context.js';
import { parseConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { loggedCategoryIds } from '../../src/resolver/categories.js';
import { openDatabase } from '../../src/store/db.js';
import { QueryLog } from '../../src/store/query-log.js';
import { addUser, Client, type Harness } from './helpers.js';

export const CATEGORIES = ['adult', 'iwf', 'social'];

export function pagesConfig(dir: string, extra = ''): Config {
  return parseConfig(
    `dns: { listen: ["127.0.0.1:5353"] }
links:
  - { name: fibre, upstreams: ["udp://127.0.0.1:53"] }
  - { name: satellite, upstreams: ["udp://127.0.0.1:54"] }
categories:
  - { id: adult, name: Adult content, severity: high }
  - { id: iwf, name: IWF child abuse list, illegal: true, severity: critical }
  - { id: social, name: Social media }
groups:
  - { name: pupils, networks: ["127.0.0.2/32"], block: [adult, social] }
  - { name: staff, networks: ["127.0.0.3/32"], block: [adult] }
  - { name: guests, default: true, block: [adult, social] }
store:
  path: ${join(dir, 'gatehouse.db')}
admin:
  allowedNetworks: ["127.0.0.0/8", "::1/128"]
  metrics: { token: "metrics-token-0123456789" }
${extra}`,
    join(dir, 'gatehouse.yaml'),
  );
}

export interface PagesHarness extends Harness {
  dir: string;
  log: QueryLog;
}

export async function pagesHarness(opts: { extraYaml?: string; deps?: Partial<AdminDeps>; now?: number } = {}): Promise<PagesHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-pages-'));
  const config = pagesConfig(dir, opts.extraYaml);
  const db = openDatabase(config.store.path);
  const clock = { now: opts.now ?? Date.now() };
  const log = new QueryLog({ path: config.store.path, queueMax: 100_000, logger: silentLogger(), now: () => clock.now });
  await log.start();
  log.setDictionaries({
    groups: config.groups.map((g) => g.name),
    categories: loggedCategoryIds(config.categories),
    links: config.links.map((l) => l.name),
    illegal: config.categories.map((c) => c.illegal),
  });
  const app = await buildAdminApp({ config, db, logger: silentLogger(), now: () => clock.now, ...opts.deps });
  return {
    app,
    db,
    config,
    clock,
    dir,
    log,
    policyCalls: [],
    async close() {
      await app.close();
      await log.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A logged-in client for a new user with the role. */
export async function loggedIn(h: Harness, name: string, role: 'admin' | 'dsl' | 'auditor'): Promise<Client> {
  await addUser(h, name, role);
  const c = new Client(h);
  await c.login(name);
  return c;
}
