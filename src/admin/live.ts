// What the content pages (dashboard, lists, checks, alerts, /metrics) need of
// the running service. src/app.ts passes these as `AdminDeps.live`; every
// field is optional and a page without it says the data is not available.
import type { EncryptedStatus } from '../resolver/encrypted.js';
import type { Alert, AlertHistoryEntry, DeliveryAttempt, Notice, OperationalEvent } from '../alerts/types.js';
import type { ListFilter } from '../alerts/store.js';
import type { CheckResult } from '../checks/self-test.js';
import type { ListStatus } from '../lists/manager.js';
import type { CacheStats } from '../resolver/cache.js';
import type { LinksStatus } from '../resolver/links.js';
import type { ServerStats } from '../resolver/server.js';
import type { AdmissionStats } from '../resolver/admission.js';
import type { RebindingStats } from '../resolver/rebinding.js';
import type { QueryLogStats } from '../store/query-log.js';
import type { IdentityStatus } from '../identity/service.js';
import type { ClientIdentity } from '../identity/types.js';

/** The identity service (src/identity/service.ts): its status for IT, and a nudge after the UI saves a device. */
export interface LiveIdentity {
  status(): IdentityStatus;
  /** Re-read the school's devices now (after the Devices page saved one). */
  pollDevices(): void;
  /** Who and what is at an address now (memory only). */
  lookup(address: string): ClientIdentity | undefined;
}
import type { ReportService } from '../reports/service.js';

/** The alert engine's inbox API (src/alerts/engine.ts AlertEngine has all of it). */
export interface LiveAlerts {
  list(filter?: ListFilter): { total: number; items: Alert[] };
  get(id: number): (Alert & { history: AlertHistoryEntry[]; deliveries: DeliveryAttempt[] }) | undefined;
  acknowledge(id: number, user: string): Alert;
  close(id: number, user: string, outcome: string): Alert;
  /** Outbox rows not yet delivered. */
  pendingDeliveries(): number;
  /** Raise an operational alert (a failed check raises 'check-failed'). */
  operational?(e: OperationalEvent): void;
  /** Queue a change-control notice (AlertEngine.notice). */
  notice?(n: Notice): number | null;
}

/** Why the block page's client got the block answer for a host. */
export interface BlockExplanation {
  /** The client's group. */
  group: string;
  /** Category id and display name; absent when no category applies (a deny exception). */
  category?: string;
  categoryName?: string;
  /** Illegal content: the page shows only the IWF wording. */
  illegal: boolean;
  /** Blocked now for this client (false: the page says it may have been a stale answer). */
  blocked: boolean;
}

/** A config the running service refused on a reload (SIGHUP): it kept the one before. */
export interface ConfigRejection {
  at: number;
  file: string;
  /** As ConfigError has them: the key, its line, what is wrong. */
  problems: { path: string; line?: number; message: string }[];
}

export interface LiveDeps {
  /** LinkManager.status(). */
  links?(): LinksStatus;
  /** DnsServer.stats. */
  dns?(): ServerStats;
  /** CacheHandler.stats. */
  cache?(): CacheStats;
  /** The DNS guards: Admission.stats (allow-list, rate limit) and RebindingHandler.stats. */
  guards?(): { admission: AdmissionStats; rebinding: RebindingStats };
  /** ListManager.status(). */
  lists?(): ListStatus[];
  /** QueryLog.stats(). */
  queryLog?(): QueryLogStats;
  /** The alert engine (or the inbox is read straight from the alert tables, without ack/close side effects on throttling). */
  alerts?: LiveAlerts;
  /** Run the filtering self-test against the running resolver (default: runSelfTest with the config's checks.server / first dns.listen). */
  selfTest?(opts: { groups?: string[] }): Promise<CheckResult>;
  /** The reports (src/reports/service.ts ReportService): made in the report thread, sent through the outbox. */
  reports?: Pick<ReportService, 'make' | 'send' | 'period'>;
  /** The policy's decision for a host and client address, for the block page. */
  explain?(host: string, clientAddress: string): BlockExplanation;
  /** Blocks per category id since start (QueryMetrics.observer counts them); /metrics reads it. */
  blocksByCategory?(): Record<string, number>;
  /** The last reload the service refused, until one succeeds. */
  configRejected?(): ConfigRejection | undefined;
  /** Identity sources and the address → identity map. */
  identity?: LiveIdentity;
  /** DoH and DoT: EncryptedDns.status() (absent when neither is configured). */
  encrypted?(): EncryptedStatus;
}
