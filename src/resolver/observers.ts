// What happens after an answer has been sent: one row in the query log, and an
// event for the alert engine when a lookup was blocked or tried to get round
// the filter. Both only touch memory here (the query log's columnar buffer, the
// alert engine's throttle map); SQLite and the channels are reached later, off
// the query path.
import type { Config } from '../config.js';
import { hasCheckToken } from '../checks/check-token.js';
import type { QueryObserver } from './server.js';
import type { Answer, Query } from './types.js';
import type { QueryLog } from '../store/query-log.js';
import { loggedCategoryIds } from './categories.js';
import { REMOTE_LINK } from './encrypted-config.js';
import { TRANSPORT_CODES } from '../store/batch.js';

/** What the observer needs of the query log (src/store/query-log.ts). */
export type QueryLogSink = Pick<QueryLog, 'record'>;

const ACTION = { allow: 0, block: 1, rewrite: 2 } as const;

/** Every Decision.reason the policy gives (policy.ts, circumvention.ts, safe-search.ts), as the query log records them. */
export const DECISION_REASONS = [
  'illegal',
  'deny-exception',
  'allow-exception',
  'category',
  'schedule',
  'keyword',
  'cname',
  'canary',
  'private-relay',
  'ddr',
  'safe-search',
  'help-service',
] as const;

/** Reasons whose block came from a list entry (so the list is worth recording). */
const LIST_REASONS = new Set(['illegal', 'category', 'schedule', 'cname']);

/** Category ids, link names, list ids and reasons to the small integers the query log stores. */
export class LogIndexes {
  categories = new Map<string, number>();
  links = new Map<string, number>();
  lists = new Map<string, number>();
  readonly reasons = new Map<string, number>(DECISION_REASONS.map((r, i) => [r, i]));

  /** The pseudo-link of requests from outside the school (REMOTE_LINK): after the config's links (see loggedLinkNames). */
  remoteLink = 0;

  configure(config: Config): void {
    this.categories = new Map(loggedCategoryIds(config.categories).map((id, i) => [id, i]));
    this.links = new Map(config.links.map((l, i) => [l.name, i]));
    this.remoteLink = config.links.length;
    this.lists = new Map(config.lists.map((l, i) => [l.id, i]));
  }
}

/** The link names the query log's link indexes stand for: the config's links, then `remote` (DoH/DoT from outside the school). */
export function loggedLinkNames(config: Config): string[] {
  return [...config.links.map((l) => l.name), REMOTE_LINK];
}

/** Which list of `category` blocks `name` (the lists' slow path, lists/matcher.ts explain()); undefined if none says so. */
export type ListFinder = (name: string, category: string) => string | undefined;

export class QueryLogObserver implements QueryObserver {
  constructor(
    private readonly sink: QueryLogSink,
    private readonly indexes: LogIndexes,
    private readonly now: () => number = Date.now,
    private readonly listOf?: ListFinder,
  ) {}

  onAnswer(q: Query, a: Answer, latencyUs: number): void {
    const d = a.decision;
    this.sink.record(
      this.now(),
      q.client.address,
      q.client.group.index,
      q.name,
      q.type,
      d ? ACTION[d.action] : ACTION.allow,
      d?.category !== undefined ? (this.indexes.categories.get(d.category) ?? -1) : -1,
      // From outside the school, the link is `remote` (and the address the public one it came from).
      q.client.remote === true ? this.indexes.remoteLink : a.link !== undefined ? (this.indexes.links.get(a.link) ?? -1) : -1,
      a.rcode,
      latencyUs,
      a.source === 'cache' || a.source === 'stale',
      d ? (this.indexes.reasons.get(d.reason) ?? -1) : -1,
      d !== undefined && d.category !== undefined ? this.listIndex(q, d.reason, d.category, d.target) : -1,
      q.check === true,
      TRANSPORT_CODES[q.transport],
      // Who was behind the address then (src/identity/), read from the frozen identity object.
      q.client.identity?.personId ?? 0,
      q.client.identity?.deviceId ?? 0,
    );
  }

  /** The list behind a list-based block: found after the answer is sent, only for blocks (a few µs each). */
  private listIndex(q: Query, reason: string, category: string, target: string | undefined): number {
    if (this.listOf === undefined || !LIST_REASONS.has(reason)) return -1;
    const id = this.listOf(target ?? q.name, category);
    return id === undefined ? -1 : (this.indexes.lists.get(id) ?? -1);
  }
}

/**
 * Marks the self-test's own queries (q.check), which carry the service's
 * check token in an EDNS option (checks/check-token.ts). Added first, so the
 * query log and the alerts see the mark. Only queries with EDNS are looked at.
 */
export class CheckTrafficMarker implements QueryObserver {
  constructor(private readonly token: Buffer) {}

  onAnswer(q: Query): void {
    if (q.edns && hasCheckToken(q.wire, q.questionEnd, this.token)) q.check = true;
  }
}

export interface AlertSink {
  observe(e: {
    at: number;
    client: string;
    group: string;
    category: string;
    severity: 'none' | 'low' | 'medium' | 'high' | 'critical';
    domain: string;
    circumvention: boolean;
    illegal: boolean;
    personId?: number;
    deviceId?: number;
  }): void;
}

interface CategoryFacts {
  severity: 'none' | 'low' | 'medium' | 'high' | 'critical';
  illegal: boolean;
  circumvention: boolean;
}

/** Blocked and circumvention lookups go to the alert engine. */
export class AlertObserver implements QueryObserver {
  private categories = new Map<string, CategoryFacts>();

  constructor(
    private readonly sink: AlertSink,
    private readonly now: () => number = Date.now,
  ) {}

  configure(config: Config): void {
    this.categories = new Map(
      config.categories.map((c) => [c.id, { severity: c.severity, illegal: c.illegal, circumvention: c.circumvention }]),
    );
  }

  onAnswer(q: Query, a: Answer): void {
    const d = a.decision;
    if (d === undefined || (d.action !== 'block' && !d.circumvention)) return;
    // The self-test's own queries, recognised by the token they carry, never by
    // name: a name exempt for everyone would hide a real site's lookups too.
    if (q.check === true) return;
    // Firefox asks the DoH canary, and operating systems ask resolver.arpa, by
    // themselves on every start: answered and logged, but nobody did anything
    // to alert the DSL about. Private Relay (a setting someone turned on) and
    // the VPN / proxy / DoH categories do alert.
    if (d.reason === 'canary' || d.reason === 'ddr') return;
    const facts = d.category !== undefined ? this.categories.get(d.category) : undefined;
    this.sink.observe({
      at: this.now(),
      client: q.client.address,
      group: q.client.group.name,
      // Canaries (Private Relay) carry the built-in canary category (categories.ts).
      category: d.category ?? 'circumvention',
      severity: facts?.severity ?? (d.circumvention ? 'medium' : 'none'),
      domain: facts?.illegal ? '' : q.name,
      circumvention: d.circumvention === true || facts?.circumvention === true,
      illegal: facts?.illegal === true,
      personId: q.client.identity?.personId,
      deviceId: q.client.identity?.deviceId,
    });
  }
}
