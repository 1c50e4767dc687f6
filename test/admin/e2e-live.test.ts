// End to end with the running service wired into the content pages the way
// src/app.ts does it with liveDeps(): the whole system (DNS, lists, policy,
// query log, alerts) plus an admin app and a block page built from its parts.
// Chromium runs the self-test from the Checks page (real queries from
// 127.0.0.2 / .3 / .1 to the real resolver) and reads the dashboard; dig sends
// traffic; the block page explains a real block; /metrics reports it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdminApp } from '../../src/admin/app.js';
import { buildBlockPageApp, IWF_TEXT } from '../../src/admin/block-page.js';
import { BlockCounter } from '../../src/admin/metrics.js';
import { createUser } from '../../src/admin/users.js';
import { liveDeps } from '../../src/admin/wire.js';
import { buildApp, type Gatehouse } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { launchBrowser, loginInBrowser, type Browser } from '../helpers/browser.js';
import { dig } from '../helpers/dig.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { havePrograms } from '../helpers/programs.js';

const run = havePrograms('chromium', 'dig');

function httpGet(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host }, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!run)('content pages on the running service', () => {
  let dir: string;
  let upstream: FakeUpstream;
  let gh: Gatehouse;
  let admin: FastifyInstance;
  let blockPage: FastifyInstance;
  let browser: Browser;
  let base: string;
  let blockBase: string;
  let dnsPort: number;
  const blocks = new BlockCounter();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-e2e-live-'));
    upstream = await startFakeUpstream({ 'fine.example': '192.0.2.80', 'news.example': '192.0.2.81' });
    writeFileSync(join(dir, 'adult.txt'), 'adult-test.example\nporn.example\n');
    writeFileSync(join(dir, 'iwf.txt'), 'iwf-test.example\n');
    writeFileSync(join(dir, 'social.txt'), 'social-test.example\n');
    const config = parseConfig(
      `dns: { listen: ["127.0.0.1:0"] }
links: [{ name: fibre, upstreams: ["${upstream.url}"], timeoutMs: 1000 }]
categories:
  - { id: adult, name: Adult content, severity: high }
  - { id: iwf, name: IWF child abuse list, illegal: true, severity: critical }
  - { id: social, name: Social media }
lists:
  - { id: adult-list, category: adult, source: "file:adult.txt", format: domains }
  - { id: iwf-list, category: iwf, source: "file:iwf.txt", format: domains }
  - { id: social-list, category: social, source: "file:social.txt", format: domains }
groups:
  - { name: pupils, networks: ["127.0.0.2/32"], block: [adult, social] }
  - { name: staff, networks: ["127.0.0.3/32"] }
  - { name: guests, default: true, block: [adult, social] }
store: { path: ${join(dir, 'gatehouse.db')} }
admin: { listen: "127.0.0.1:0", allowedNetworks: ["127.0.0.0/8"], metrics: { networks: ["127.0.0.0/8"] }, blockPage: { listen: "127.0.0.1:0" } }
alerts: { enabled: true }
checks:
  names: { adult: [adult-test.example], iwf: [iwf-test.example], social: [social-test.example] }
  allowed: [fine.example]
  timeoutMs: 1500
logging: { level: silent }
`,
      join(dir, 'gatehouse.yaml'),
    );
    // The whole system without its own admin UI; the UI is built here from its parts, as app.ts should.
    gh = buildApp(config, { logger: silentLogger(), admin: false });
    gh.server.addObserver(blocks);
    await gh.start();
    dnsPort = gh.server.addresses().udp[0].port;
    const live = liveDeps(gh, blocks);
    admin = await buildAdminApp({
      config: gh.config,
      db: gh.db,
      logger: silentLogger(),
      changes: gh.changes,
      isIllegal: (n) => gh.isIllegal(n),
      live,
    });
    base = await admin.listen({ host: '127.0.0.1', port: 0 });
    blockPage = await buildBlockPageApp({ config, db: gh.db, logger: silentLogger(), explain: live.explain });
    blockBase = await blockPage.listen({ host: '127.0.0.1', port: 0 });
    await createUser(gh.db, { name: 'dsl', role: 'dsl', password: 'Install-Day1', actor: 'test', now: Date.now() });
    browser = await launchBrowser({ extraArgs: ['--host-resolver-rules=MAP *.example 127.0.0.1'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await blockPage?.close();
    await admin?.close();
    await gh?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the dashboard, lists and metrics show the live service after real traffic', async () => {
    for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
      await dig('127.0.0.1', dnsPort, 'porn.example', 'A', ['-b', from]);
      await dig('127.0.0.1', dnsPort, 'fine.example', 'A', ['-b', from]);
    }
    await dig('127.0.0.1', dnsPort, 'iwf-test.example', 'A', ['-b', '127.0.0.3']);
    await gh.queryLog.flush();

    const page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    const refused: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) refused.push(m.text());
    });
    await loginInBrowser(page, base, { name: 'dsl', password: 'Install-Day1', newPassword: 'Safeguard-2026' });
    await page.goto(`${base}/dashboard`);
    await expect(page.locator('#active-link').textContent()).resolves.toBe('fibre');
    await expect(page.locator('#links').textContent()).resolves.toContain('up');
    await expect(page.locator('figure.chart svg rect.b').count()).resolves.toBeGreaterThan(0);
    // The chart as drawn: a legend, a y axis from 0, local times on the x axis, every label inside the chart and none overlapping.
    const chart = page.locator('figure.chart svg');
    await expect(chart.locator('.legend text').allTextContents()).resolves.toEqual(['Queries', 'Blocked']);
    await expect(chart.locator('text.ytick').first().textContent()).resolves.toBe('0');
    const ticks = await chart.locator('text.xtick').allTextContents();
    expect(ticks.length).toBeGreaterThanOrEqual(5);
    for (const t of ticks) expect(t).toMatch(/^\d\d:\d0$/);
    await expect(chart.locator('text.xdate').count()).resolves.toBeGreaterThan(0);
    const layout = await chart.evaluate((svg) => {
      const box = svg.getBoundingClientRect();
      const rect = (e: Element) => e.getBoundingClientRect();
      return {
        inside: [...svg.querySelectorAll('text')].every((t) => rect(t).left >= box.left - 0.5 && rect(t).right <= box.right + 0.5),
        xticks: [...svg.querySelectorAll('text.xtick')].map((t) => [rect(t).left, rect(t).right]),
      };
    });
    expect(layout.inside).toBe(true);
    for (let i = 1; i < layout.xticks.length; i++) expect(layout.xticks[i][0]).toBeGreaterThan(layout.xticks[i - 1][1]);
    await expect(page.locator('#top-categories').textContent()).resolves.toContain('Adult content');
    await expect(page.locator('#top-categories').textContent()).resolves.toContain('IWF child abuse list');
    await expect(page.locator('main').textContent()).resolves.not.toContain('iwf-test.example');
    await expect(page.locator('#top-blocked-domains').textContent()).resolves.toContain('porn.example');
    await page.goto(`${base}/lists`);
    await expect(page.locator('#lists').textContent()).resolves.toMatch(/adult-list[\s\S]*2/);
    // The pages' own stylesheet applies (a served file, allowed by the CSP).
    await expect(
      page
        .locator('.tabs, .state')
        .first()
        .evaluate((e) => getComputedStyle(e).borderRadius),
    ).resolves.not.toBe('0px');
    for (const path of ['/querylog', '/alerts', '/checks', '/dashboard?period=week']) await page.goto(`${base}${path}`);
    expect(refused).toEqual([]);
    await page.close();

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('gatehouse_blocks_total{category="adult"} 2');
    expect(metrics).toContain('gatehouse_blocks_total{category="iwf"} 1');
    expect(metrics).toContain('gatehouse_link_up{link="fibre"} 1');
    expect(metrics).toMatch(/gatehouse_dns_queries_total\{transport="udp"\} 7/);
    expect(metrics).not.toContain('porn.example');
  });

  it('runs the self-test from the Checks page against the running resolver and records it', async () => {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${base}/checks`);
    await Promise.all([page.waitForURL(/\/checks\/\d+\?done=run$/), page.click('#run-check button[type=submit]')]);
    const summary = (await page.locator('#check-summary').textContent())!;
    expect(summary).toContain('Passed');
    expect(summary).toMatch(/15 of 15 checks passed/); // 3 groups × (3 categories + 1 allowed + canary)
    const cases = (await page.locator('#check-cases').textContent())!;
    for (const source of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) expect(cases).toContain(source);
    await page.fill('#add-action textarea[name=action]', 'Termly check done; nothing to fix');
    await Promise.all([page.waitForURL(/done=action$/), page.click('#add-action button[type=submit]')]);
    await expect(page.locator('#check-actions').textContent()).resolves.toContain('Termly check done');
    const row = gh.db.prepare('SELECT run_by, trigger, ok, passed, failed FROM checks ORDER BY id DESC LIMIT 1').get();
    expect(row).toEqual({ run_by: 'dsl', trigger: 'manual', ok: 1, passed: 15, failed: 0 });
    await page.close();
  });

  it('the block page explains a real block and takes a review request to the Exceptions page', async () => {
    const answer = await dig('127.0.0.1', dnsPort, 'social-test.example', 'A', ['-b', '127.0.0.2']);
    expect(answer.answers.map((a) => a.data)).toEqual(['127.0.0.1']); // dns.block.a: where the block page listens
    const page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    // Chromium resolves nothing here, so the page is opened by address with the blocked name as Host, like a browser would after DNS.
    const res = await httpGet(`${blockBase}/`, 'social-test.example');
    expect(res.status).toBe(403);
    expect(res.body).toContain('id="block-category">Social media<');
    expect(res.body).toContain('id="block-group">guests<'); // the test's own address, 127.0.0.1, is a guest
    const illegal = await httpGet(`${blockBase}/`, 'iwf-test.example');
    expect(illegal.body).toContain(IWF_TEXT);
    expect(illegal.body).not.toContain('iwf-test');

    // Chromium maps *.example to loopback (as the school's DNS would send it to the block address).
    const port = new URL(blockBase).port;
    await page.goto(`http://social-test.example:${port}/some/page`);
    await expect(page.locator('#block-category').textContent()).resolves.toBe('Social media');
    await page.fill('input[name=name]', 'Sam (Year 9)');
    await page.fill('textarea[name=reason]', 'Class project on online communities');
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    await expect(page.locator('#review-sent').textContent()).resolves.toContain('social-test.example');
    // Reads as a confirmation (green heading, not the block page's red) with a reference to quote.
    await expect(page.locator('h1').evaluate((e) => getComputedStyle(e).color)).resolves.toBe('rgb(26, 127, 55)');
    const reference = (await page.locator('#review-reference').textContent())!;
    expect(reference).toMatch(/^R-\d{6}$/);
    await page.goto(`${base}/exceptions`);
    await expect(page.locator('main').textContent()).resolves.toContain('Class project on online communities');
    // The same reference beside the request on the Exceptions page.
    await expect(page.locator('#review-requests tr', { hasText: 'Class project' }).textContent()).resolves.toContain(reference);
    await page.close();
  });
});
