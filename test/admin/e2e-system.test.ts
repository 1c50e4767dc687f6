// End to end against the whole system (src/app.ts: DNS with lists, policy,
// query log and alerts, and the admin UI), in real headless Chromium, with the
// real dig sending queries from pupil and guest addresses:
// - log in with TOTP; add an allow exception for pupils; `dig -b 127.0.0.2`
//   now resolves the name while `dig -b 127.0.0.4` (a guest) is still blocked;
//   the change log shows the row;
// - the account locks after 3 bad passwords;
// - a query whose label holds <img src=x onerror=alert(1)> shows as text in
//   the query log and runs nothing;
// - requests without the CSRF token are refused;
// - an auditor cannot change anything.
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/admin/users.js';
import { buildApp, type Gatehouse } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { launchBrowser, loginInBrowser, type Browser } from '../helpers/browser.js';
import { dig } from '../helpers/dig.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { havePrograms } from '../helpers/programs.js';
import { totpSecretOf } from './helpers.js';

const run = havePrograms('chromium', 'dig');
const ALLOWED_ADDRESS = '192.0.2.80';
const XSS_LABEL = '<img src=x onerror=alert(1)>';

describe.skipIf(!run)('whole system in Chromium', () => {
  let dir: string;
  let upstream: FakeUpstream;
  let gh: Gatehouse;
  let browser: Browser;
  let base: string;
  let dnsPort: number;
  const dialogs: string[] = [];

  async function newPage(): Promise<Page> {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    return page;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-e2e-'));
    upstream = await startFakeUpstream({ 'homework-help.example': ALLOWED_ADDRESS, 'news.example': '192.0.2.81' });
    writeFileSync(join(dir, 'adult.txt'), 'homework-help.example\nporn.example\n');
    writeFileSync(join(dir, 'iwf.txt'), 'abuse-site.example\n');
    const config = parseConfig(
      `dns: { listen: ["127.0.0.1:0"] }
links: [{ name: fibre, upstreams: ["${upstream.url}"], timeoutMs: 1000 }]
categories:
  - { id: adult, name: Adult content, severity: high }
  - { id: iwf, name: IWF child abuse list, illegal: true, severity: critical }
lists:
  - { id: adult-list, category: adult, source: "file:adult.txt", format: domains }
  - { id: iwf-list, category: iwf, source: "file:iwf.txt", format: domains }
groups:
  - { name: pupils, networks: ["127.0.0.2/32"], block: [adult] }
  - { name: staff, networks: ["127.0.0.3/32"] }
  - { name: guests, default: true, block: [adult] }
store: { path: ${join(dir, 'gatehouse.db')} }
admin: { listen: "127.0.0.1:0", allowedNetworks: ["127.0.0.0/8"], blockPage: { listen: "127.0.0.1:0" } }
alerts: { enabled: false }
logging: { level: silent }
`,
      join(dir, 'gatehouse.yaml'),
    );
    gh = buildApp(config, { logger: silentLogger() });
    await gh.start();
    base = gh.adminUrl!;
    dnsPort = gh.server.addresses().udp[0].port;
    const now = Date.now();
    await createUser(gh.db, { name: 'itlead', role: 'admin', password: 'Install-Day1', actor: 'test', now });
    await createUser(gh.db, { name: 'teacher1', role: 'dsl', password: 'Install-Day1', actor: 'test', now });
    await createUser(gh.db, { name: 'governor', role: 'auditor', password: 'Install-Day1', actor: 'test', now });
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gh?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an allow exception for pupils takes effect for a pupil address and not for a guest, and is in the change log', async () => {
    const answer = async (from: string) =>
      (await dig('127.0.0.1', dnsPort, 'homework-help.example', 'A', ['-b', from])).answers.map((a) => a.data);
    expect(await answer('127.0.0.2')).not.toContain(ALLOWED_ADDRESS);
    expect(await answer('127.0.0.4')).not.toContain(ALLOWED_ADDRESS);

    const page = await newPage();
    const secret = await loginInBrowser(page, base, { name: 'itlead', password: 'Install-Day1', newPassword: 'Term-Starts2' });
    expect(secret).toMatch(/^[A-Z2-7]+$/);
    await page.goto(`${base}/exceptions`);
    const form = page.locator('#add-exception');
    await form.locator('input[name=domain]').fill('homework-help.example');
    await form.locator('input[name=groups][value=pupils]').check();
    await form.locator('input[name=requester]').fill('Ms Khan');
    await form.locator('input[name=subjectArea]').fill('PSHE');
    await form.locator('textarea[name=reason]').fill('Sex education resources for Year 10');
    await form.locator('input[name=approver]').fill('Mr Jones (DSL)');
    await Promise.all([page.waitForURL(/\/exceptions\?done=added$/), form.locator('button[type=submit]').click()]);

    // Pupils now get the real answer; guests are still blocked.
    expect(
      await eventually(
        () => answer('127.0.0.2'),
        (a) => a.includes(ALLOWED_ADDRESS),
      ),
    ).toEqual([ALLOWED_ADDRESS]);
    expect(await answer('127.0.0.4')).not.toContain(ALLOWED_ADDRESS);
    expect(await answer('127.0.0.4')).toEqual(['127.0.0.1']); // the block page address

    await page.click('nav a[href="/changelog"]');
    await page.waitForURL(`${base}/changelog`);
    const row = page.locator('#changes tbody tr', { hasText: 'homework-help.example' });
    await expect(row.textContent()).resolves.toContain('Mr Jones (DSL)');
    await expect(row.textContent()).resolves.toContain('itlead');
    await expect(page.locator('#chain-status').textContent()).resolves.toContain('Chain verified');
    await page.close();
  });

  it("changing that exception's groups in the browser lets guests through too, and the change log shows the update", async () => {
    const answer = async (from: string) =>
      (await dig('127.0.0.1', dnsPort, 'homework-help.example', 'A', ['-b', from])).answers.map((a) => a.data);
    expect(await answer('127.0.0.4')).toEqual(['127.0.0.1']);
    await browser.context.clearCookies();
    const page = await newPage();
    await loginInBrowser(page, base, {
      name: 'itlead',
      password: 'Term-Starts2',
      secret: totpSecretOf(gh.db, gh.config.store.path, 'itlead'),
    });
    await page.goto(`${base}/exceptions`);
    const row = page.locator('#exceptions tbody tr', { hasText: 'homework-help.example' });
    await row.locator('summary', { hasText: 'Change' }).click();
    const form = row.locator('form[id^=edit-exception-]');
    await expect(form.locator('input[name=groups][value=pupils]').isChecked()).resolves.toBe(true);
    await form.locator('input[name=groups][value=guests]').check();
    await form.locator('textarea[name=reason]').fill('Parents evening: guests need it too');
    await Promise.all([page.waitForURL(/\/exceptions\?done=updated$/), form.locator('button[type=submit]').click()]);
    await expect(page.locator('#exceptions tbody tr', { hasText: 'homework-help.example' }).textContent()).resolves.toContain(
      'pupils, guests',
    );

    expect(
      await eventually(
        () => answer('127.0.0.4'),
        (a) => a.includes(ALLOWED_ADDRESS),
      ),
    ).toEqual([ALLOWED_ADDRESS]);
    expect(await answer('127.0.0.2')).toEqual([ALLOWED_ADDRESS]);

    await page.goto(`${base}/changelog`);
    const change = page.locator('#changes tbody tr', { hasText: 'Parents evening' });
    await expect(change.textContent()).resolves.toContain('update');
    await expect(page.locator('#chain-status').textContent()).resolves.toContain('Chain verified');
    await page.close();
  });

  it('locks an account after 3 bad passwords, even for the right one after', async () => {
    await browser.context.clearCookies();
    const page = await newPage();
    for (let i = 0; i < 4; i++) {
      await page.goto(`${base}/login`);
      await page.fill('input[name=username]', 'teacher1');
      await page.fill('input[name=password]', i < 3 ? 'Wrong-Guess9' : 'Install-Day1');
      await Promise.all([page.waitForLoadState('load'), page.click('main button[type=submit]')]);
      expect(new URL(page.url()).pathname).toBe('/login');
    }
    await expect(page.locator('.error').textContent()).resolves.toContain('locked');
    const row = gh.db.prepare("SELECT locked_at FROM admin_users WHERE name = 'teacher1'").get() as { locked_at: number | null };
    expect(row.locked_at).not.toBeNull();
    await page.close();
  });

  it('shows a hostile query name as text in the query log and runs nothing', async () => {
    // Sent as a real query from a staff address (dig cannot type this label; dns-packet can).
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.3', r));
    const replied = new Promise<void>((resolve) => socket.once('message', () => resolve()));
    socket.send(
      dnsPacket.encode({
        type: 'query',
        id: 4242,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: 'A', name: `${XSS_LABEL}.evil.example` }],
      }),
      dnsPort,
      '127.0.0.1',
    );
    await Promise.race([replied, new Promise((r) => setTimeout(r, 3000))]);
    socket.close();
    await gh.queryLog.flush();

    await browser.context.clearCookies();
    const page = await newPage();
    await loginInBrowser(page, base, {
      name: 'itlead',
      password: 'Term-Starts2',
      secret: totpSecretOf(gh.db, gh.config.store.path, 'itlead'),
    });
    await page.goto(`${base}/querylog?client=127.0.0.3`);
    const cell = page.locator('#querylog td.name', { hasText: 'onerror' });
    await expect(cell.count()).resolves.toBe(1);
    const shown = (await cell.textContent())!;
    expect(shown).toContain('<img');
    expect(shown).toContain('onerror=alert(1)>');
    await expect(page.locator('#querylog img').count()).resolves.toBe(0);
    // The dashboard lists it among the top domains, as text too.
    await page.goto(`${base}/dashboard`);
    await expect(page.locator('main img').count()).resolves.toBe(0);
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    await page.close();
  }, 90_000);

  it('refuses changes without the CSRF token', async () => {
    const page = await newPage();
    await page.goto(`${base}/exceptions`); // still logged in as itlead
    const statuses = await page.evaluate(async () => {
      const json = await fetch('/api/exceptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          domain: 'porn.example',
          action: 'allow',
          groups: ['guests'],
          requester: 'x',
          subjectArea: 'x',
          reason: 'x',
          approver: 'x',
        }),
      });
      const form = await fetch('/exceptions', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'domain=porn.example&action=allow&groups=guests&requester=x&subjectArea=x&reason=x&approver=x',
      });
      const wrong = await fetch('/exceptions', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'domain=porn.example&action=allow&groups=guests&requester=x&subjectArea=x&reason=x&approver=x&_csrf=' + 'A'.repeat(43),
      });
      return [json.status, form.status, wrong.status];
    });
    expect(statuses).toEqual([403, 403, 403]);
    const list = await page.evaluate(async () => (await (await fetch('/api/exceptions')).json()) as { domain: string }[]);
    expect(list.map((e) => e.domain)).toEqual(['homework-help.example']);
    const guest = await dig('127.0.0.1', dnsPort, 'porn.example', 'A', ['-b', '127.0.0.4']);
    expect(guest.answers.map((a) => a.data)).toEqual(['127.0.0.1']);
    await page.close();
  });

  it('lets an auditor read but change nothing', async () => {
    await browser.context.clearCookies();
    const page = await newPage();
    await loginInBrowser(page, base, { name: 'governor', password: 'Install-Day1', newPassword: 'Board-Review3' });
    await page.goto(`${base}/exceptions`);
    await expect(page.locator('#exceptions').textContent()).resolves.toContain('homework-help.example');
    await expect(page.locator('#add-exception').count()).resolves.toBe(0);
    await expect(page.locator('nav a[href="/users"]').count()).resolves.toBe(0);
    await page.goto(`${base}/checks`);
    await expect(page.locator('#run-check').count()).resolves.toBe(0);
    await page.goto(`${base}/alerts`);
    await expect(page.locator('form[action$="/ack"]').count()).resolves.toBe(0);
    // With the session's own CSRF token, the server still refuses every change.
    const statuses = await page.evaluate(async () => {
      const token = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
      const headers = { 'content-type': 'application/json', 'x-csrf-token': token };
      const add = await fetch('/api/exceptions', {
        method: 'POST',
        headers,
        body: JSON.stringify({
          domain: 'porn.example',
          action: 'allow',
          groups: ['guests'],
          requester: 'x',
          subjectArea: 'x',
          reason: 'x',
          approver: 'x',
        }),
      });
      const del = await fetch('/api/exceptions/1?reason=x', { method: 'DELETE', headers: { 'x-csrf-token': token } });
      const user = await fetch('/users', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `name=mallory&role=admin&password=Sneaky-Pass1&_csrf=${token}`,
      });
      const check = await fetch('/api/checks', { method: 'POST', headers, body: '{}' });
      return [add.status, del.status, user.status, check.status];
    });
    expect(statuses).toEqual([403, 403, 403, 403]);
    const count = gh.db.prepare("SELECT count(*) FROM admin_users WHERE name = 'mallory'").pluck().get();
    expect(count).toBe(0);
    expect(gh.db.prepare('SELECT count(*) FROM exceptions').pluck().get()).toBe(1);
    expect(dialogs).toEqual([]);
    await page.close();
  });
});
