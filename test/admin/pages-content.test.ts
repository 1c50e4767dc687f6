// The content pages with inject: dashboard, query log (search, paging, CSV,
// escaping, withheld illegal names), lists, settings (redaction), /metrics
// (token, values) and the OpenAPI document, with the real store and writer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockCounter } from '../../src/admin/metrics.js';
import type { LiveDeps } from '../../src/admin/live.js';
import type { ListStatus } from '../../src/lists/manager.js';
import type { LinksStatus } from '../../src/resolver/links.js';
import type { Answer, Query } from '../../src/resolver/types.js';
import type { Client } from './helpers.js';
import { loggedIn, pagesHarness, type PagesHarness } from './pages-helpers.js';

const XSS = '<img src=x onerror=alert(1)>.evil.example';
const ILLEGAL_NAME = 'abuse-site.example';
const GROUP = { pupils: 0, staff: 1, guests: 2 };
const CAT = { adult: 0, iwf: 1, social: 2 };

const links: LinksStatus = {
  current: 'fibre',
  allDown: false,
  lastSwitch: { at: Date.parse('2026-11-23T08:00:00Z'), from: 'satellite', to: 'fibre', reason: 'primary healthy again' },
  links: [
    {
      name: 'fibre',
      state: 'up',
      current: true,
      upstreams: ['udp://127.0.0.1:53'],
      consecutiveFailures: 0,
      healthySince: 1,
      lastSuccessAt: Date.now(),
      lastError: null,
      lastRttMs: 12,
      queries: 900,
      failures: 3,
    },
    {
      name: 'satellite',
      state: 'down',
      current: false,
      upstreams: ['udp://127.0.0.1:54'],
      consecutiveFailures: 5,
      healthySince: null,
      lastSuccessAt: null,
      lastError: 'timeout <b>x</b>',
      lastRttMs: null,
      queries: 10,
      failures: 10,
    },
  ],
};

function listStatus(id: string, category: string, illegal: boolean, extra: Partial<ListStatus> = {}): ListStatus {
  return {
    id,
    category,
    illegal,
    source: illegal ? 'https://iwf.example/list' : 'file:/etc/gatehouse/adult.txt',
    format: 'domains',
    entries: 1234,
    exceptions: 0,
    badLines: { count: 2, lines: [7, 9] },
    unenforcedPathEntries: 0,
    ipEntries: 0,
    serving: 'source',
    lastRefresh: '2026-11-23T03:17:00.000Z',
    lastSuccess: '2026-11-23T03:17:00.000Z',
    lastError: null,
    etag: '"abc"',
    lastModified: null,
    ...extra,
  };
}

describe('content pages', () => {
  let h: PagesHarness;
  let admin: Client;
  let dsl: Client;
  let auditor: Client;
  const counter = new BlockCounter();
  const live: LiveDeps = {
    links: () => links,
    cache: () => ({ entries: 50, hits: 300, misses: 100, stale: 2, prefetches: 1 }),
    dns: () => ({
      queries: 400,
      udp: 390,
      tcp: 10,
      doh: 0,
      dot: 0,
      formerr: 1,
      notimp: 0,
      dropped: 0,
      truncated: 0,
      servfail: 2,
      inflight: 0,
      tcpConnections: 0,
      tcpSlots: { evicted: 3, rejected: 0, idleClosed: 7 },
    }),
    lists: () => [
      listStatus('adult-list', 'adult', false),
      listStatus('iwf-list', 'iwf', true, { lastError: 'download failed: HTTP 503' }),
    ],
    blocksByCategory: () => counter.snapshot(),
  };

  beforeAll(async () => {
    // 20 s past a whole minute, so "the last five whole minutes" holds a known set of rows.
    h = await pagesHarness({
      deps: { live, isIllegal: (n) => n === ILLEGAL_NAME },
      now: Math.floor(Date.now() / 60_000) * 60_000 + 20_000,
    });
    const t = h.clock.now;
    // 150 allowed queries from pupils over the last 20 minutes, then blocks.
    for (let i = 0; i < 150; i++)
      h.log.record(t - 20 * 60_000 + i * 1000, '127.0.0.2', GROUP.pupils, `site${i % 7}.example`, 1, 0, -1, 0, 0, 800, i % 3 === 0);
    for (let i = 0; i < 12; i++)
      h.log.record(t - 3 * 60_000 + i * 1000, '127.0.0.4', GROUP.guests, 'porn.example', 1, 1, CAT.adult, -1, 0, 50, false);
    h.log.record(t - 4 * 60_000, '127.0.0.2', GROUP.pupils, ILLEGAL_NAME, 1, 1, CAT.iwf, -1, 0, 40, false);
    h.log.record(t - 3 * 60_000, '127.0.0.3', GROUP.staff, XSS, 1, 0, -1, 0, 3, 900, false);
    h.log.record(t - 2 * 60_000, '127.0.0.2', GROUP.pupils, '=cmd|calc.example', 1, 1, CAT.social, -1, 0, 40, false);
    await h.log.flush();
    admin = await loggedIn(h, 'itlead', 'admin');
    dsl = await loggedIn(h, 'dsl', 'dsl');
    auditor = await loggedIn(h, 'governor', 'auditor');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('the dashboard shows rates, the share blocked, top lists, links, lists and alerts, and never an illegal name', async () => {
    const res = await admin.get('/dashboard');
    expect(res.statusCode).toBe(200);
    const body = res.body;
    expect(body).toContain('id="share-blocked">8.5%'); // 14 of 165 blocked
    // 15 queries between 4 whole minutes back and now (4 min 50 s after the logins moved the clock on).
    expect(body).toContain(`id="qps">${(15 / 290).toFixed(2)}<`);
    expect(body).toContain('<svg');
    expect(body).toMatch(/id="top-categories"[\s\S]*Adult content[\s\S]*IWF child abuse list[\s\S]*illegal: names withheld/);
    expect(body).toMatch(/id="top-blocked-domains"[\s\S]*porn\.example/);
    expect(body).not.toContain(ILLEGAL_NAME);
    expect(body).toContain('1 name in an illegal category is not shown.');
    expect(body).toMatch(/id="top-clients"[\s\S]*127\.0\.0\.2/);
    expect(body).toMatch(/id="top-blocked-clients"[\s\S]*127\.0\.0\.4<\/a> <span class="muted">of 12<\/span>/);
    // Rows lead to the matching query-log search (for roles that may read the log).
    const link = /href="(\/querylog\?[^"]*client=127\.0\.0\.4&amp;action=block)"/.exec(body)![1].replaceAll('&amp;', '&');
    expect((await admin.get(link)).body.match(/<code>porn\.example<\/code>/g)!.length).toBe(12);
    const forAuditor = (await auditor.get('/dashboard')).body;
    expect(forAuditor).toContain('id="top-blocked-clients"');
    expect(forAuditor).not.toContain('href="/querylog?');
    expect(body).toContain('id="active-link">fibre');
    expect(body).toMatch(/<span class="state down">down<\/span>/);
    expect(body).toContain('timeout &lt;b&gt;x&lt;/b&gt;');
    expect(body).toContain('75%'); // cache hit rate
    expect(body).toMatch(/id="lists-summary">2 lists/);
    expect(body).toContain('1 with problems');
    expect(body).toMatch(/id="open-alerts"><strong>0<\/strong>/);
    // The XSS name is in the top domains: escaped.
    expect(body).not.toContain('<img src=x');
    for (const period of ['day', 'week']) expect((await admin.get(`/dashboard?period=${period}`)).statusCode).toBe(200);
    const api = await admin.api('GET', '/api/dashboard?period=day');
    expect(api.statusCode).toBe(200);
    const data = api.json();
    expect(data.queries).toBe(165);
    expect(data.blocked).toBe(14);
    expect(JSON.stringify(data)).not.toContain(ILLEGAL_NAME);
    expect(data.topBlockedCategories[0]).toMatchObject({ category: 'adult', blocked: 12 });
  });

  it('the query log searches, pages, escapes names and withholds illegal ones', async () => {
    const res = await dsl.get('/querylog');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('&lt;img src=x onerror=alert(1)&gt;.evil.example');
    expect(res.body).not.toContain('<img src=x');
    expect(res.body).not.toContain(ILLEGAL_NAME);
    expect(res.body).toContain('(withheld: illegal content)');
    // 165 rows: a page of 100 and an "Older" link.
    expect(res.body.match(/<tr>/g)!.length - 1).toBe(100);
    const older = /href="(\/querylog\?[^"]*before=\d+)" id="older"/.exec(res.body)![1].replaceAll('&amp;', '&');
    const page2 = await dsl.get(older);
    expect(page2.body.match(/<tr>/g)!.length - 1).toBe(65);
    expect(page2.body).not.toContain('id="older"');

    const blocked = await dsl.get('/querylog?action=block&group=guests');
    expect(blocked.body.match(/porn\.example/g)!.length).toBe(12);
    expect(blocked.body).not.toContain('site1.example');
    const byClient = await dsl.get('/querylog?client=127.0.0.3');
    expect(byClient.body).toContain('evil.example');
    expect(byClient.body).toContain('NXDOMAIN');
    const byCategory = await dsl.get('/querylog?category=iwf');
    expect(byCategory.body).toContain('(withheld: illegal content)');
    expect(byCategory.body).not.toContain(ILLEGAL_NAME);
    const byDomain = await dsl.get('/querylog?domain=SITE3');
    expect(byDomain.body).toContain('site3.example');
    expect(byDomain.body).not.toContain('site4.example');
    const bad = await dsl.get('/querylog?from=2026-11-23T10:00&to=2026-11-23T09:00');
    expect(bad.body).toContain('From must be before To.');
    expect((await dsl.get('/querylog?checks=everything')).body).toContain('Self-test traffic: choose left out, included or only.');
    expect((await dsl.api('GET', '/api/querylog?checks=everything')).statusCode).toBe(400);

    const api = await dsl.api('GET', '/api/querylog?action=block&limit=5');
    expect(api.statusCode).toBe(200);
    expect(api.json().rows).toHaveLength(5);
    expect(typeof api.json().next).toBe('number');
    expect(JSON.stringify(api.json())).not.toContain(ILLEGAL_NAME);
  });

  it('exports the search as CSV with formulas defused and illegal names withheld', async () => {
    const res = await dsl.get('/querylog.csv?action=block');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="gatehouse-querylog-.*\.csv"/);
    const lines = res.body.trim().split('\r\n');
    expect(lines[0]).toBe(
      'time,client,group,name,type,action,reason,category,list,link,result,latency_us,cached,check_traffic,transport,user,person,device,mac',
    );
    expect(lines).toHaveLength(1 + 14);
    // Names, not codes: the type, the category's name, the result.
    expect(lines.find((l) => l.includes('porn.example'))).toMatch(/,porn\.example,A,block,,Adult content,,,NOERROR,50,no,no,,,,,$/);
    expect(res.body).toContain(`"'=cmd|calc.example"`);
    expect(res.body).not.toContain(ILLEGAL_NAME);
    expect(res.body).toContain('(withheld: illegal content)');
  });

  it('only admins and DSLs read the query log', async () => {
    expect((await auditor.get('/querylog')).statusCode).toBe(403);
    expect((await auditor.get('/querylog.csv')).statusCode).toBe(403);
    expect((await auditor.api('GET', '/api/querylog')).statusCode).toBe(403);
  });

  it('lists show source, entries, refresh and errors, with counts only for illegal lists', async () => {
    h.db
      .prepare('INSERT INTO list_refresh (at, list_id, ok, entries, error) VALUES (?, ?, 0, NULL, ?)')
      .run(h.clock.now - 1000, 'iwf-list', 'HTTP 503');
    const res = await auditor.get('/lists');
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/adult-list[\s\S]*1,234[\s\S]*2 invalid lines \(first: 7, 9\)/);
    expect(res.body).toMatch(/iwf-list[\s\S]*illegal: counts only[\s\S]*download failed: HTTP 503/);
    expect(res.body).toMatch(/id="list-refreshes"[\s\S]*iwf-list[\s\S]*failed/);
    const api = (await auditor.api('GET', '/api/lists')).json() as ListStatus[];
    const iwf = api.find((l) => l.id === 'iwf-list')!;
    expect(iwf.badLines).toEqual({ count: 2, lines: [] });
    expect(iwf.entries).toBe(1234);
  });

  it('settings show the effective config read-only, secrets redacted', async () => {
    const res = await auditor.get('/settings');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('metrics-token-0123456789'.length > 0 ? 'token: (redacted)' : '');
    expect(res.body).not.toContain('metrics-token-0123456789');
    expect(res.body).toContain('name: pupils');
    expect((await dsl.get('/settings')).statusCode).toBe(403);
    expect((await admin.api('POST', '/settings', {})).statusCode).toBe(404);
  });

  it('/metrics needs the token and reports queries, blocks by category, cache, links and the outbox', async () => {
    const answer = (category?: string) =>
      ({ wire: Buffer.alloc(0), rcode: 0, source: 'policy', decision: { action: 'block', reason: 'category', category } }) as Answer;
    counter.onAnswer({} as Query, answer('adult'));
    counter.onAnswer({} as Query, answer('adult'));
    counter.onAnswer({} as Query, answer('iwf'));
    counter.onAnswer({} as Query, { wire: Buffer.alloc(0), rcode: 0, source: 'cache' } as Answer);
    expect((await h.app.inject({ url: '/metrics' })).statusCode).toBe(403);
    expect((await h.app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode).toBe(403);
    // A UI session is not enough either.
    expect((await admin.get('/metrics')).statusCode).toBe(403);
    const res = await h.app.inject({ url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.body;
    expect(text).toContain('gatehouse_dns_queries_total{transport="udp"} 390');
    expect(text).toContain('gatehouse_blocks_total{category="adult"} 2');
    expect(text).toContain('gatehouse_blocks_total{category="iwf"} 1');
    expect(text).toContain('gatehouse_cache_hit_ratio 0.75');
    expect(text).toContain('gatehouse_link_up{link="fibre"} 1');
    expect(text).toContain('gatehouse_link_up{link="satellite"} 0');
    expect(text).toContain('gatehouse_link_active{link="fibre"} 1');
    expect(text).toContain('gatehouse_alert_outbox_pending 0');
    expect(text).toContain('gatehouse_dns_tcp_closed_total{reason="evicted"} 3');
    expect(text).toContain('gatehouse_dns_tcp_closed_total{reason="idle"} 7');
    expect(text).not.toMatch(/\.example/);
    // Counters keep going up between scrapes.
    counter.onAnswer({} as Query, answer('adult'));
    const again = await h.app.inject({ url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(again.body).toContain('gatehouse_blocks_total{category="adult"} 3');
  });

  it('every content API is in the OpenAPI document', async () => {
    const doc = (await admin.api('GET', '/api/openapi.json')).json();
    for (const path of [
      '/api/dashboard',
      '/api/querylog',
      '/api/alerts',
      '/api/alerts/{id}/close',
      '/api/checks',
      '/api/checks/{id}',
      '/api/lists',
      '/api/settings',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/api/querylog'].get.parameters.map((p: { name: string }) => p.name)).toContain('category');
  });
});

describe('content pages without the live service', () => {
  let h: PagesHarness;
  let admin: Client;
  beforeAll(async () => {
    h = await pagesHarness();
    admin = await loggedIn(h, 'itlead', 'admin');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('say clearly what is not available instead of failing', async () => {
    const dash = await admin.get('/dashboard');
    expect(dash.statusCode).toBe(200);
    expect(dash.body).toContain('Link status is not available');
    expect(dash.body).toContain('List status is not available');
    expect(dash.body).toContain('no queries');
    const lists = await admin.get('/lists');
    expect(lists.body).toContain('Live list status is not available');
    expect((await admin.api('GET', '/api/lists')).statusCode).toBe(503);
    const metrics = await h.app.inject({ url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).not.toContain('gatehouse_link_up{');
  });
});
