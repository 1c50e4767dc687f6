// End to end against the whole system (src/app.ts: DNS with lists, policy,
// query log and alerts, and the admin UI), in real headless Chromium, with the
// real dig sending queries from pupil and guest addresses:
// - change control: a technician asks for "allow a site for pupils until
//   T" as one account and cannot approve it; an approver (another account,
//   with MFA) approves it; `dig -b 127.0.0.2` shows the change only after the
//   approval (a guest, 127.0.0.4, still blocked), and blocked again once the
//   end time has passed (the service's clock moved on); a permanent change is
//   reverted with one action; the change log's hash chain verifies;
// - the account locks after 3 bad passwords;
// - a query whose label holds <img src=x onerror=alert(1)> shows as text in
//   the query log and runs nothing;
// - requests without the CSRF token are refused;
// - an auditor cannot change anything.
import dgram from 'node:dgram';
import { localInput } from '../../src/admin/views/time.js';
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
import { launchBrowser, loginInBrowser, loginsInTurn, postFromPage, type Browser } from '../helpers/browser.js';
import { dig } from '../helpers/dig.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { havePrograms } from '../helpers/programs.js';

const run = havePrograms('chromium', 'dig');
const ALLOWED_ADDRESS = '192.0.2.80';
const FILM_ADDRESS = '192.0.2.82';
const HOUR = 3_600_000;
/** The service's clock: real time plus this offset, so a test can move past an end time. */
let offset = 0;
const XSS_LABEL = '<img src=x onerror=alert(1)>';

describe.skipIf(!run)('whole system in Chromium', () => {
  let dir: string;
  let upstream: FakeUpstream;
  let gh: Gatehouse;
  let browser: Browser;
  let base: string;
  let dnsPort: number;
  let loginAs: ReturnType<typeof loginsInTurn>;
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
    upstream = await startFakeUpstream({
      'homework-help.example': ALLOWED_ADDRESS,
      'news.example': '192.0.2.81',
      'film-studies.example': FILM_ADDRESS,
    });
    writeFileSync(join(dir, 'adult.txt'), 'homework-help.example\nporn.example\nfilm-studies.example\n');
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
    gh = buildApp(config, { logger: silentLogger(), now: () => Date.now() + offset });
    await gh.start();
    base = gh.adminUrl!;
    dnsPort = gh.server.addresses().udp[0].port;
    const now = Date.now();
    await createUser(gh.db, { name: 'itlead', role: 'admin', password: 'Install-Day1', actor: 'test', now });
    await createUser(gh.db, { name: 'teacher1', role: 'dsl', password: 'Install-Day1', actor: 'test', now });
    await createUser(gh.db, { name: 'governor', role: 'auditor', password: 'Install-Day1', actor: 'test', now });
    await createUser(gh.db, { name: 'head', role: 'approver', password: 'Install-Day1', actor: 'test', now });
    browser = await launchBrowser();
    loginAs = loginsInTurn(browser, base, newPage);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gh?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const answer = async (name: string, from: string) =>
    (await dig('127.0.0.1', dnsPort, name, 'A', ['-b', from])).answers.map((a) => a.data);
  const idOf = (url: string) => Number(/\/changes\/(\d+)/.exec(url)![1]);

  it('a temporary allow for pupils applies only once another account, an approver with MFA, approves it, and ends by itself', async () => {
    expect(await answer('homework-help.example', '127.0.0.2')).toEqual(['127.0.0.1']);
    // The technician asks: "allow homework-help.example for pupils until T".
    let page = await loginAs('itlead', 'Install-Day1', 'Term-Starts2');
    await page.goto(`${base}/exceptions`);
    const until = localInput(Date.now() + 2 * HOUR, gh.config.admin.timezone); // the form takes the school's local time
    const form = page.locator('#add-exception');
    await form.locator('input[name=domain]').fill('homework-help.example');
    await form.locator('input[name=groups][value=pupils]').check();
    await form.locator('input[name=requester]').fill('Ms Khan');
    await form.locator('input[name=subjectArea]').fill('PSHE');
    await form.locator('textarea[name=reason]').fill('Sex education resources for Year 10');
    await form.locator('input[name=endsAt]').fill(until);
    await Promise.all([page.waitForURL(/\/changes\/\d+\?done=submitted$/), form.locator('button[value=submit]').click()]);
    const id = idOf(page.url());
    await expect(page.locator('#described').textContent()).resolves.toMatch(
      /pupils[\s\S]*Exception for homework-help\.example[\s\S]*no exception[\s\S]*allowed/,
    );
    // Submitted is not approved: a pupil is still blocked. And the requester cannot approve it, by any route.
    expect(await answer('homework-help.example', '127.0.0.2')).toEqual(['127.0.0.1']);
    await expect(page.locator('#approve-form').count()).resolves.toBe(0);
    const own = await postFromPage(page, `/api/changes/${id}/approve`);
    expect(own).toBe(403);
    await page.close();

    // The approver (head teacher), with MFA, sees it waiting and approves it.
    page = await loginAs('head', 'Install-Day1', 'Senior-Leader3');
    expect(new URL(page.url()).pathname).toBe('/changes');
    await expect(page.locator('#nav-count-changes').textContent()).resolves.toMatch(/^1 change requests waiting/);
    await page.click(`#waiting a[href="/changes/${id}"]`);
    await expect(page.locator('#change-record').textContent()).resolves.toContain('Sex education resources for Year 10');
    await Promise.all([page.waitForURL(/done=approved$/), page.click('#approve-form button[type=submit]')]);
    await expect(page.locator('#change-state').textContent()).resolves.toContain('in force');
    // Pupils now get the real answer; guests are still blocked.
    expect(
      await eventually(
        () => answer('homework-help.example', '127.0.0.2'),
        (a) => a.includes(ALLOWED_ADDRESS),
      ),
    ).toEqual([ALLOWED_ADDRESS]);
    expect(await answer('homework-help.example', '127.0.0.4')).toEqual(['127.0.0.1']);
    // The test of the change ran from a pupil address and passed; its result is on the change.
    await gh.changes.idle();
    await page.reload();
    await expect(page.locator('#change-test').textContent()).resolves.toMatch(/success: 1 of 1 checks passed/);
    await expect(page.locator('#change-approver').textContent()).resolves.toContain('head (approved)');
    await page.close();

    // The end time passes (the service's clock moves on): the change ends by itself, and pupils are blocked again.
    offset = 2 * HOUR + 60_000;
    await gh.changes.runDue();
    expect(await answer('homework-help.example', '127.0.0.2')).toEqual(['127.0.0.1']);
    const ended = gh.db.prepare('SELECT status, ended_by FROM change_requests WHERE id = ?').get(id);
    expect(ended).toEqual({ status: 'ended', ended_by: 'gatehouse (scheduled)' });
    offset = 0;
  }, 150_000); // several logins: each TOTP code must come from a step not used before

  it('reverts an applied change with one action, itself a change, and the chain still verifies', async () => {
    let page = await loginAs('itlead', 'Term-Starts2', 'Term-Starts2');
    await page.goto(`${base}/changes/new`);
    const form = page.locator('#new-exception');
    await form.locator('input[name=domain]').fill('film-studies.example');
    await form.locator('input[name=groups][value=pupils]').check();
    await form.locator('input[name=requester]').fill('Mr Ali');
    await form.locator('input[name=subjectArea]').fill('Media studies');
    await form.locator('textarea[name=reason]').fill('Film analysis');
    await form.locator('button[value=submit]').click();
    await page.waitForLoadState('load');
    if (!/done=submitted$/.test(page.url())) throw new Error(`not submitted: ${page.url()} ${await page.locator('main').textContent()}`);
    const id = idOf(page.url());
    await page.close();
    page = await loginAs('head', 'Senior-Leader3', 'Senior-Leader3');
    await page.goto(`${base}/changes/${id}`);
    await Promise.all([page.waitForURL(/done=approved$/), page.click('#approve-form button[type=submit]')]);
    expect(
      await eventually(
        () => answer('film-studies.example', '127.0.0.2'),
        (a) => a.includes(FILM_ADDRESS),
      ),
    ).toEqual([FILM_ADDRESS]);
    await page.close();

    page = await loginAs('itlead', 'Term-Starts2', 'Term-Starts2');
    await page.goto(`${base}/changes/${id}`);
    await page.fill('#revert-form input[name=reason]', 'Pupils used it for other films');
    await Promise.all([page.waitForURL(/done=reverted$/), page.click('#revert-form button[type=submit]')]);
    await expect(page.locator('#change-summary').textContent()).resolves.toContain(`Revert of #${id}`);
    await expect(page.locator('#described').textContent()).resolves.toMatch(
      /Exception for film-studies\.example[\s\S]*allowed[\s\S]*no exception/,
    );
    expect(await answer('film-studies.example', '127.0.0.2')).toEqual(['127.0.0.1']);
    await page.goto(`${base}/changes/${id}`);
    await expect(page.locator('#change-state').textContent()).resolves.toContain('reverted');

    await page.click('nav a[href="/changelog"]');
    await page.waitForURL(`${base}/changelog`);
    await expect(page.locator('#chain-status').textContent()).resolves.toContain('Chain verified');
    await expect(page.locator('#changes').textContent()).resolves.toContain('Pupils used it for other films');
    await page.goto(`${base}/changelog/extract`);
    const board = page.locator(`#board-${id}`);
    await expect(board.textContent()).resolves.toContain('head (approved)');
    await expect(board.textContent()).resolves.toContain('Reverted by');
    await page.close();
  }, 150_000);

  it('locks an account after 3 bad passwords, even for the right one after', async () => {
    // itlead's session is put back afterwards: a fourth login within a minute would wait for a new TOTP step.
    const itleadSession = await browser.context.cookies();
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
    await browser.context.clearCookies();
    await browser.context.addCookies(itleadSession);
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

    const page = await newPage(); // still logged in as itlead, from the revert test
    await page.goto(`${base}/querylog?client=127.0.0.3`);
    expect(new URL(page.url()).pathname).toBe('/querylog');
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
    expect(list.map((e) => e.domain)).toEqual([]);
    const guest = await dig('127.0.0.1', dnsPort, 'porn.example', 'A', ['-b', '127.0.0.4']);
    expect(guest.answers.map((a) => a.data)).toEqual(['127.0.0.1']);
    await page.close();
  });

  it('lets an auditor read but change nothing', async () => {
    await browser.context.clearCookies();
    const page = await newPage();
    await loginInBrowser(page, base, { name: 'governor', password: 'Install-Day1', newPassword: 'Board-Review3' });
    await page.goto(`${base}/exceptions`);
    await expect(page.locator('main').textContent()).resolves.toContain('Exceptions in force (0)');
    await expect(page.locator('#add-exception').count()).resolves.toBe(0);
    await page.goto(`${base}/changes`);
    await expect(page.locator('#recent').textContent()).resolves.toContain('film-studies.example');
    await expect(page.locator('form[action$="/revert"]').count()).resolves.toBe(0);
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
      const del = await fetch('/api/changes/1/revert', { method: 'POST', headers, body: JSON.stringify({ reason: 'x' }) });
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
    expect(gh.db.prepare("SELECT count(*) FROM change_requests WHERE ops_json LIKE '%porn.example%'").pluck().get()).toBe(0);
    expect(dialogs).toEqual([]);
    await page.close();
  });
});
