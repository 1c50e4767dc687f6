// Prometheus metrics for /metrics, in their own prom-client registry (never
// the global one, so several apps in one process do not collide). Values are
// read from the running service when Prometheus scrapes; nothing is counted on
// the query path here except BlockCounter, a QueryObserver that keeps one
// integer per category (no domains, no clients: low cardinality by design).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueryObserver } from '../resolver/server.js';
import type { Answer, Query } from '../resolver/types.js';
import type { AdminContext } from './context.js';
import { alertInbox } from './inbox.js';

/** Counts blocked answers per category; wire with `dnsServer.addObserver(counter)` and `live.blocksByCategory`. */
export class BlockCounter implements QueryObserver {
  private counts = new Map<string, number>();

  onAnswer(q: Query, a: Answer): void {
    const d = a.decision;
    // The self-test's own blocks are not the school's.
    if (d === undefined || d.action !== 'block' || q.check === true) return;
    const key = d.category ?? (d.circumvention ? 'circumvention' : 'policy');
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/** A counter fed from a running total read at scrape time (prom-client counters only go up by inc). */
function totalCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Iterable<[Record<string, string>, number]>,
) {
  const last = new Map<string, number>();
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const delta = value - (last.get(key) ?? 0);
        // A total that went down means the source restarted: count from its new value.
        if (delta > 0) this.inc(labels, delta);
        last.set(key, value);
      }
    },
  });
}

export function buildMetrics(ctx: AdminContext): Registry {
  const registry = new Registry();
  const live = ctx.live;
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });

  totalCounter(registry, 'gatehouse_dns_queries_total', 'DNS queries received, by transport', ['transport'], function* () {
    const s = live.dns?.();
    if (s) {
      yield [{ transport: 'udp' }, s.udp];
      yield [{ transport: 'tcp' }, s.tcp];
      yield [{ transport: 'doh' }, s.doh];
      yield [{ transport: 'dot' }, s.dot];
    }
  });
  totalCounter(registry, 'gatehouse_dns_errors_total', 'Malformed, refused or failed queries, by kind', ['kind'], function* () {
    const s = live.dns?.();
    if (s) for (const k of ['formerr', 'notimp', 'servfail', 'dropped', 'truncated'] as const) yield [{ kind: k }, s[k]];
  });
  totalCounter(
    registry,
    'gatehouse_dns_refused_not_allowed_total',
    'Queries from sources outside dns.allowNetworks (answered REFUSED)',
    [],
    function* () {
      const g = live.guards?.();
      if (g) yield [{}, g.admission.notAllowed];
    },
  );
  totalCounter(
    registry,
    'gatehouse_dns_refused_remote_total',
    'DoH/DoT requests from outside dns.allowNetworks without a known identity (HTTP 403 / REFUSED)',
    [],
    function* () {
      const g = live.guards?.();
      if (g) yield [{}, g.admission.remoteRefused];
    },
  );
  totalCounter(
    registry,
    'gatehouse_dns_rate_limited_total',
    'Queries over the per-client rate limit (UDP: TC=1, TCP: REFUSED)',
    ['transport'],
    function* () {
      const g = live.guards?.();
      if (g) {
        yield [{ transport: 'udp' }, g.admission.rateLimitedUdp];
        yield [{ transport: 'tcp' }, g.admission.rateLimitedTcp];
        // DoH and DoT share one count: from outside the school they are limited per identity.
        yield [{ transport: 'encrypted' }, g.admission.rateLimitedEncrypted];
      }
    },
  );
  new Gauge({
    name: 'gatehouse_dns_rate_limited_sources',
    help: 'Client addresses and networks over the rate limit in the last report period',
    registers: [registry],
    collect() {
      const g = live.guards?.();
      if (g) this.set(g.admission.limitedClients);
    },
  });
  totalCounter(
    registry,
    'gatehouse_dns_rebinding_removed_total',
    'Private addresses removed from upstream answers for public names',
    ['unit'],
    function* () {
      const g = live.guards?.();
      if (g) {
        yield [{ unit: 'answers' }, g.rebinding.answers];
        yield [{ unit: 'records' }, g.rebinding.records];
      }
    },
  );
  totalCounter(registry, 'gatehouse_dns_tcp_closed_total', 'TCP connections closed by the server, by reason', ['reason'], function* () {
    const s = live.dns?.();
    if (s) {
      yield [{ reason: 'idle' }, s.tcpSlots.idleClosed];
      yield [{ reason: 'evicted' }, s.tcpSlots.evicted];
      yield [{ reason: 'rejected' }, s.tcpSlots.rejected];
    }
  });
  totalCounter(registry, 'gatehouse_blocks_total', 'Blocked answers by category (never by domain)', ['category'], function* () {
    for (const [category, n] of Object.entries(live.blocksByCategory?.() ?? {})) yield [{ category }, n];
  });
  totalCounter(registry, 'gatehouse_cache_lookups_total', 'Cache lookups by result', ['result'], function* () {
    const c = live.cache?.();
    if (c) {
      yield [{ result: 'hit' }, c.hits];
      yield [{ result: 'miss' }, c.misses];
      yield [{ result: 'stale' }, c.stale];
    }
  });
  new Gauge({
    name: 'gatehouse_cache_hit_ratio',
    help: 'Share of cache lookups answered from the cache since start',
    registers: [registry],
    collect() {
      const c = live.cache?.();
      if (c && c.hits + c.misses > 0) this.set(c.hits / (c.hits + c.misses));
    },
  });
  new Gauge({
    name: 'gatehouse_cache_entries',
    help: 'Answers held in the cache',
    registers: [registry],
    collect() {
      const c = live.cache?.();
      if (c) this.set(c.entries);
    },
  });
  new Gauge({
    name: 'gatehouse_link_up',
    help: 'Internet link health: 1 up, 0 down',
    labelNames: ['link'],
    registers: [registry],
    collect() {
      for (const l of live.links?.().links ?? []) this.set({ link: l.name }, l.state === 'up' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gatehouse_link_active',
    help: 'The link queries go out on now: 1 for the active link',
    labelNames: ['link'],
    registers: [registry],
    collect() {
      for (const l of live.links?.().links ?? []) this.set({ link: l.name }, l.current ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gatehouse_link_rtt_seconds',
    help: 'Last round trip to the link',
    labelNames: ['link'],
    registers: [registry],
    collect() {
      for (const l of live.links?.().links ?? []) if (l.lastRttMs !== null) this.set({ link: l.name }, l.lastRttMs / 1000);
    },
  });
  new Gauge({
    name: 'gatehouse_alert_outbox_pending',
    help: 'Alert messages not yet delivered, on every channel',
    registers: [registry],
    collect() {
      const inbox = alertInbox(ctx);
      if (inbox) this.set(inbox.pendingDeliveries());
    },
  });
  new Gauge({
    name: 'gatehouse_alerts_open',
    help: 'Safeguarding alerts not yet closed, by status',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      const inbox = alertInbox(ctx);
      if (!inbox) return;
      for (const status of ['open', 'acknowledged'] as const) this.set({ status }, inbox.list({ status, limit: 1 }).total);
    },
  });
  new Gauge({
    name: 'gatehouse_querylog_queued',
    help: 'Query-log rows waiting for the writer',
    registers: [registry],
    collect() {
      const s = live.queryLog?.();
      if (s) this.set(s.queued);
    },
  });
  totalCounter(registry, 'gatehouse_querylog_rows_total', 'Query-log rows written or dropped', ['result'], function* () {
    const s = live.queryLog?.();
    if (s) {
      yield [{ result: 'written' }, s.written];
      yield [{ result: 'dropped' }, s.dropped];
    }
  });
  new Gauge({
    name: 'gatehouse_list_entries',
    help: 'Blocking entries in use per list',
    labelNames: ['list', 'category'],
    registers: [registry],
    collect() {
      for (const l of live.lists?.() ?? []) this.set({ list: l.id, category: l.category }, l.entries);
    },
  });
  new Gauge({
    name: 'gatehouse_list_fresh',
    help: '1 when the list serves a fresh copy from its source, 0 for a last good copy or none',
    labelNames: ['list'],
    registers: [registry],
    collect() {
      for (const l of live.lists?.() ?? []) this.set({ list: l.id }, l.serving === 'source' && l.lastError === null ? 1 : 0);
    },
  });
  return registry;
}
