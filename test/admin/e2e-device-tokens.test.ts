// A token issued on the Devices page works against the running service
// without a restart: a real Gatehouse with DoH, DoT and the admin UI, a real
// headless Chromium logging in and issuing the token through the form, the
// Apple profile downloaded from the page's link, then kdig over DoT from
// "outside the school" with the token as the SNI's first label (answered
// within the service's 5 s poll), and REFUSED again once revoked on the page;
// then the Identity page's encrypted-DNS section shows those queries.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/admin/users.js';
import { saveDevice } from '../../src/identity/devices.js';
import { TOKEN_PATTERN } from '../../src/identity/device-tokens.js';
import { launchBrowser, loginInBrowser, type Browser } from '../helpers/browser.js';
import { OUTSIDE, kdigEncrypted, startEncrypted, type EncryptedGatehouse } from '../helpers/encrypted.js';
import { havePrograms } from '../helpers/programs.js';

/** kdig over DoT with `sni` until the status is `want` (at most 20 s: the service polls tokens every 5 s, and a loaded machine is slow). */
async function dotUntil(e: EncryptedGatehouse, sni: string, name: string, want: string) {
  const deadline = Date.now() + 20_000;
  let r = await kdigEncrypted(e, { dot: true, sni, from: OUTSIDE }, name);
  while (r.status !== want && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 250));
    r = await kdigEncrypted(e, { dot: true, sni, from: OUTSIDE }, name);
  }
  return r;
}

describe.runIf(havePrograms('kdig', 'nsd', 'openssl', 'chromium'))('a device token issued on the Devices page', () => {
  let e: EncryptedGatehouse;
  let browser: Browser;
  let device: number;

  beforeAll(async () => {
    e = await startEncrypted({
      admin: true,
      extra: 'admin: { listen: "127.0.0.1:0", allowedNetworks: ["127.0.0.0/8"], blockPage: { enabled: false } }',
    });
    const db = e.gh.app.db;
    device = saveDevice(db, { mac: 'aa:bb:cc:00:04:01', name: 'iPad 41' }, 'test').id;
    await createUser(db, { name: 'itlead', role: 'admin', password: 'Install-Day1', actor: 'test', now: Date.now() });
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await e?.stop();
  });

  it('works over DoT without a restart, and stops when revoked on the page', async () => {
    const base = e.gh.app.adminUrl!;
    const page = await browser.context.newPage();
    await loginInBrowser(page, base, { name: 'itlead', password: 'Install-Day1', newPassword: 'Filter-Lead-2026' });
    await page.goto(`${base}/devices/${device}/tokens`);
    await page.fill('#issue-token input[name=label]', 'home use');
    await page.selectOption('#issue-token select[name=group]', 'pupils');
    await Promise.all([page.waitForSelector('#issued-token'), page.click('#issue-token button[type=submit]')]);
    const token = (await page.textContent('#issued-token-value'))!;
    expect(token).toMatch(TOKEN_PATTERN);
    const sni = (await page.textContent('#issued-dot-name'))!;
    expect(sni).toBe(`${token}.dns.test`);

    // The profile's data: link downloads in a real browser, despite the page's CSP.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#issued-mobileconfig')]);
    expect(download.suggestedFilename()).toBe(`gatehouse-device-${device}.mobileconfig`);
    expect(readFileSync((await download.path())!, 'utf8')).toContain(`<string>https://dns.test/dns-query/${token}</string>`);

    // From outside the school, the token's group (pupils) gets the answer, with adult names blocked.
    const ok = await dotUntil(e, sni, 'www.gh.test', 'NOERROR');
    expect(ok.answers, ok.raw).toEqual(['192.0.2.10']);
    expect((await kdigEncrypted(e, { dot: true, sni, from: OUTSIDE }, 'adult.gh.test')).answers).not.toContain('192.0.2.66');

    await page.goto(`${base}/devices/${device}/tokens`);
    expect(await page.content()).not.toContain(token);
    await Promise.all([page.waitForURL(/done=revoked/), page.click('#device-tokens button.danger')]);
    const refused = await dotUntil(e, sni, 'www.gh.test', 'REFUSED');
    expect(refused.status, refused.raw).toBe('REFUSED');

    // The Identity page shows what the listeners did: their addresses, the DoT queries just made, the certificate.
    await page.goto(`${base}/identity`);
    expect(await page.textContent('#encrypted-hostname')).toMatch(/dns\.test.*valid until .*\(\d+ days\)/s);
    const dot = (await page.textContent('#encrypted-dot'))!;
    const queries = Number(/Queries\s*([\d,]+)/.exec(dot)![1].replace(/,/g, ''));
    expect(queries).toBeGreaterThanOrEqual(2);
    expect(await page.content()).toContain(`127.0.0.1:${e.dotPort}`);
    expect(await page.content()).toContain(`127.0.0.1:${e.dohPort}`);
    expect(await page.textContent('#encrypted-identities')).toMatch(/0 device tokens in force/);
  }, 120_000);
});
