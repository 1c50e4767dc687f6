// Identity in a real headless Chromium against the running service: a pupil
// signs in on the Wi-Fi (FreeRADIUS's radclient), their laptop has a DHCP
// lease (a dnsmasq lease file), their lookups (dig -b) raise an alert. The
// alert page names them and links to their lookups around it; the person page
// shows their devices, addresses and blocked lookups; the admin names the
// device on the Devices page. The roster name, the DHCP host name and the
// device name are all hostile markup: each is shown as text, never run (no
// dialog, no script side effect, no element made from it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
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
import { radclientAcct } from '../helpers/radclient.js';

const run = havePrograms('chromium', 'dig', 'radclient');
const SECRET = 'e2e-radius-secret';
const PERSON = '<img src=x onerror="window.__xss=1">Jo';
const HOST = '<svg/onload=window.__xss=2>';
const DEVICE = '<script>window.__xss=3</script>Library laptop';

describe.skipIf(!run)('identity pages in Chromium', () => {
  let dir: string;
  let upstream: FakeUpstream;
  let gh: Gatehouse;
  let admin: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-e2e-identity-'));
    upstream = await startFakeUpstream({ 'porn.example': '192.0.2.80', 'fine.example': '192.0.2.81' });
    writeFileSync(join(dir, 'adult.txt'), 'porn.example\n');
    writeFileSync(join(dir, 'roster.csv'), `username,name,org_unit\njsmith,"${PERSON.replace(/"/g, '""')}",/Students/Year 9\n`);
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    writeFileSync(join(dir, 'dnsmasq.leases'), `${expiry} aa:bb:cc:00:00:50 127.0.0.50 ${HOST} *\n`);
    const config = parseConfig(
      `dns: { listen: ["127.0.0.1:0"] }
links: [{ name: fibre, upstreams: ["${upstream.url}"], timeoutMs: 1000 }]
categories: [{ id: adult, name: Adult content, severity: high }]
lists: [{ id: adult-list, category: adult, source: "file:${join(dir, 'adult.txt')}", format: domains }]
groups:
  - { name: pupils, networks: ["10.10.0.0/16"], block: [adult] }
  - { name: staff, default: true }
store: { path: ${join(dir, 'gatehouse.db')} }
alerts: { enabled: true }
logging: { level: silent }
identity:
  domains: [school.example]
  roster: [{ source: "file:${join(dir, 'roster.csv')}", format: generic }]
  groups: [{ orgUnit: /Students, group: pupils }]
  dhcp: [{ format: dnsmasq, path: ${join(dir, 'dnsmasq.leases')} }]
  radius: { listen: "127.0.0.1:0", clients: [{ network: 127.0.0.1/32, secret: "${SECRET}" }] }
`,
      join(dir, 'gatehouse.yaml'),
    );
    gh = buildApp(config, { logger: silentLogger(), admin: false });
    await gh.start();
    admin = await buildAdminApp({
      config,
      db: gh.db,
      logger: silentLogger(),
      policy: gh.policy,
      isIllegal: (n) => gh.isIllegal(n),
      live: liveDeps(gh),
    });
    base = await admin.listen({ host: '127.0.0.1', port: 0 });
    await createUser(gh.db, { name: 'itlead', role: 'admin', password: 'Install-Day1', actor: 'test', now: Date.now() });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await admin?.close();
    await gh?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Nothing hostile ran: no dialog, no side effect, no element made from the names. */
  const nothingRan = async () => {
    expect(dialogs).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(
      await page
        .locator('main img, main svg, main script:not([src^="/static/"])')
        .evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200))),
    ).toEqual([]);
  };

  it('a signed-in pupil’s alert names them and links to their lookups around it; the person page shows all of it as text', async () => {
    const dnsPort = gh.server.addresses().udp[0].port;
    const r = await radclientAcct(gh.identity.radiusPort!, SECRET, [
      'Acct-Status-Type = Start',
      'User-Name = "SCHOOL\\jsmith"',
      'Framed-IP-Address = 127.0.0.50',
      'Calling-Station-Id = "AA-BB-CC-00-00-50"',
      'Acct-Session-Id = "e2e-1"',
      'NAS-IP-Address = 127.0.0.1',
    ]);
    expect(r.answered, r.output).toBe(true);
    // The roster puts jsmith in pupils, wherever they sign in: blocked.
    const blocked = await dig('127.0.0.1', dnsPort, 'porn.example', 'A', ['-b', '127.0.0.50']);
    expect(blocked.answers.some((a) => a.data === '192.0.2.80')).toBe(false);
    await dig('127.0.0.1', dnsPort, 'fine.example', 'A', ['-b', '127.0.0.50']);
    await gh.queryLog.flush();
    gh.alerts.flush();

    await loginInBrowser(page, base, { name: 'itlead', password: 'Install-Day1', newPassword: 'Filter-Lead-2026' });
    await page.goto(`${base}/alerts`);
    await Promise.all([page.waitForURL(/\/alerts\/\d+$/), page.locator('main a[href^="/alerts/"]').first().click()]);
    await expect(page.locator('#alert-person').textContent()).resolves.toContain(`${PERSON} (jsmith)`);
    await expect(page.locator('#alert-device').textContent()).resolves.toContain(HOST);
    await nothingRan();

    await Promise.all([page.waitForURL(/\/people\/\d+\/timeline\?alert=\d+$/), page.click('#alert-timeline')]);
    const timeline = (await page.locator('main').textContent())!;
    expect(timeline).toContain('porn.example');
    expect(timeline).toContain('fine.example');
    await nothingRan();

    const personId = gh.identity.lookup('127.0.0.50')!.personId!;
    await page.goto(`${base}/people/${personId}`);
    await expect(page.locator('#person-name').textContent()).resolves.toBe(PERSON);
    await expect(page.locator('#person-devices').textContent()).resolves.toContain(HOST);
    await expect(page.locator('#person-addresses').textContent()).resolves.toContain('127.0.0.50');
    await expect(page.locator('#person-blocked').textContent()).resolves.toContain('porn.example');
    await expect(page.locator('#person-categories').textContent()).resolves.toContain('Adult content');
    await nothingRan();
  });

  it('the admin names the device on the Devices page; the name shows as text there, in the query log and on the person page', async () => {
    await page.goto(`${base}/devices?all=1`);
    await expect(page.locator('#devices').textContent()).resolves.toContain(HOST);
    await nothingRan();
    await page.fill('#add-device input[name=mac]', 'aa-bb-cc-00-00-50');
    await page.fill('#add-device input[name=name]', DEVICE);
    await page.fill('#add-device input[name=assetTag]', '"><b>A-1</b>');
    await Promise.all([page.waitForURL(/done=saved/), page.click('#add-device button[type=submit]')]);
    await expect(page.locator('main').textContent()).resolves.toContain(DEVICE);
    await expect(page.locator('main').textContent()).resolves.toContain('"><b>A-1</b>');
    expect(await page.locator('main b').count()).toBe(0);
    await nothingRan();
    // The service has the name at once: a new lookup is logged with it.
    await dig('127.0.0.1', gh.server.addresses().udp[0].port, 'fine.example', 'A', ['-b', '127.0.0.50']);
    await gh.queryLog.flush();
    await page.goto(`${base}/querylog?client=127.0.0.50`);
    await expect(page.locator('#querylog tbody').textContent()).resolves.toContain(DEVICE);
    await expect(page.locator('#querylog tbody').textContent()).resolves.toContain(`${PERSON} (jsmith)`);
    await nothingRan();
    const personId = gh.identity.lookup('127.0.0.50')!.personId!;
    await page.goto(`${base}/people/${personId}`);
    await expect(page.locator('#person-devices').textContent()).resolves.toContain(DEVICE);
    await nothingRan();
  });
});
