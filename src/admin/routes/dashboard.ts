// The dashboard: queries per second, share blocked, top blocked categories,
// domains and clients, the internet links, list status, open alerts and review
// requests waiting, with a chart over the last hour, day or week drawn from the
// store's per-minute rollups. Names in an illegal category are never shown,
// only the category. Blocked lookups by category add up to the blocked total.
import type { FastifyRequest } from 'fastify';
import { requireStaff } from '../auth.js';
import { changeNotices } from '../views/change-notices.js';
import type { AdminContext, AdminRoutePlugin } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { formatTime, localInput } from '../views/time.js';
import type { Config } from '../../config.js';
import { HELP_SERVICES_CATEGORY } from '../../resolver/categories.js';
import { requestReference, visiblePendingRequests } from '../exceptions.js';
import { alertInbox } from '../inbox.js';
import { renderPage } from '../views/layout.js';
import { pageAssets } from '../views/assets.js';
import { barChart } from '../views/chart.js';
import {
  categoryName,
  configRejectedNotice,
  countTable,
  formatCount,
  formatPercent,
  isIllegalCategory,
  unavailable,
} from '../views/widgets.js';
import type { SeriesPoint } from '../../store/rollups.js';
import { hasTables } from '../../store/db.js';
import type { WhoView } from '../../store/who.js';
import { seesPeople, whoHtml } from '../views/who.js';
import { isHiddenName } from '../../store/hidden-names.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const PERIODS = {
  hour: { label: 'Last hour', span: HOUR, bucket: MINUTE, perBar: 'per minute', tick: 10 * MINUTE },
  day: { label: 'Last 24 hours', span: DAY, bucket: 15 * MINUTE, perBar: 'per 15 minutes', tick: 3 * HOUR },
  week: { label: 'Last 7 days', span: 7 * DAY, bucket: 2 * HOUR, perBar: 'per 2 hours', tick: DAY },
} as const;

/** Rows the top-categories table shows at most; the rest are summed into one row, so the table adds up. */
const TOP_CATEGORIES = 10;
export type PeriodName = keyof typeof PERIODS;

function periodOf(query: unknown): PeriodName {
  const p = (query as Record<string, unknown> | undefined)?.period;
  return p === 'day' || p === 'week' ? p : 'hour';
}

/** Does the database hold the query log's tables? (A bare admin database in some set-ups does not.) */
function hasQueryLog(ctx: AdminContext): boolean {
  return hasTables(ctx.db, 'dict');
}

/**
 * Names that must not be shown: logged in an illegal category (stored hidden,
 * store/hidden-names.ts), or that the live matcher puts in one now.
 */
function hidden(ctx: AdminContext, name: string): boolean {
  return isHiddenName(name) || ctx.isIllegal?.(name) === true;
}

/** A top client; with `who` (for the DSL and IT only) the person and device behind most of its queries. */
export type ClientRow = { client: string; queries: number; blocked: number; who?: WhoView; others?: number };

export interface DashboardData {
  period: PeriodName;
  from: number;
  to: number;
  queries: number;
  blocked: number;
  /** Over the last four whole minutes and the current one. */
  queriesPerSecond: number;
  series: SeriesPoint[];
  /** Blocked lookups by category, adding up to `blocked`: no category (a deny exception) and the rest beyond the top rows are rows too, with `category` null. */
  topBlockedCategories: { category: string | null; name: string; illegal: boolean; blocked: number }[];
  /** Lookups of help and support services (never blocked). */
  helpLookups: number;
  topBlockedDomains: { name: string; blocked: number }[];
  topDomains: { name: string; queries: number; blocked: number }[];
  topClients: ClientRow[];
  /** Clients with the most blocked lookups. */
  topBlockedClients: ClientRow[];
  /** Blocked names left out because they are in an illegal category. */
  withheld: number;
}

/** Every report runs in the store's reader thread (ctx.reports), so DNS never waits on them. */
export async function dashboardData(ctx: AdminContext, period: PeriodName, withPeople = false): Promise<DashboardData | null> {
  if (!hasQueryLog(ctx)) return null;
  const now = ctx.now();
  const to = Math.ceil((now + 1) / MINUTE) * MINUTE;
  const from = to - PERIODS[period].span;
  const r = ctx.reports;
  // Hidden names are asked for (`hidden`) so the page can say how many it leaves out.
  const [series, recentSeries, blockedRows, topRows, categories, clients, blockedClients] = await Promise.all([
    r.minuteSeries({ from, to }),
    r.minuteSeries({ from: Math.floor(now / MINUTE) * MINUTE - 4 * MINUTE, to: now + MINUTE }),
    r.topDomains({ from, to, blocked: true, limit: 40, hidden: true }),
    r.topDomains({ from, to, limit: 40, hidden: true }),
    r.breakdown({ from, to, by: 'category' }),
    r.topClients({ from, to, limit: 10 }),
    r.topClients({ from, to, limit: 10, blocked: true }),
  ]);
  let queries = 0;
  let blocked = 0;
  for (const p of series) {
    queries += p.queries;
    blocked += p.blocked;
  }
  // The last four whole minutes and the one under way, over the time they cover.
  const recentFrom = Math.floor(now / MINUTE) * MINUTE - 4 * MINUTE;
  const queriesPerSecond = recentSeries.reduce((s, p) => s + p.queries, 0) / Math.max(1, (now - recentFrom) / 1000);
  const shown = <T extends { name: string }>(rows: T[], limit: number) => {
    const visible = rows.filter((r) => !hidden(ctx, r.name));
    return { rows: visible.slice(0, limit), withheld: rows.length - visible.length };
  };
  // Who was behind the top addresses: only for roles that may see people (never auditors).
  const who = withPeople
    ? new Map(
        (await r.whoAtClients({ from, to, clients: [...new Set([...clients, ...blockedClients].map((c) => c.client))] })).map((w) => [
          w.client,
          w,
        ]),
      )
    : new Map();
  const clientRow = (c: { client: string; queries: number; blocked: number }): ClientRow => {
    const w = who.get(c.client);
    return { client: c.client, queries: c.queries, blocked: c.blocked, ...(w ? { who: w.who, others: w.others } : {}) };
  };
  const blockedTop = shown(blockedRows, 10);
  const top = shown(topRows, 10).rows;
  return {
    period,
    from,
    to,
    queries,
    blocked,
    queriesPerSecond,
    series,
    topBlockedCategories: blockedByCategory(ctx.config, categories, TOP_CATEGORIES),
    helpLookups: categories.find((r) => r.key === HELP_SERVICES_CATEGORY)?.queries ?? 0,
    topBlockedDomains: blockedTop.rows.map((r) => ({ name: r.name, blocked: r.blocked })),
    topDomains: top.map((r) => ({ name: r.name, queries: r.queries, blocked: r.blocked })),
    topClients: clients.map(clientRow),
    topBlockedClients: blockedClients.map(clientRow),
    withheld: blockedTop.withheld,
  };
}

/**
 * Blocked lookups per category, most first: the top `limit` categories, then
 * one row for blocks with no category (deny exceptions) and one for the other
 * categories, so the rows always add up to the blocked total.
 */
export function blockedByCategory(
  config: Config,
  rows: readonly { key: string | null; blocked: number }[],
  limit: number,
): DashboardData['topBlockedCategories'] {
  const named = rows.filter((r) => r.key !== null && r.blocked > 0).sort((a, b) => b.blocked - a.blocked);
  const out: DashboardData['topBlockedCategories'] = named.slice(0, limit).map((r) => ({
    category: r.key,
    name: categoryName(config, r.key),
    illegal: isIllegalCategory(config, r.key),
    blocked: r.blocked,
  }));
  const rest = named.slice(limit);
  const sum = (list: readonly { blocked: number }[]) => list.reduce((n, r) => n + r.blocked, 0);
  const none = sum(rows.filter((r) => r.key === null));
  if (none > 0) out.push({ category: null, name: 'No category (deny exceptions)', illegal: false, blocked: none });
  if (rest.length > 0)
    out.push({
      category: null,
      name: `${rest.length} other ${rest.length === 1 ? 'category' : 'categories'}`,
      illegal: false,
      blocked: sum(rest),
    });
  return out;
}

/** "and 3 more" after a list cut short, or nothing. */
function andMore(total: number, shown: number): SafeHtml | string {
  return total > shown ? html`<li class="more">and ${formatCount(total - shown)} more</li>` : '';
}

function linksSection(ctx: AdminContext): SafeHtml {
  if (!ctx.live.links) return html`<h2>Internet links</h2>${unavailable('Link status')}`;
  const s = ctx.live.links();
  return html`<h2>Internet links</h2>
    ${s.allDown ? html`<p class="error" role="alert">Every internet link is down: answers come from the cache only.</p>` : ''}
    <table class="responsive" id="links"><thead><tr><th>Link</th><th>State</th><th>In use</th><th>Last answer</th><th>Round trip</th><th>Failures</th><th>Last error</th></tr></thead>
    <tbody>${s.links.map(
      (l) => html`<tr>
        <td data-label="Link">${l.name}</td>
        <td data-label="State"><span class="state ${l.state}">${l.state}</span></td>
        <td data-label="In use">${l.current ? html`<strong>active</strong>` : ''}</td>
        <td data-label="Last answer">${formatTime(l.lastSuccessAt, ctx.config.admin.timezone)}</td>
        <td data-label="Round trip">${l.lastRttMs === null ? '' : `${Math.round(l.lastRttMs)} ms`}</td>
        <td data-label="Failures">${formatCount(l.failures)} of ${formatCount(l.queries)}</td>
        <td data-label="Last error">${l.lastError ?? ''}</td></tr>`,
    )}</tbody></table>
    ${s.lastSwitch ? html`<p class="muted">Last switch: ${formatTime(s.lastSwitch.at, ctx.config.admin.timezone)} from ${s.lastSwitch.from} to ${s.lastSwitch.to} (${s.lastSwitch.reason}).</p>` : ''}`;
}

function listsSection(ctx: AdminContext): SafeHtml {
  if (!ctx.live.lists) return html`<h2>Lists</h2>${unavailable('List status')}`;
  const lists = ctx.live.lists();
  const failing = lists.filter((l) => l.lastError !== null || l.serving !== 'source');
  return html`<h2>Lists</h2>
    <p id="lists-summary">${lists.length} lists; ${formatCount(lists.reduce((s, l) => s + l.entries, 0))} entries in use.
      ${failing.length === 0 ? html`<span class="state ok">all fresh</span>` : html`<span class="state fail">${failing.length} with problems</span>`}
      <a href="/lists">Details</a></p>`;
}

function alertsSection(ctx: AdminContext): SafeHtml {
  const inbox = alertInbox(ctx);
  if (!inbox) return html`<h2>Open alerts</h2>${unavailable('The alert inbox')}`;
  const open = inbox.list({ status: 'open', limit: 5 });
  return html`<h2>Open alerts</h2>
    <p id="open-alerts"><strong>${open.total}</strong> open safeguarding alerts. <a href="/alerts?status=open">Go to the inbox</a></p>
    ${
      open.items.length
        ? html`<ul class="plain" id="open-alert-list">${open.items.map(
            (
              a,
            ) => html`<li><span class="sev ${a.severity}">${a.severity}</span> ${formatTime(a.createdAt, ctx.config.admin.timezone)} · ${categoryName(ctx.config, a.category)} ·
            ${a.group ?? ''} ${a.client ?? ''}${a.count > 1 ? ` · ${a.count} lookups` : ''}</li>`,
          )}${andMore(open.total, open.items.length)}</ul>`
        : ''
    }`;
}

/** Review requests from the block page that wait for a decision (illegal names never shown). */
function requestsSection(ctx: AdminContext): SafeHtml {
  const pending = visiblePendingRequests(ctx);
  const shown = pending.slice(0, 5);
  return html`<h2>Review requests</h2>
    <p id="pending-requests"><strong>${pending.length}</strong> ${pending.length === 1 ? 'request' : 'requests'} from the block page waiting for a decision.
      <a href="/exceptions">Go to Exceptions</a></p>
    ${
      shown.length
        ? html`<ul class="plain" id="pending-request-list">${shown.map(
            (
              r,
            ) => html`<li><strong>${requestReference(r.id)}</strong> ${formatTime(r.created_at, ctx.config.admin.timezone)} · <code>${r.domain}</code>
              ${r.group_name ? html` · ${r.group_name}` : ''}${r.category ? html` · ${categoryName(ctx.config, r.category)}` : ''}</li>`,
          )}${andMore(pending.length, shown.length)}</ul>`
        : ''
    }`;
}

export const dashboardRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  app.get('/dashboard', { preHandler: requireStaff }, async (request: FastifyRequest, reply) => {
    const period = periodOf(request.query);
    const zone = ctx.config.admin.timezone;
    const data = await dashboardData(ctx, period, seesPeople(request));
    const whoOf = (c: ClientRow): SafeHtml =>
      c.who
        ? html` ${whoHtml(request, c.who)}${c.others ? html` <span class="muted">and ${c.others} other${c.others === 1 ? '' : 's'}</span>` : ''}`
        : html``;
    // Rows link to the matching query-log search for the roles that may read the log.
    const canSearch = request.auth!.user.role !== 'auditor';
    const logLink = (q: Record<string, string>, label: SafeHtml | string): SafeHtml | string => {
      if (!canSearch || !data) return label;
      const params = new URLSearchParams({ from: localInput(data.from, zone), to: localInput(data.to, zone), ...q });
      return html`<a href="/querylog?${params.toString()}">${label}</a>`;
    };
    const cache = ctx.live.cache?.();
    const links = ctx.live.links?.();
    const tabs = html`<nav class="tabs" aria-label="Period">${(Object.keys(PERIODS) as PeriodName[]).map(
      (p) => html`<a href="/dashboard?period=${p}"${p === period ? html` aria-current="true"` : ''}>${PERIODS[p].label}</a>`,
    )}</nav>`;
    const tiles = html`<div class="tiles">
      <div class="tile"><span class="value" id="qps">${data ? data.queriesPerSecond.toFixed(data.queriesPerSecond < 10 ? 2 : 0) : '–'}</span><span class="label">queries per second (last 5 minutes)</span></div>
      <div class="tile"><span class="value" id="share-blocked">${data ? formatPercent(data.blocked, data.queries) : '–'}</span><span class="label">blocked, ${PERIODS[period].label.toLowerCase()}</span></div>
      <div class="tile"><span class="value">${data ? formatCount(data.queries) : '–'}</span><span class="label">queries, ${PERIODS[period].label.toLowerCase()}</span></div>
      <div class="tile"><span class="value" id="active-link">${links ? (links.allDown ? 'none' : links.current) : '–'}</span><span class="label">active internet link</span></div>
      <div class="tile"><span class="value">${cache && cache.hits + cache.misses > 0 ? formatPercent(cache.hits, cache.hits + cache.misses) : '–'}</span><span class="label">cache hit rate since start</span></div>
      <div class="tile"><span class="value" id="help-lookups">${data ? formatCount(data.helpLookups) : '–'}</span><span class="label">help-service lookups (never blocked)</span></div>
    </div>`;
    const body = html`${pageAssets()}${changeNotices(ctx)}<div data-autorefresh="60">${configRejectedNotice(ctx.live.configRejected?.(), zone)}${tabs}${tiles}
      ${
        data
          ? html`${barChart(data.series, {
              from: data.from,
              to: data.to,
              bucketMs: PERIODS[period].bucket,
              perBar: PERIODS[period].perBar,
              tickMs: PERIODS[period].tick,
              title: `Queries, ${PERIODS[period].label.toLowerCase()}`,
              zone,
            })}
          <div class="cols">
            <section><h2>Top blocked categories</h2>${countTable(
              'top-categories',
              ['Category', 'Blocked'],
              data.topBlockedCategories.map((c) => ({
                label: c.category ? logLink({ category: c.category, action: 'block' }, c.name) : c.name,
                count: c.blocked,
                sub: c.illegal ? 'illegal: names withheld' : '',
              })),
              'Nothing blocked in this period.',
            )}</section>
            <section><h2>Top blocked domains</h2>${countTable(
              'top-blocked-domains',
              ['Domain', 'Blocked'],
              data.topBlockedDomains.map((d) => ({
                label: logLink({ domain: d.name, action: 'block' }, html`<code>${d.name}</code>`),
                count: d.blocked,
              })),
              'Nothing blocked in this period.',
            )}
              ${data.withheld ? html`<p class="muted">${data.withheld === 1 ? '1 name in an illegal category is' : `${data.withheld} names in illegal categories are`} not shown.</p>` : ''}</section>
            <section><h2>Clients with most blocks</h2>${countTable(
              'top-blocked-clients',
              ['Client', 'Blocked'],
              data.topBlockedClients.map((c) => ({
                label: html`${logLink({ client: c.client, action: 'block' }, c.client)}${whoOf(c)}`,
                count: c.blocked,
                sub: `of ${formatCount(c.queries)}`,
              })),
              'Nothing blocked in this period.',
            )}</section>
            <section><h2>Top domains</h2>${countTable(
              'top-domains',
              ['Domain', 'Queries'],
              data.topDomains.map((d) => ({ label: logLink({ domain: d.name }, html`<code>${d.name}</code>`), count: d.queries })),
              'No queries in this period.',
            )}</section>
            <section><h2>Top clients</h2>${countTable(
              'top-clients',
              ['Client', 'Queries'],
              data.topClients.map((c) => ({
                label: html`${logLink({ client: c.client }, c.client)}${whoOf(c)}`,
                count: c.queries,
                sub: c.blocked ? `${formatCount(c.blocked)} blocked` : '',
              })),
              'No queries in this period.',
            )}</section>
          </div>`
          : unavailable('The query log')
      }
      ${linksSection(ctx)}
      <div class="cols"><section>${listsSection(ctx)}</section><section>${alertsSection(ctx)}</section><section>${requestsSection(ctx)}</section></div>
      </div>`;
    return reply.type('text/html').send(renderPage(request, { title: 'Dashboard', body }));
  });

  // ---- JSON API ----
  const count = { type: 'integer' };
  // Admin and DSL only: auditors get the addresses and counts alone.
  const clientWho = {
    who: {
      type: 'object',
      properties: {
        personId: { type: ['integer', 'null'] },
        user: { type: ['string', 'null'] },
        personName: { type: ['string', 'null'] },
        deviceId: { type: ['integer', 'null'] },
        device: { type: ['string', 'null'] },
        mac: { type: ['string', 'null'] },
      },
    },
    others: count,
  };
  const named = (key: string, extra: Record<string, unknown> = {}) => ({
    type: 'array',
    items: { type: 'object', properties: { [key]: { type: 'string' }, queries: count, blocked: count, ...extra } },
  });
  app.get(
    '/api/dashboard',
    {
      preHandler: requireStaff,
      schema: {
        summary: 'Dashboard figures for the last hour, day or week (illegal-category names withheld)',
        querystring: { type: 'object', properties: { period: { type: 'string', enum: ['hour', 'day', 'week'], default: 'hour' } } },
        response: {
          200: {
            type: 'object',
            properties: {
              period: { type: 'string' },
              from: count,
              to: count,
              queries: count,
              blocked: count,
              queriesPerSecond: { type: 'number' },
              series: {
                type: 'array',
                items: { type: 'object', properties: { at: count, queries: count, blocked: count, cached: count, avgLatencyUs: count } },
              },
              topBlockedCategories: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    category: { type: ['string', 'null'] },
                    name: { type: 'string' },
                    illegal: { type: 'boolean' },
                    blocked: count,
                  },
                },
              },
              helpLookups: count,
              topBlockedDomains: named('name'),
              topDomains: named('name'),
              topClients: named('client', clientWho),
              topBlockedClients: named('client', clientWho),
              withheld: count,
              links: { type: ['object', 'null'], additionalProperties: true },
              openAlerts: { type: ['integer', 'null'] },
              pendingRequests: count,
              configRejected: { type: ['object', 'null'], additionalProperties: true },
            },
          },
          503: { type: 'object', properties: { error: { type: 'string' } } },
        },
      },
    },
    async (request, reply) => {
      const data = await dashboardData(ctx, periodOf(request.query), seesPeople(request));
      if (!data) return reply.code(503).send({ error: 'the query log is not available' });
      const inbox = alertInbox(ctx);
      return {
        ...data,
        links: ctx.live.links?.() ?? null,
        openAlerts: inbox ? inbox.list({ status: 'open', limit: 1 }).total : null,
        pendingRequests: visiblePendingRequests(ctx).length,
        configRejected: ctx.live.configRejected?.() ?? null,
      };
    },
  );
};
