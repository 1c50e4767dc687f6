// A roster group mapping changed under change control, end to end: the whole
// service (src/app.ts) with its admin UI in real headless Chromium, a roster
// pupil signed in on the Wi-Fi (FreeRADIUS's radclient) at 127.0.0.50, and
// real dig queries from that address. The roster puts jsmith in org unit
// /Students/Year 9, which the policy maps to pupils (adult content blocked).
// A technician asks, on the change-request form, for /Students to be filtered
// as year9 (games blocked, adult content not); nothing changes while it waits;
// the technician cannot approve it; an approver (another account, with MFA)
// approves it; the next `dig -b 127.0.0.50` gets year9's answers without a
// restart, `gatehouse identity show` says year9, the change records that it
// could not be tested from this machine, the dashboard says the config file's
// identity.groups (still /Students → pupils) are not applied, and a reload of
// the file with other identity.groups applies none of them either.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/admin/changelog.js';
import { createUser } from '../../src/admin/users.js';
import { buildApp, type Gatehouse } from '../../src/app.js';
import { getRequest } from '../../src/changes/store.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { launchBrowser, loginsInTurn, postFromPage, type Browser } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { dig } from '../helpers/dig.js';
import { eventually } from '../helpers/eventually.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { havePrograms } from '../helpers/programs.js';
import { radclientAcct } from '../helpers/radclient.js';

const run = havePrograms('chromium', 'dig', 'radclient');
const SECRET = 'e2e-radius-secret';
const PUPIL = '127.0.0.50';
const ADULT = '192.0.2.80';
const GAMES = '192.0.2.81';
/** The block answer: the block page's address (dns.block's default). */
const BLOCKED = ['127.0.0.1'];

describe.skipIf(!run)('a roster group mapping moved by an approved change request', () => {
  let dir: string;
  let configFile: string;
  let upstream: FakeUpstream;
  let gh: Gatehouse;
  let browser: Browser;
  let base: string;
  let dnsPort: number;
  let loginAs: ReturnType<typeof loginsInTurn>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-e2e-mappings-'));
    upstream = await startFakeUpstream({ 'porn.example': ADULT, 'games.example': GAMES });
    writeFileSync(join(dir, 'adult.txt'), 'porn.example\n');
    writeFileSync(join(dir, 'games.txt'), 'games.example\n');
    writeFileSync(join(dir, 'roster.csv'), 'username,name,org_unit\njsmith,Jo Smith,/Students/Year 9\n');
    configFile = join(dir, 'gatehouse.yaml');
    writeFileSync(
      configFile,
      `dns: { listen: ["127.0.0.1:0"] }
links: [{ name: fibre, upstreams: ["${upstream.url}"], timeoutMs: 1000 }]
cache: { maxEntries: 0 }
categories: [{ id: adult, name: Adult content }, { id: games, name: Games }]
lists:
  - { id: adult-list, category: adult, source: "file:adult.txt", format: domains }
  - { id: games-list, category: games, source: "file:games.txt", format: domains }
groups:
  - { name: pupils, networks: ["10.10.0.0/16"], block: [adult] }
  - { name: year9, networks: ["10.11.0.0/16"], block: [games] }
  - { name: staff, default: true }
store: { path: gatehouse.db }
admin: { listen: "127.0.0.1:0", allowedNetworks: ["127.0.0.0/8"], blockPage: { listen: "127.0.0.1:0" } }
alerts: { enabled: false }
logging: { level: silent }
identity:
  domains: [school.example]
  roster: [{ source: "file:roster.csv", format: generic }]
  groups: [{ orgUnit: /Students, group: pupils }]
  radius: { listen: "127.0.0.1:0", clients: [{ network: 127.0.0.1/32, secret: "${SECRET}" }] }
`,
    );
    gh = buildApp(loadConfig(configFile), { logger: silentLogger() });
    await gh.start();
    base = gh.adminUrl!;
    dnsPort = gh.server.addresses().udp[0].port;
    const now = Date.now();
    await createUser(gh.db, { name: 'itlead', role: 'admin', password: 'Install-Day1', actor: 'test', now });
    await createUser(gh.db, { name: 'head', role: 'approver', password: 'Install-Day1', actor: 'test', now });
    browser = await launchBrowser();
    loginAs = loginsInTurn(browser, base, async () => {
      const page = await browser.context.newPage();
      page.setDefaultTimeout(15_000);
      return page;
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gh?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const answer = async (name: string) => (await dig('127.0.0.1', dnsPort, name, 'A', ['-b', PUPIL])).answers.map((a) => a.data);
  it('applies the new group to the person at once, only after another account approves it', async () => {
    const signedIn = await radclientAcct(gh.identity.radiusPort!, SECRET, [
      'Acct-Status-Type = Start',
      'User-Name = "jsmith@school.example"',
      `Framed-IP-Address = ${PUPIL}`,
      'Calling-Station-Id = "AA-BB-CC-00-00-50"',
      'Acct-Session-Id = "e2e-mapping-1"',
      'NAS-IP-Address = 127.0.0.1',
    ]);
    expect(signedIn.answered, signedIn.output).toBe(true);
    // /Students/Year 9 is under /Students → pupils: adult content blocked, games not (the address's own group, staff, blocks neither).
    expect(await answer('porn.example')).toEqual(BLOCKED);
    expect(await answer('games.example')).toEqual([GAMES]);

    // The technician asks, from the mapping's "change or remove" link on the change-request page.
    let page = await loginAs('itlead', 'Install-Day1', 'Term-Starts2');
    await page.goto(`${base}/changes/new`);
    await expect(page.locator('#mappings').textContent()).resolves.toMatch(/org unit \/Students\s*pupils/);
    await Promise.all([page.waitForURL(/attribute=orgUnit/), page.click('#mappings a[href*="value=%2FStudents"]')]);
    const form = page.locator('#new-mapping');
    await expect(form.locator('input[name=value]').inputValue()).resolves.toBe('/Students');
    await expect(form.locator('select[name=group]').inputValue()).resolves.toBe('pupils');
    await form.locator('select[name=group]').selectOption('year9');
    await form.locator('input[name=requester]').fill('Head of Year 9');
    await form.locator('input[name=subjectArea]').fill('Pastoral');
    await form.locator('textarea[name=reason]').fill('Year 9 get their own filter this term');
    await Promise.all([page.waitForURL(/\/changes\/\d+\?done=submitted$/), form.locator('button[value=submit]').click()]);
    const id = Number(/\/changes\/(\d+)/.exec(page.url())![1]);
    await expect(page.locator('#described').textContent()).resolves.toMatch(/People in org unit \/Students\s*Filtered as\s*pupils\s*year9/);
    await expect(page.locator('#change-record').textContent()).resolves.toContain('pupils, year9');
    // Waiting is not approved, and the requester cannot approve it.
    expect(await answer('porn.example')).toEqual(BLOCKED);
    await expect(page.locator('#approve-form').count()).resolves.toBe(0);
    const own = await postFromPage(page, `/api/changes/${id}/approve`);
    expect(own).toBe(403);
    await page.close();

    // The approver, with MFA, approves it.
    page = await loginAs('head', 'Install-Day1', 'Senior-Leader3');
    await page.goto(`${base}/changes/${id}`);
    await Promise.all([page.waitForURL(/done=approved$/), page.click('#approve-form button[type=submit]')]);
    await expect(page.locator('#change-state').textContent()).resolves.toContain('in force');

    // The same person, the same address, no restart: year9's answers.
    expect(
      await eventually(
        () => answer('porn.example'),
        (a) => a.includes(ADULT),
      ),
    ).toEqual([ADULT]);
    expect(await answer('games.example')).toEqual(BLOCKED);
    expect(gh.identity.lookup(PUPIL)).toMatchObject({ user: 'jsmith', group: 'year9' });

    // Its test says plainly that it cannot be asked from this machine.
    await gh.changes.idle();
    expect(getRequest(gh.db, id)!.test).toMatchObject({
      ok: null,
      summary: 'not tested: People in org unit /Students: the group a person is filtered as is not tested from this machine',
    });
    await page.reload();
    await expect(page.locator('#change-test').textContent()).resolves.toContain('not tested');

    await page.close();

    // The file still maps /Students to pupils: not applied, and the dashboard (IT's) says so.
    page = await loginAs('itlead', 'Term-Starts2', 'Term-Starts2');
    await page.goto(`${base}/dashboard`);
    await expect(page.locator('#notice-file-groups').textContent()).resolves.toMatch(
      /^The roster group mappings \(identity\.groups\) in the config file differ from the governed policy and are not applied/,
    );
    await page.close();

    // The command line reads the mappings in force from the policy too.
    gh.identity.flush();
    const shown = await runCli(['identity', 'show', PUPIL, '--json', '--config', configFile]);
    expect(shown.code, shown.err).toBe(0);
    expect(JSON.parse(shown.out)).toMatchObject({ personGroup: 'year9', identity: { user: 'jsmith' } });

    // A reload of a file whose identity.groups say otherwise again applies nothing of them, and restarts no source.
    writeFileSync(
      configFile,
      readFileSync(configFile, 'utf8').replace('{ orgUnit: /Students, group: pupils }', '{ orgUnit: /Students, group: staff }'),
    );
    const port = gh.identity.radiusPort;
    await gh.reload(loadConfig(configFile));
    expect(gh.identity.radiusPort).toBe(port);
    expect(gh.identity.lookup(PUPIL)).toMatchObject({ user: 'jsmith', group: 'year9' });
    expect(await answer('games.example')).toEqual(BLOCKED);
    expect(gh.changes.fileDifferences()).toEqual(['identity.groups']);
    expect(verifyChain(gh.db).ok).toBe(true);
  }, 150_000);
});
