// How src/app.ts hands the running service to the admin UI: one call builds
// AdminDeps.live from the parts. Every getter reads the part when a page asks,
// so a part replaced on reload (the alert engine) is picked up.
import { runSelfTest } from '../checks/self-test.js';
import type { Config } from '../config.js';
import type { AlertEngine } from '../alerts/engine.js';
import type { ListManager } from '../lists/manager.js';
import type { CacheHandler } from '../resolver/cache.js';
import type { LinkManager } from '../resolver/links.js';
import type { DnsServer } from '../resolver/server.js';
import type { QueryLog } from '../store/query-log.js';
import { policyExplainer } from './block-page.js';
import type { LiveDeps } from './live.js';
import type { BlockCounter } from './metrics.js';

/** The parts of a running Gatehouse the admin UI reads (the Gatehouse class in app.ts has them all). */
export interface RunningParts {
  config: Config;
  links: LinkManager;
  server: DnsServer;
  cache: CacheHandler;
  lists: ListManager;
  queryLog: QueryLog;
  alerts: AlertEngine;
}

/** The address the self-test queries: checks.server, else the first DNS listener as bound (port 0 in tests). */
export function selfTestServer(g: RunningParts): string | undefined {
  if (g.config.checks.server) return g.config.checks.server;
  const bound = g.server.addresses().udp[0];
  if (!bound) return undefined;
  const host = bound.address === '0.0.0.0' ? '127.0.0.1' : bound.address === '::' ? '::1' : bound.address;
  return host.includes(':') ? `[${host}]:${bound.port}` : `${host}:${bound.port}`;
}

export function liveDeps(g: RunningParts, blocks?: BlockCounter, now: () => number = Date.now): LiveDeps {
  // Rebuilt only when a reload brings a new config.
  let explainer: { config: Config; explain: ReturnType<typeof policyExplainer> } | undefined;
  return {
    links: () => g.links.status(),
    dns: () => g.server.stats,
    cache: () => g.cache.stats,
    lists: () => g.lists.status(),
    queryLog: () => g.queryLog.stats(),
    alerts: {
      list: (filter) => g.alerts.list(filter),
      get: (id) => g.alerts.get(id),
      acknowledge: (id, user) => g.alerts.acknowledge(id, user),
      close: (id, user, outcome) => g.alerts.close(id, user, outcome),
      pendingDeliveries: () => g.alerts.pendingDeliveries(),
      operational: (e) => g.alerts.operational(e),
    },
    selfTest: ({ groups }) => runSelfTest({ config: g.config, server: selfTestServer(g), ...(groups ? { groups } : {}), now }),
    explain: (host, client) => {
      if (explainer?.config !== g.config) explainer = { config: g.config, explain: policyExplainer(g.config, () => g.lists.matcher, now) };
      return explainer.explain(host, client);
    },
    ...(blocks ? { blocksByCategory: () => blocks.snapshot() } : {}),
  };
}
