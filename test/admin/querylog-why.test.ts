// The query log says why each name was blocked (issue 12, item 14), on the
// running service with real lookups: which list, keyword, exception or
// schedule window; a blocked row never reads as a bare NOERROR; an admin's
// "Allow for this group…" opens the exception form filled in (in Chromium),
// never for illegal content and never for other roles; the self-test's
// queries appear only when asked for.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdminApp } from '../../src/admin/app.js';
import { createUser } from '../../src/admin/users.js';
import { liveDeps } from '../../src/admin/wire.js';
import { buildApp, type Gatehouse } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { launchBrowser, loginInBrowser, type Browser } from '../helpers/browser.js';
import { dig } from '../helpers/dig.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { havePrograms } from '../helpers/programs.js';
import { categoriesAndLists } from '../helpers/lists-config.js';
import { Client, type Harness } from './helpers.js';

const run = havePrograms('chromium', 'dig');

describe.skipIf(!run)('the query log explains its blocks', () => {
  let dir: string;
  let upstream: FakeUpstream;
  let gh: Gatehouse;
  let admin: FastifyInstance;
  let base: string;
  let browser: Browser;
  let h: Harness;
  let dnsPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-why-'));
    upstream = await startFakeUpstream({ 'fine.example': '192.0.2.80', 'blocked-by-hand.example': '192.0.2.81' });
    const config = parseConfig(
      `dns: { listen: ["127.0.0.1:0"] }
links: [{ name: fibre, upstreams: ["${upstream.url}"], timeoutMs: 1000 }]
${categoriesAndLists(dir, {
  adult: { name: 'Adult content', severity: 'high', names: ['porn.example'] },
  iwf: { name: 'IWF child abuse list', illegal: true, severity: 'critical', names: ['iwf-test.example'] },
  social: { name: 'Social media', names: ['social-test.example'] },
  gambling: { name: 'Gambling', keywords: ['casino'], names: ['bookmaker.example'] },
})}
groups:
  - name: pupils
    networks: ["127.0.0.2/32"]
    block: [adult, gambling]
    schedules: [{ block: [social], days: [mon, tue, wed, thu, fri, sat, sun], times: ["00:00-24:00"], timezone: Europe/London }]
  - { name: staff, networks: ["127.0.0.3/32"] }
  - { name: guests, default: true }
store: { path: ${join(dir, 'gatehouse.db')} }
alerts: { enabled: false }
checks: { names: { adult: [porn.example] }, allowed: [fine.example], schedule: "", timeoutMs: 1500 }
logging: { level: silent }
`,
      join(dir, 'gatehouse.yaml'),
    );
    gh = buildApp(config, { logger: silentLogger(), admin: false });
    await gh.start();
    dnsPort = gh.server.addresses().udp[0].port;
    const clock = { now: Date.now() };
    admin = await buildAdminApp({
      config,
      db: gh.db,
      logger: silentLogger(),
      policy: gh.policy,
      isIllegal: (n) => gh.isIllegal(n),
      live: liveDeps(gh),
      changes: gh.changes,
      now: () => Date.now(),
    });
    base = await admin.listen({ host: '127.0.0.1', port: 0 });
    h = { app: admin, db: gh.db, config, clock, policyCalls: [], close: async () => {} };
    await createUser(gh.db, { name: 'itlead', role: 'admin', password: 'Install-Day1', actor: 'test', now: Date.now() });
    await createUser(gh.db, { name: 'dsl', role: 'dsl', password: 'Initial-Pass1', actor: 'test', now: Date.now() });
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await admin?.close();
    await gh?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says which list, keyword, exception or window blocked a name, and opens the exception form filled in', async () => {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    await loginInBrowser(page, base, { name: 'itlead', password: 'Install-Day1', newPassword: 'Filter-Lead-2026' });
    // A deny exception for pupils: asked for on the Exceptions page, then approved by an approver (four eyes).
    await page.goto(`${base}/exceptions`);
    await page.fill('#add-exception input[name=domain]', 'blocked-by-hand.example');
    await page.check('#add-exception input[name=action][value=deny]');
    await page.check('#add-pupils');
    await page.fill('#add-exception input[name=requester]', 'Head of Year 9');
    await page.fill('#add-exception input[name=subjectArea]', 'Pastoral');
    await page.fill('#add-exception textarea[name=reason]', 'Distracting in lessons');
    await Promise.all([page.waitForURL(/done=submitted/), page.click('#add-exception button[value=submit]')]);
    const id = Number(/\/changes\/(\d+)/.exec(page.url())![1]);
    gh.changes.approve(id, { name: 'head', id: 99, role: 'approver', mfa: true });

    for (const name of [
      'porn.example',
      'casino-royal.example',
      'blocked-by-hand.example',
      'social-test.example',
      'iwf-test.example',
      'fine.example',
    ])
      await dig('127.0.0.1', dnsPort, name, 'A', ['-b', '127.0.0.2']);
    // The self-test runs too: its rows are left out of the log unless asked for.
    await liveDeps(gh).selfTest!({ groups: ['pupils'] });
    await gh.queryLog.flush();

    await page.goto(`${base}/querylog?client=127.0.0.2`);
    const row = (name: string) => page.locator('#querylog tbody tr', { has: page.locator(`td.name code:text-is("${name}")`) });
    const why = async (name: string) => (await row(name).locator('td.why').textContent())!.replace(/\s+/g, ' ').trim();
    await expect(page.locator('#querylog tbody tr').count()).resolves.toBe(6);
    expect(await why('porn.example')).toBe('list adult-list: Adult content is blocked for pupils Allow for this group…');
    expect(await why('casino-royal.example')).toBe('keyword rule "casino" of Gambling Allow for this group…');
    expect(await why('blocked-by-hand.example')).toMatch(/^deny exception #\d+ \(blocked-by-hand\.example\) Allow for this group…$/);
    expect(await why('social-test.example')).toBe(
      'list social-list, during a schedule window (mon,tue,wed,thu,fri,sat,sun 00:00-24:00 Europe/London) Allow for this group…',
    );
    expect(await why('fine.example')).toBe('');
    // Illegal content: the name withheld, the list named, no way to allow it.
    const illegal = row('(withheld: illegal content)');
    await expect(illegal.locator('td.why').textContent()).resolves.toContain('list iwf-list (illegal content');
    await expect(illegal.locator('a.allow-for-group').count()).resolves.toBe(0);
    await expect(page.locator('main').textContent()).resolves.not.toContain('iwf-test');
    // A block never reads as a bare NOERROR.
    await expect(row('porn.example').locator('td[data-label=Result]').textContent()).resolves.toMatch(/^blocked: block answer \(NOERROR\)/);
    await expect(row('fine.example').locator('td[data-label=Result]').textContent()).resolves.toMatch(/^NOERROR/);

    await Promise.all([page.waitForURL(/\/exceptions\?/), row('porn.example').locator('a.allow-for-group').click()]);
    await expect(page.locator('#add-exception input[name=domain]').inputValue()).resolves.toBe('porn.example');
    await expect(page.locator('#add-exception input[name=action][value=allow]').isChecked()).resolves.toBe(true);
    await expect(page.locator('#add-pupils').isChecked()).resolves.toBe(true);
    await expect(page.locator('#add-staff').isChecked()).resolves.toBe(false);

    // The self-test's rows, when asked for.
    await page.goto(`${base}/querylog?client=127.0.0.2`);
    await page.selectOption('select[name=checks]', 'only');
    await Promise.all([page.waitForURL(/checks=only/), page.click('#querylog-search button[type=submit]')]);
    // The self-test's porn.example, fine.example and the canary, and the approved change's own test (blocked-by-hand.example).
    await expect(page.locator('#querylog tbody tr.check-traffic').count()).resolves.toBe(4);
    await expect(page.locator('#querylog tbody tr:not(.check-traffic)').count()).resolves.toBe(0);
    await page.close();
  });

  it('offers "Allow for this group…" to admins only', async () => {
    const dsl = new Client(h);
    await dsl.login('dsl');
    const body = (await dsl.get('/querylog?client=127.0.0.2')).body;
    expect(body).toContain('list adult-list: Adult content is blocked for pupils');
    expect(body).not.toContain('allow-for-group');
  });
});
