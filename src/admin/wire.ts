// How src/app.ts hands the running service to the admin UI: one call builds
// AdminDeps.live from the parts. Every getter reads the part when a page asks,
// so a part replaced on reload (the alert engine) is picked up.
import type { EncryptedDns } from '../resolver/encrypted.js';
import { runSelfTest } from '../checks/self-test.js';
import type { Config } from '../config.js';
import type { AlertEngine } from '../alerts/engine.js';
import type { ReportService } from '../reports/service.js';
import type { ListManager } from '../lists/manager.js';
import type { CacheHandler } from '../resolver/cache.js';
import type { LinkManager } from '../resolver/links.js';
import type { DnsServer } from '../resolver/server.js';
import type { Admission } from '../resolver/admission.js';
import type { RebindingHandler } from '../resolver/rebinding.js';
import type { QueryLog } from '../store/query-log.js';
import type { PolicyHandler } from '../resolver/policy.js';
import type { GroupIdentifier } from '../resolver/identify.js';
import type { BlockExplanation, ConfigRejection, LiveDeps, LiveIdentity } from './live.js';
import { isSwitchedOff, type PolicyDocument } from '../changes/document.js';
import type { BlockCounter } from './metrics.js';

/** The parts of a running Gatehouse the admin UI reads (the Gatehouse class in app.ts has them all). */
export interface RunningParts {
  config: Config;
  links: LinkManager;
  server: DnsServer;
  admission: Admission;
  rebinding: RebindingHandler;
  cache: CacheHandler;
  lists: ListManager;
  queryLog: QueryLog;
  alerts: AlertEngine;
  reports: ReportService;
  policy: PolicyHandler;
  groups: GroupIdentifier;
  /** The self-test's check token (checks/check-token.ts), so its queries are kept apart as check traffic. */
  checkToken?: Buffer;
  configRejected: ConfigRejection | undefined;
  /** The identity service (src/identity/service.ts). */
  identity?: LiveIdentity;
  /** The governed policy (for the switch-offs the self-test must expect). */
  changes?: { doc: PolicyDocument };
  /** DoH and DoT, when configured. */
  encrypted?: Pick<EncryptedDns, 'status'>;
}

/**
 * What the block page says about a host for a client: the policy's own
 * decision for the client's group (exceptions, schedules, keywords and all),
 * so the page never disagrees with the resolver.
 */
export function blockExplainer(policy: Pick<PolicyHandler, 'explain'>, groups: Pick<GroupIdentifier, 'groupOf'>) {
  return (host: string, clientAddress: string): BlockExplanation => {
    const e = policy.explain(host, groups.groupOf(clientAddress).name);
    return {
      group: e.group,
      illegal: e.illegal,
      blocked: e.blocked,
      ...(e.category ? { category: e.category, categoryName: e.categoryName } : {}),
    };
  };
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
  return {
    links: () => g.links.status(),
    dns: () => g.server.stats,
    cache: () => g.cache.stats,
    guards: () => ({ admission: g.admission.stats, rebinding: g.rebinding.stats }),
    lists: () => g.lists.status(),
    queryLog: () => g.queryLog.stats(),
    alerts: {
      list: (filter) => g.alerts.list(filter),
      get: (id) => g.alerts.get(id),
      acknowledge: (id, user) => g.alerts.acknowledge(id, user),
      close: (id, user, outcome) => g.alerts.close(id, user, outcome),
      pendingDeliveries: () => g.alerts.pendingDeliveries(),
      operational: (e) => g.alerts.operational(e),
      notice: (n) => g.alerts.notice(n),
    },
    selfTest: ({ groups }) =>
      runSelfTest({
        config: g.config,
        server: selfTestServer(g),
        ...(groups ? { groups } : {}),
        now,
        checkToken: g.checkToken,
        ...(g.changes ? { unfiltered: (group: string, source: string) => isSwitchedOff(g.changes!.doc, group, source) } : {}),
      }),
    explain: blockExplainer(g.policy, g.groups),
    reports: g.reports,
    ...(blocks ? { blocksByCategory: () => blocks.snapshot() } : {}),
    configRejected: () => g.configRejected,
    ...(g.encrypted ? { encrypted: () => g.encrypted!.status() } : {}),
    ...(g.identity
      ? {
          identity: {
            status: () => g.identity!.status(),
            pollDevices: () => g.identity!.pollDevices(),
            lookup: (address: string) => g.identity!.lookup(address),
          },
        }
      : {}),
  };
}
