// Chromium using Gatehouse as its DNS over HTTPS server, set the way
// chrome://settings sets it (secure mode, one template, in the profile's
// Local State), from "outside the school" (127.0.0.1) with a device token in
// the template as a school laptop at home would have: a page whose name only
// Gatehouse can resolve loads, and a blocked name shows Gatehouse's block page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { once } from 'node:events';
import { havePrograms } from '../helpers/programs.js';
import { startEncrypted, type EncryptedGatehouse } from '../helpers/encrypted.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { saveDevice } from '../../src/identity/devices.js';
import { issueToken } from '../../src/identity/device-tokens.js';
import { search } from '../../src/store/search.js';

describe.runIf(havePrograms('nsd', 'openssl', 'chromium'))('Chromium with Gatehouse as its DoH server', () => {
  let e: EncryptedGatehouse;
  let page: http.Server;
  let port: number;
  let browser: Browser;
  beforeAll(async () => {
    e = await startEncrypted({
      admin: true,
      extra: 'admin: { listen: "127.0.0.1:0", blockPage: { listen: "127.0.0.1:0" } }',
    });
    page = http.createServer((_q, r) => r.end('<title>only Gatehouse</title>ok'));
    page.listen(0, '127.0.0.1');
    await once(page, 'listening');
    port = (page.address() as { port: number }).port;
    const device = saveDevice(e.gh.app.db, { mac: 'aa:bb:cc:00:03:01', name: 'Laptop 31' }, 'test');
    const { token } = issueToken(e.gh.app.db, { device, group: 'pupils', actor: 'test' });
    e.gh.app.encrypted!.credentials.refresh();
    browser = await launchBrowser({
      // Trust the test certificate for DoH as for pages (the key's hash, as Chromium takes it).
      extraArgs: [`--ignore-certificate-errors-spki-list=${e.certs.spki}`],
      localState: { dns_over_https: { mode: 'secure', templates: `https://127.0.0.1:${e.dohPort}/dns-query/${token}` } },
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    page?.close();
    await e?.stop();
  });

  it('loads a page whose name only Gatehouse resolves, over DoH with the device’s token from outside', async () => {
    const before = e.gh.app.encrypted!.status().doh!.stats.http2;
    const p = await browser.context.newPage();
    await p.goto(`http://page.gh.test:${port}/`);
    expect(await p.title()).toBe('only Gatehouse');
    expect(e.gh.app.encrypted!.status().doh!.stats.http2).toBeGreaterThan(before);
    await e.gh.app.queryLog.flush();
    const rows = search(e.gh.app.db, { from: Date.now() - 600_000, to: Date.now() + 1000, domain: 'page.gh.test', limit: 10 }).rows;
    expect(rows[0]).toMatchObject({ client: '127.0.0.1', transport: 'doh', link: 'remote', group: 'pupils' });
  }, 60_000);

  it('shows the block page for a name the token’s group blocks', async () => {
    const blockPort = new URL(e.gh.app.blockPageUrl!).port;
    const p = await browser.context.newPage();
    await p.goto(`http://adult.gh.test:${blockPort}/`);
    const text = await p.locator('body').innerText();
    expect(text).toMatch(/adult\.gh\.test/);
    expect(text).toMatch(/Adult/);
  }, 60_000);
});
