// What happens after an answer has been sent: one row in the query log, and an
// event for the alert engine when a lookup was blocked or tried to get round
// the filter. Both only touch memory here (the query log's columnar buffer, the
// alert engine's throttle map); SQLite and the channels are reached later, off
// the query path.
import type { Config } from '../config.js';
import type { QueryObserver } from './server.js';
import type { Answer, Query } from './types.js';
import type { QueryLog } from '../store/query-log.js';

/** What the observer needs of the query log (src/store/query-log.ts). */
export type QueryLogSink = Pick<QueryLog, 'record'>;

const ACTION = { allow: 0, block: 1, rewrite: 2 } as const;

/** Category ids and link names to the small integers the query log stores. */
export class LogIndexes {
  categories = new Map<string, number>();
  links = new Map<string, number>();

  configure(config: Config): void {
    this.categories = new Map(config.categories.map((c, i) => [c.id, i]));
    this.links = new Map(config.links.map((l, i) => [l.name, i]));
  }
}

export class QueryLogObserver implements QueryObserver {
  constructor(
    private readonly sink: QueryLogSink,
    private readonly indexes: LogIndexes,
    private readonly now: () => number = Date.now,
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
      a.link !== undefined ? (this.indexes.links.get(a.link) ?? -1) : -1,
      a.rcode,
      latencyUs,
      a.source === 'cache' || a.source === 'stale',
    );
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
  /** The self-test's own names (checks.names): expected to be blocked, never a safeguarding event. */
  private testNames = new Set<string>();

  constructor(
    private readonly sink: AlertSink,
    private readonly now: () => number = Date.now,
  ) {}

  configure(config: Config): void {
    this.categories = new Map(
      config.categories.map((c) => [c.id, { severity: c.severity, illegal: c.illegal, circumvention: c.circumvention }]),
    );
    this.testNames = new Set(
      Object.values(config.checks.names)
        .flat()
        .map((n) => n.toLowerCase().replace(/\.$/, '')),
    );
  }

  onAnswer(q: Query, a: Answer): void {
    const d = a.decision;
    if (d === undefined || (d.action !== 'block' && !d.circumvention)) return;
    if (this.testNames.has(q.name)) return;
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
      // Canaries (DoH canary, Private Relay) have no list category: they are circumvention.
      category: d.category ?? 'circumvention',
      severity: facts?.severity ?? (d.circumvention ? 'medium' : 'none'),
      domain: facts?.illegal ? '' : q.name,
      circumvention: d.circumvention === true || facts?.circumvention === true,
      illegal: facts?.illegal === true,
    });
  }
}
