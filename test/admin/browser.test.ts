// End to end in real headless Chromium over HTTPS (self-signed, generated at
// start): log in with password + TOTP enrolment, change the first-login
// password, ask for an allow exception for pupils (a change request, which
// changes nothing until approved), and find it in the change log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdminApp } from '../../src/admin/app.js';
import { parseAlerts } from '../alerts/helpers/setup.js';
import { AlertEngine } from '../../src/alerts/engine.js';
import { startAdminServer } from '../../src/admin/server.js';
import type { PolicyException } from '../../src/admin/context.js';
import { createUser } from '../../src/admin/users.js';
import { silentLogger } from '../../src/log.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { havePrograms } from '../helpers/programs.js';
import { testConfig, totpCode } from './helpers.js';

const run = havePrograms('chromium', 'openssl');

describe.skipIf(!run)('admin UI in Chromium', () => {
  let dir: string;
  let db: Database;
  let app: FastifyInstance;
  let context: BrowserContext;
  let base: string;
  const policyCalls: PolicyException[][] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-admin-e2e-'));
    const config = testConfig(dir, '  tls: { generate: true }');
    db = openDatabase(config.store.path);
    await createUser(db, { name: 'itlead', role: 'admin', password: 'Install-Day1', actor: 'test', now: Date.now() });
    app = await buildAdminApp({ config, db, logger: silentLogger(), policy: { setExceptions: (l) => policyCalls.push(l) } });
    base = await startAdminServer(app, config, 0); // the configured host, any free port
    // A fresh profile directory for each run.
    context = await chromium.launchPersistentContext(join(dir, 'chromium'), {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      timeout: 30_000,
      ignoreHTTPSErrors: true,
      viewport: { width: 1024, height: 768 },
    });
  });

  afterAll(async () => {
    await context?.close();
    await app?.close();
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in with TOTP, changes the password, asks for an exception and sees the request in the change log', async () => {
    expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const cspViolations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) cspViolations.push(m.text());
    });

    await page.goto(`${base}/login`);
    await expect(page.locator('.warning').textContent()).resolves.toContain('Authorised users only');
    await page.fill('input[name=username]', 'itlead');
    await page.fill('input[name=password]', 'Install-Day1');
    await Promise.all([page.waitForURL(`${base}/login/mfa`), page.click('button[type=submit]')]);

    // Enrol: read the key shown beside the QR code, compute the code as the phone app would.
    await expect(page.locator('.qr img').getAttribute('src')).resolves.toMatch(/^data:image\/svg\+xml;base64,/);
    // The key is shown in groups of four, as an authenticator app takes it typed.
    const shownKey = (await page.locator('#totp-secret').textContent())!.trim();
    expect(shownKey).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$/);
    const secret = shownKey.replace(/ /g, '');
    await page.fill('input[name=code]', totpCode(secret, Date.now()));
    // Enrolled: the ten recovery codes, this once, then on to the password change.
    await Promise.all([page.waitForSelector('#recovery-codes'), page.click('main button[type=submit]')]);
    await expect(page.locator('#recovery-codes li').count()).resolves.toBe(10);
    await Promise.all([page.waitForURL(`${base}/password`), page.click('#recovery-codes-saved')]);

    await page.fill('input[name=current]', 'Install-Day1');
    await page.fill('input[name=password]', 'Term-Starts2');
    await page.fill('input[name=confirm]', 'Term-Starts2');
    await Promise.all([page.waitForURL((url) => url.pathname !== '/password'), page.click('main button[type=submit]')]);
    await page.click('nav a[href="/exceptions"]');
    await page.waitForURL(`${base}/exceptions`);

    const form = page.locator('#add-exception');
    await form.locator('input[name=domain]').fill('maps.example.org');
    await form.locator('input[name=groups][value=pupils]').check();
    await form.locator('input[name=requester]').fill('Ms Khan');
    await form.locator('input[name=subjectArea]').fill('Geography');
    await form.locator('textarea[name=reason]').fill('Fieldwork maps <b>not bold</b>');
    await Promise.all([page.waitForURL(/\/changes\/\d+\?done=submitted$/), form.locator('button[value=submit]').click()]);
    await expect(page.locator('.notice').textContent()).resolves.toContain('waits for an approver');
    await expect(page.locator('#described').textContent()).resolves.toContain('maps.example.org');
    // Nothing reaches the resolver before an approver approves it.
    expect(policyCalls).toEqual([[]]);

    await page.click('nav a[href="/changelog"]');
    await page.waitForURL(`${base}/changelog`);
    await expect(page.locator('#chain-status').textContent()).resolves.toContain('Chain verified');
    const row = page.locator('#changes tbody tr', { hasText: 'maps.example.org' });
    await expect(row.textContent()).resolves.toContain('submit');
    await expect(row.textContent()).resolves.toContain('itlead');
    await expect(row.textContent()).resolves.toContain('Ms Khan');
    // The reason's markup is shown as text, not rendered.
    await expect(row.locator('b').count()).resolves.toBe(0);
    await expect(row.textContent()).resolves.toContain('<b>not bold</b>');

    // Session cookie: HttpOnly, Secure, SameSite=Strict.
    const cookie = (await context.cookies()).find((c) => c.name === '__Host-gh_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    expect(cspViolations).toEqual([]);
  });

  it('makes a DSL set up MFA, and lets her in with a recovery code when the phone is lost', async () => {
    await createUser(db, { name: 'dsl-lead', role: 'dsl', password: 'Install-Day1', actor: 'test', now: Date.now() });
    await context.clearCookies();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${base}/login`);
    await page.fill('input[name=username]', 'dsl-lead');
    await page.fill('input[name=password]', 'Install-Day1');
    await Promise.all([page.waitForURL(`${base}/login/mfa`), page.click('button[type=submit]')]);
    await expect(page.locator('main').textContent()).resolves.toContain('Your role needs a second factor');
    const secret = (await page.locator('#totp-secret').textContent())!.replace(/\s+/g, '');
    await page.fill('input[name=code]', totpCode(secret, Date.now()));
    await Promise.all([page.waitForSelector('#recovery-codes'), page.click('main button[type=submit]')]);
    const codes = (await page.locator('#recovery-codes code').allTextContents()).map((c) => c.trim());
    expect(codes).toHaveLength(10);
    await Promise.all([page.waitForURL(`${base}/password`), page.click('#recovery-codes-saved')]);
    await page.fill('input[name=current]', 'Install-Day1');
    await page.fill('input[name=password]', 'Pastoral-Care4');
    await page.fill('input[name=confirm]', 'Pastoral-Care4');
    await Promise.all([page.waitForURL((url) => url.pathname !== '/password'), page.click('main button[type=submit]')]);

    // The phone is lost: password, then "Use a recovery code".
    await context.clearCookies();
    await page.goto(`${base}/login`);
    await page.fill('input[name=username]', 'dsl-lead');
    await page.fill('input[name=password]', 'Pastoral-Care4');
    await Promise.all([page.waitForURL(`${base}/login/mfa`), page.click('button[type=submit]')]);
    await page.click('#use-recovery summary');
    await page.fill('input[name=recovery]', codes[0]);
    await Promise.all([page.waitForURL(`${base}/account?done=recovery`), page.click('#use-recovery button[type=submit]')]);
    await expect(page.locator('.notice').textContent()).resolves.toContain('9 of 10 left');
    await expect(page.locator('#recovery-left').textContent()).resolves.toContain('9 of 10 recovery codes left');
    await page.close();
  });

  it('locks the account after 3 bad passwords', async () => {
    await createUser(db, { name: 'teacher1', role: 'dsl', password: 'Install-Day1', actor: 'test', now: Date.now() });
    const page = await context.newPage();
    await context.clearCookies(); // log out the admin of the first test
    page.setDefaultTimeout(15_000);
    for (let i = 0; i < 4; i++) {
      await page.goto(`${base}/login`);
      await page.fill('input[name=username]', 'teacher1');
      await page.fill('input[name=password]', i < 3 ? 'Wrong-Guess9' : 'Install-Day1');
      await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
      await expect(page.locator('.error').textContent()).resolves.toContain('the account is locked');
      // The user name is never shown again.
      await expect(page.inputValue('input[name=username]')).resolves.toBe('');
    }
    const row = db.prepare("SELECT locked_at FROM admin_users WHERE name = 'teacher1'").get() as { locked_at: number | null };
    expect(row.locked_at).not.toBeNull();
    await page.close();
  });

  it('lets an auditor read but not change, and refuses requests without the CSRF token', async () => {
    await createUser(db, { name: 'governor', role: 'auditor', password: 'Install-Day1', actor: 'test', now: Date.now() });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await context.clearCookies();
    await page.goto(`${base}/login`);
    await page.fill('input[name=username]', 'governor');
    await page.fill('input[name=password]', 'Install-Day1');
    await Promise.all([page.waitForURL(`${base}/password`), page.click('button[type=submit]')]);
    await page.fill('input[name=current]', 'Install-Day1');
    await page.fill('input[name=password]', 'Board-Review3');
    await page.fill('input[name=confirm]', 'Board-Review3');
    await Promise.all([page.waitForURL((url) => url.pathname !== '/password'), page.click('main button[type=submit]')]);
    await page.goto(`${base}/exceptions`);
    await expect(page.locator('#add-exception').count()).resolves.toBe(0);
    await expect(page.locator('nav a[href="/users"]').count()).resolves.toBe(0);
    // Forged requests from the page itself: with the token the role check refuses; without it the CSRF check does.
    const statuses = await page.evaluate(async () => {
      const token = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
      const body = JSON.stringify({
        domain: 'x.example.org',
        action: 'allow',
        groups: ['pupils'],
        requester: 'r',
        subjectArea: 's',
        reason: 'r',
      });
      const send = (headers: Record<string, string>) =>
        fetch('/api/exceptions', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(
          (r) => r.status,
        );
      return [await send({ 'x-csrf-token': token }), await send({})];
    });
    expect(statuses).toEqual([403, 403]);
    const count = db.prepare("SELECT count(*) AS n FROM change_requests WHERE ops_json LIKE '%x.example.org%'").get();
    expect(count).toEqual({ n: 0 });
    await page.close();
  });

  it('shows an auditor alert counts, never an alert, and refuses a single alert by id', async () => {
    // A safeguarding alert for a pupil's self-harm lookup, raised by the real engine.
    const engine = new AlertEngine({ db, config: parseAlerts({}), logger: silentLogger() });
    engine.observe({
      at: Date.now(),
      client: '127.0.0.2',
      group: 'pupils',
      category: 'self-harm',
      severity: 'high',
      domain: 'hurting-myself.example',
      circumvention: false,
      illegal: false,
    });
    const id = engine.list().items[0].id;
    await engine.stop();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await context.clearCookies();
    await page.goto(`${base}/login`);
    await page.fill('input[name=username]', 'governor');
    await page.fill('input[name=password]', 'Board-Review3');
    await Promise.all([page.waitForURL((url) => url.pathname !== '/login'), page.click('button[type=submit]')]);
    await page.click('nav a[href="/alerts"]');
    await page.waitForURL(`${base}/alerts`);
    await expect(page.locator('#counts-total').textContent()).resolves.toMatch(/^1 safeguarding alerts raised/);
    await expect(page.locator('#counts-category tbody tr').textContent()).resolves.toBe('self-harm11');
    await expect(page.locator('#counts-outcome tbody tr').textContent()).resolves.toBe('Open: no outcome yet1');
    const text = (await page.locator('main').textContent())!;
    expect(text).not.toContain('hurting-myself');
    expect(text).not.toContain('127.0.0.2');
    expect(text).not.toContain('pupils');
    await expect(page.locator('table#alerts').count()).resolves.toBe(0);
    await expect(page.locator(`a[href="/alerts/${id}"]`).count()).resolves.toBe(0);
    // The period form: a month long ago has none.
    await page.fill('#alert-period input[name=from]', '2020-01-01');
    await page.fill('#alert-period input[name=to]', '2020-01-31');
    await Promise.all([page.waitForURL(/from=2020-01-01/), page.click('#alert-period button')]);
    await expect(page.locator('#counts-total').textContent()).resolves.toMatch(/^0 safeguarding alerts/);
    // By id, as a page or from the API: refused.
    const direct = await page.goto(`${base}/alerts/${id}`);
    expect(direct!.status()).toBe(403);
    await expect(page.locator('main').textContent()).resolves.not.toContain('hurting-myself');
    const api = await page.evaluate(async () => [(await fetch('/api/alerts')).status, (await fetch('/api/alerts/summary')).status]);
    expect(api).toEqual([403, 200]);
    await page.close();
  });
});
