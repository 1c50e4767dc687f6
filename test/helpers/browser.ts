// Real headless Chromium for end-to-end tests (playwright-core with Debian's
// chromium): a fresh profile directory per launch, loopback only, and a login
// helper that goes through the admin UI's steps the way a person does.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { TOTP, Secret } from 'otpauth';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * `extraArgs`: more Chromium switches, e.g. --host-resolver-rules to send test names to loopback.
 * `localState`: browser-wide preferences written to the profile's "Local State" before the start
 * (what chrome://settings writes there), e.g. the secure DNS mode and templates.
 */
export async function launchBrowser(opts: { extraArgs?: string[]; localState?: object } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'gh-chromium-'));
  if (opts.localState) writeFileSync(join(profile, 'Local State'), JSON.stringify(opts.localState));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
    timeout: 30_000,
    ignoreHTTPSErrors: true,
    viewport: { width: 1024, height: 768 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function totpNow(secret: string, at = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: at });
}

/** The last 30-second step used per secret: the server refuses a code from a step already used. */
const usedSteps = new Map<string, number>();

/**
 * A code from a step not used before with this secret. The server accepts one
 * step either side of its own (src/admin/totp.ts), so the step after the last
 * used one serves while it is at most one ahead of now; only a third login
 * within one 30 s step waits, until the clock reaches the last used step.
 */
async function freshCode(secret: string): Promise<string> {
  const last = usedSteps.get(secret) ?? -1;
  const currentStep = () => Math.floor(Date.now() / 30_000);
  if (last > currentStep()) await new Promise((r) => setTimeout(r, last * 30_000 - Date.now() + 50));
  const step = Math.max(currentStep(), last + 1);
  usedSteps.set(secret, step);
  return totpNow(secret, step * 30_000 + 1000);
}

/**
 * Log in through the forms: password, then TOTP (enrolling from the key shown
 * beside the QR code, or from `secret`), then the first-login password change.
 * Returns the TOTP secret when MFA was used. Ends on the user's home page.
 */
export async function loginInBrowser(
  page: Page,
  base: string,
  user: { name: string; password: string; newPassword?: string; secret?: string },
): Promise<string | undefined> {
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', user.name);
  await page.fill('input[name=password]', user.password);
  await Promise.all([page.waitForURL((u) => u.pathname !== '/login'), page.click('main button[type=submit]')]);
  let secret = user.secret;
  if (new URL(page.url()).pathname === '/login/mfa') {
    const shown = page.locator('#totp-secret');
    const enrolling = (await shown.count()) > 0;
    // The key is shown in groups of four; authenticator apps ignore the spaces.
    if (enrolling) secret = (await shown.textContent())!.replace(/\s+/g, '');
    if (!secret) throw new Error('MFA asked for but no secret known');
    await page.fill('input[name=code]', await freshCode(secret));
    if (enrolling) {
      // Enrolment answers with the recovery codes (shown once, at the same URL); their link goes on.
      await Promise.all([page.waitForSelector('#recovery-codes'), page.click('main form button[type=submit]')]);
      await Promise.all([page.waitForURL((u) => u.pathname !== '/login/mfa'), page.click('#recovery-codes-saved')]);
    } else {
      await Promise.all([page.waitForURL((u) => u.pathname !== '/login/mfa'), page.click('main form button[type=submit]')]);
    }
  }
  if (new URL(page.url()).pathname === '/password') {
    if (!user.newPassword) throw new Error('a password change is required');
    await page.fill('input[name=current]', user.password);
    await page.fill('input[name=password]', user.newPassword);
    await page.fill('input[name=confirm]', user.newPassword);
    await Promise.all([page.waitForURL((u) => u.pathname !== '/password'), page.click('main button[type=submit]')]);
  }
  return secret;
}

/**
 * Log accounts in by turns in one browser, remembering each account's TOTP
 * secret once it enrolled, and its session: an account whose session is still
 * good gets it back instead of logging in again (the server takes each TOTP
 * step once, so a third login within a minute would wait for a new step). The
 * returned function opens a page with `newPage` and ends on the account's home page.
 */
export function loginsInTurn(browser: Browser, base: string, newPage: () => Promise<Page>) {
  const secrets = new Map<string, string>();
  const sessions = new Map<string, Awaited<ReturnType<BrowserContext['cookies']>>>();
  return async (name: string, password: string, newPassword: string): Promise<Page> => {
    await browser.context.clearCookies();
    const session = sessions.get(name);
    if (session) {
      await browser.context.addCookies(session);
      const page = await newPage();
      await page.goto(`${base}/`);
      if (!new URL(page.url()).pathname.startsWith('/login')) return page;
      await page.close();
      await browser.context.clearCookies();
    }
    const page = await newPage();
    const known = secrets.get(name);
    const secret = await loginInBrowser(page, base, { name, password, newPassword, ...(known ? { secret: known } : {}) }).catch(
      async (e: Error) => {
        throw new Error(`${e.message}: ${page.url()} ${await page.locator('main').textContent()}`);
      },
    );
    if (secret) secrets.set(name, secret);
    sessions.set(name, await browser.context.cookies());
    return page;
  };
}

/** POST JSON to the admin API from a page, with its session and CSRF token (as the UI's own scripts would); returns the status. */
export function postFromPage(page: Page, path: string, body: unknown = {}): Promise<number> {
  return page.evaluate(
    async ([url, json]) => {
      const token = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': token }, body: json });
      return r.status;
    },
    [path, JSON.stringify(body)] as const,
  );
}
