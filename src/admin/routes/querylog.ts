// The query log: search by time, client, person, device, group, domain, decision and category,
// a page at a time (keyset paging: "older" follows the last row's id), and CSV
// export of the same search. Names come from the network and can hold any
// bytes: they are only ever written through html`` (escaped) or csvRow.
// Names in an illegal category are withheld: the row shows the category only.
// Each row says why it was decided so (views/why.ts); an admin can open the
// exception form filled in from a blocked row ("Allow for this group…"),
// never for illegal content. The self-test's own queries are left out unless
// the search asks for them. Each row names the person and device behind the
// address when the query was made (views/who.ts), linked to the person page.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireRole } from '../auth.js';
import type { AdminContext, AdminRoutePlugin } from '../context.js';
import { html } from '../html.js';
import { formatTime, localInput, parseLocalInput } from '../views/time.js';
import { pageAssets } from '../views/assets.js';
import { messages, renderPage } from '../views/layout.js';
import { categoryName, unavailable } from '../views/widgets.js';
import { csvHeader, csvRow } from '../../store/csv.js';
import { StoreError } from '../../store/errors.js';
import { REMOTE_LINK } from '../../resolver/encrypted-config.js';
import { ACTIONS, CHECK_TRAFFIC, type ActionName, type CheckTraffic, type LogRow, type SearchFilter } from '../../store/search.js';
import { hasTables } from '../../store/db.js';
import { loggedCategoryIds } from '../../resolver/categories.js';
import { isHiddenName, WITHHELD_NAME } from '../../store/hidden-names.js';
import { typeName } from '../../resolver/wire-names.js';
import { listExceptions } from '../exceptions.js';
import { resultText, RowExplainer } from '../views/why.js';
import { whoHtml } from '../views/who.js';

const requireReader = requireRole('admin', 'dsl');
const DAY = 86_400_000;
const PAGE = 100;
/** Most rows one CSV export writes; narrow the search for more. */
const CSV_MAX_ROWS = 200_000;
export const WITHHELD = WITHHELD_NAME;

const CHECK_LABELS: Record<CheckTraffic, string> = { exclude: 'left out', include: 'included', only: 'only these' };

interface FormValues {
  from: string;
  to: string;
  client: string;
  group: string;
  domain: string;
  action: string;
  category: string;
  checks: string;
  user: string;
  device: string;
  person: string;
}

const text = (q: Record<string, unknown>, k: string, max = 253) => (typeof q[k] === 'string' ? (q[k] as string).trim().slice(0, max) : '');

/** Query string to a store filter, or the problems with it. */
export function readFilter(
  ctx: AdminContext,
  query: unknown,
): { values: FormValues; filter?: SearchFilter; problems: string[]; before?: number } {
  const q = (query ?? {}) as Record<string, unknown>;
  const now = ctx.now();
  const values: FormValues = {
    from: text(q, 'from', 19),
    to: text(q, 'to', 19),
    client: text(q, 'client', 64),
    group: text(q, 'group', 64),
    domain: text(q, 'domain'),
    action: text(q, 'action', 10),
    category: text(q, 'category', 64),
    checks: text(q, 'checks', 10),
    user: text(q, 'user', 200),
    device: text(q, 'device', 200),
    person: /^\d{1,15}$/.test(text(q, 'person', 15)) ? text(q, 'person', 15) : '',
  };
  const problems: string[] = [];
  const zone = ctx.config.admin.timezone;
  const from = values.from ? parseLocalInput(values.from, zone) : now - DAY;
  const to = values.to ? parseLocalInput(values.to, zone) : now + 60_000;
  if (from === undefined) problems.push('From: enter a date and time.');
  if (to === undefined) problems.push('To: enter a date and time.');
  if (from !== undefined && to !== undefined && from >= to) problems.push('From must be before To.');
  if (values.action && !ACTIONS.includes(values.action as ActionName)) problems.push('Decision: choose allow, block or rewrite.');
  if (values.checks && !CHECK_TRAFFIC.includes(values.checks as CheckTraffic))
    problems.push('Self-test traffic: choose left out, included or only.');
  const beforeText = text(q, 'before', 20);
  const before = /^\d{1,17}$/.test(beforeText) ? Number(beforeText) : undefined;
  if (problems.length) return { values, problems };
  return {
    values: { ...values, from: localInput(from!, zone), to: localInput(to!, zone) },
    problems,
    before,
    filter: {
      from: from!,
      to: to!,
      ...(values.client ? { client: values.client } : {}),
      ...(values.group ? { group: values.group } : {}),
      ...(values.domain ? { domain: values.domain } : {}),
      ...(values.action ? { action: values.action as ActionName } : {}),
      ...(values.category ? { category: values.category } : {}),
      ...(values.checks ? { checks: values.checks as CheckTraffic } : {}),
      ...(values.user ? { user: values.user } : {}),
      ...(values.device ? { device: values.device } : {}),
      ...(values.person ? { personId: Number(values.person) } : {}),
    },
  };
}

/** The row as it may be shown: an illegal category's name is withheld. */
/**
 * The Link column: where the answer came from (the cache, or the internet
 * link that resolved it), or `remote` for a request from outside the school's
 * networks; with DoH or DoT after it when it came encrypted.
 */
function linkText(r: LogRow): string {
  const where = r.link === REMOTE_LINK ? REMOTE_LINK : r.cached ? 'cache' : (r.link ?? '');
  return r.transport === 'doh' || r.transport === 'dot' ? `${where} (${r.transport === 'doh' ? 'DoH' : 'DoT'})`.trimStart() : where;
}

export function visibleRow(ctx: AdminContext, r: LogRow): LogRow {
  const illegal = r.category !== null && ctx.config.categories.some((c) => c.id === r.category && c.illegal);
  return illegal || isHiddenName(r.name) || ctx.isIllegal?.(r.name) ? { ...r, name: WITHHELD } : r;
}

/** The Exceptions page's form, filled in to allow the row's name for its group. */
function allowLink(r: LogRow): string {
  return `/exceptions?${new URLSearchParams({ domain: r.name, action: 'allow', group: r.group ?? '' })}#add-exception`;
}

function hasQueryLog(ctx: AdminContext): boolean {
  return hasTables(ctx.db, 'dict');
}

function qs(values: FormValues, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...values, ...extra })) if (v) p.set(k, v);
  return p.toString();
}

export const querylogRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const options = (list: string[], chosen: string, label: (v: string) => string = (v) => v) =>
    list.map((v) => html`<option value="${v}"${v === chosen ? html` selected` : ''}>${label(v)}</option>`);

  app.get('/querylog', { preHandler: requireReader }, async (request: FastifyRequest, reply: FastifyReply) => {
    if (!hasQueryLog(ctx)) {
      return reply.type('text/html').send(renderPage(request, { title: 'Query log', body: unavailable('The query log') }));
    }
    const { values, filter, problems, before } = readFilter(ctx, request.query);
    let rows: LogRow[] = [];
    let next: number | undefined;
    const admin = request.auth!.user.role === 'admin';
    const explain = new RowExplainer(ctx.config, listExceptions(ctx.db));
    if (filter) {
      try {
        const page = await ctx.reports.search({ ...filter, limit: PAGE, ...(before !== undefined ? { before } : {}) });
        rows = page.rows.map((r) => visibleRow(ctx, r));
        next = page.next;
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        problems.push(err.message);
      }
    }
    const form = html`<form method="get" action="/querylog" class="filters" id="querylog-search">
        <label>From <input type="datetime-local" name="from" value="${values.from}"></label>
        <label>To <input type="datetime-local" name="to" value="${values.to}"></label>
        <label>Client <input name="client" value="${values.client}" placeholder="10.0.1.23" maxlength="64"></label>
        <label>Person <input name="user" value="${values.user}" placeholder="user name, email or name" maxlength="200"></label>
        <label>Device <input name="device" value="${values.device}" placeholder="name, asset tag or MAC" maxlength="200"></label>
        ${values.person ? html`<input type="hidden" name="person" value="${values.person}">` : ''}
        <label>Group <select name="group"><option value="">any</option>${options(
          ctx.config.groups.map((g) => g.name),
          values.group,
        )}</select></label>
        <label>Domain contains <input name="domain" value="${values.domain}" maxlength="253"></label>
        <label>Decision <select name="action"><option value="">any</option>${options([...ACTIONS], values.action)}</select></label>
        <label>Category <select name="category"><option value="">any</option>${options(
          loggedCategoryIds(ctx.config.categories),
          values.category,
          (id) => categoryName(ctx.config, id),
        )}</select></label>
        <label>Self-test traffic <select name="checks">${options([...CHECK_TRAFFIC], values.checks || 'exclude', (v) => CHECK_LABELS[v as CheckTraffic])}</select></label>
        <button type="submit">Search</button>
        ${filter ? html`<a class="button secondary" href="/querylog.csv?${qs(values)}">Download CSV</a>` : ''}
      </form>`;
    const table =
      rows.length === 0
        ? html`<p class="muted" id="querylog-empty">No queries match${before !== undefined ? ' on this page' : ''}.</p>`
        : html`<table class="responsive" id="querylog"><thead><tr><th>Time</th><th>Client</th><th>Who</th><th>Group</th><th>Name</th><th>Type</th><th>Decision</th><th>Why</th><th>Category</th><th>Link</th><th>Result</th></tr></thead>
        <tbody>${rows.map(
          (r) => html`<tr${r.check ? html` class="check-traffic"` : ''}>
            <td data-label="Time">${formatTime(r.ts, ctx.config.admin.timezone)}</td>
            <td data-label="Client">${r.client}${r.check ? html` <span class="badge">self-test</span>` : ''}</td>
            <td data-label="Who" class="who">${whoHtml(request, r)}</td>
            <td data-label="Group">${r.group ?? ''}</td>
            <td data-label="Name" class="name"><code>${r.name}</code></td>
            <td data-label="Type">${typeName(r.qtype)}</td>
            <td data-label="Decision"><span class="badge ${r.action}">${r.action}</span></td>
            <td data-label="Why" class="why">${explain.why(r)}${
              admin && explain.canAllow(r) ? html` <a class="allow-for-group" href="${allowLink(r)}">Allow for this group…</a>` : ''
            }</td>
            <td data-label="Category">${categoryName(ctx.config, r.category)}</td>
            <td data-label="Link">${linkText(r)}</td>
            <td data-label="Result">${resultText(r)} <span class="muted">${(r.latencyUs / 1000).toFixed(1)} ms</span></td>
          </tr>`,
        )}</tbody></table>`;
    const pager = html`<p class="pager">
      ${before !== undefined ? html`<a href="/querylog?${qs(values)}">Newest</a>` : ''}
      ${next !== undefined ? html`<a href="/querylog?${qs(values, { before: String(next) })}" id="older">Older</a>` : ''}
      <span class="muted">${rows.length} rows on this page.</span></p>`;
    const body = html`${pageAssets()}${messages('error', problems)}${form}${table}${pager}`;
    return reply.type('text/html').send(renderPage(request, { title: 'Query log', body }));
  });

  app.get('/querylog.csv', { preHandler: requireReader }, async (request, reply) => {
    if (!hasQueryLog(ctx)) return reply.code(503).type('text/plain').send('The query log is not available.\n');
    const { filter, problems } = readFilter(ctx, request.query);
    if (!filter)
      return reply
        .code(400)
        .type('text/plain')
        .send(problems.join('\n') + '\n');
    // Written page by page (10 000 rows each) so a large export never holds everything at once.
    const chunks: string[] = [csvHeader()];
    let before: number | undefined;
    let written = 0;
    while (written < CSV_MAX_ROWS) {
      const page = await ctx.reports.search({
        ...filter,
        limit: Math.min(10_000, CSV_MAX_ROWS - written),
        ...(before !== undefined ? { before } : {}),
      });
      for (const r of page.rows) chunks.push(csvRow(visibleRow(ctx, r), (id) => categoryName(ctx.config, id)));
      written += page.rows.length;
      if (page.next === undefined) break;
      before = page.next;
    }
    const stamp = new Date(filter.from).toISOString().slice(0, 16).replace(':', '');
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="gatehouse-querylog-${stamp}.csv"`)
      .send(chunks.join(''));
  });

  // ---- JSON API ----
  const str = { type: 'string' };
  const nullableStr = { type: ['string', 'null'] };
  app.get(
    '/api/querylog',
    {
      preHandler: requireReader,
      schema: {
        summary: 'Search the query log, newest first (keyset paging: pass `next` as `before`); illegal-category names withheld',
        querystring: {
          type: 'object',
          properties: {
            from: { type: 'string', description: 'YYYY-MM-DDTHH:MM, local time in admin.timezone (default: 24 hours ago)' },
            to: { type: 'string', description: 'YYYY-MM-DDTHH:MM, local time in admin.timezone (default: now)' },
            client: str,
            user: { type: 'string', description: 'a person: user name, email, part of the display name, or #ID' },
            device: { type: 'string', description: 'a device: name, host name, asset tag, MAC, or #ID' },
            person: { type: 'string', pattern: '^\\d{1,15}$', description: 'exactly this person id' },
            group: str,
            domain: str,
            action: { type: 'string', enum: ['allow', 'block', 'rewrite'] },
            category: str,
            checks: { type: 'string', enum: [...CHECK_TRAFFIC], description: "the self-test's own queries (default: exclude)" },
            before: { type: 'string', pattern: '^\\d{1,17}$' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              rows: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'integer' },
                    ts: { type: 'integer' },
                    client: str,
                    group: nullableStr,
                    name: str,
                    qtype: { type: 'integer' },
                    action: str,
                    category: nullableStr,
                    link: nullableStr,
                    rcode: { type: 'integer' },
                    latencyUs: { type: 'integer' },
                    cached: { type: 'boolean' },
                    reason: { ...nullableStr, description: 'why: illegal, category, schedule, keyword, deny-exception, cname, …' },
                    list: { ...nullableStr, description: 'the list that matched, for list-based decisions' },
                    check: { type: 'boolean', description: "one of the self-test's own queries" },
                    transport: { ...nullableStr, description: 'udp, tcp, doh or dot (null: logged before it was recorded)' },
                    personId: { type: ['integer', 'null'] },
                    user: { ...nullableStr, description: 'the person behind the address then (user name)' },
                    personName: nullableStr,
                    deviceId: { type: ['integer', 'null'] },
                    device: { ...nullableStr, description: "the device: the school's name, else its host name" },
                    mac: nullableStr,
                    erased: { type: 'boolean', description: 'the person was erased: the row keeps its counts, not the name' },
                  },
                },
              },
              next: { type: 'integer' },
            },
          },
          400: { type: 'object', properties: { error: str, problems: { type: 'array', items: str } } },
          503: { type: 'object', properties: { error: str } },
        },
      },
    },
    async (request, reply) => {
      if (!hasQueryLog(ctx)) return reply.code(503).send({ error: 'the query log is not available' });
      const { filter, problems, before } = readFilter(ctx, request.query);
      if (!filter) return reply.code(400).send({ error: problems[0], problems });
      try {
        const page = await ctx.reports.search({
          ...filter,
          limit: (request.query as { limit: number }).limit,
          ...(before !== undefined ? { before } : {}),
        });
        return { rows: page.rows.map((r) => visibleRow(ctx, r)), ...(page.next !== undefined ? { next: page.next } : {}) };
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        return reply.code(400).send({ error: err.message, problems: [err.message] });
      }
    },
  );
};
