// Identity in the admin UI with inject, the real store and writer, a real
// identity service reading a real lease file: the person and device beside
// the address (query log, dashboard, alerts, review requests), the person page
// and its CSV and timeline (illegal names withheld), who may see what (never
// an auditor), the Identity status page and the Devices page (add, edit,
// unname, CSV import by form and by upload), each save reaching the service.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.js';
import { parseAlerts } from '../alerts/helpers/setup.js';
import { createReviewRequest } from '../../src/changes/review-request.js';
import { recordRequester } from '../../src/identity/review-requests.js';
import { IdentityService } from '../../src/identity/service.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { liveDeps } from '../../src/admin/wire.js';
import type { LiveDeps } from '../../src/admin/live.js';
import type { Client } from './helpers.js';
import { loggedIn, pagesHarness, type PagesHarness } from './pages-helpers.js';

const GROUP = { pupils: 0 };
const CAT = { adult: 0, iwf: 1 };
const ILLEGAL = 'abuse-site.example';

describe('identity in the admin pages', () => {
  let h: PagesHarness;
  let admin: Client;
  let dsl: Client;
  let auditor: Client;
  let service: IdentityService;
  let engine: AlertEngine;
  let alertId: number;
  const live: LiveDeps = {};
  let jo: number;
  let laptop: number;
  let phone: number;

  beforeAll(async () => {
    h = await pagesHarness({ deps: { live, isIllegal: (n) => n === ILLEGAL }, now: Math.floor(Date.now() / 60_000) * 60_000 });
    const leases = join(h.dir, 'dnsmasq.leases');
    writeFileSync(leases, `${Math.floor(h.clock.now / 1000) + 3600} 02:00:00:00:00:0a 127.0.0.2 jo-laptop *\nnot a lease line\n`);
    const config = parseConfig(
      `links: [{ name: p, upstreams: ["udp://127.0.0.1:9"] }]\ngroups: [{ name: everyone, default: true }]\nstore: { path: ${h.config.store.path} }\n` +
        `identity: { dhcp: [{ format: dnsmasq, path: ${leases} }] }\n`,
      join(h.dir, 'identity.yaml'),
    );
    service = new IdentityService({ db: h.db, config, logger: silentLogger(), now: () => h.clock.now });
    await service.start();
    Object.assign(live, { identity: liveDeps({ identity: service } as never).identity });
    jo = h.db
      .prepare(
        "INSERT INTO identity_people (user_key, display_name, email, year_group, in_roster, roster_source, first_seen, last_seen, updated_at) VALUES ('jsmith', 'Jo <b>Smith</b>', 'jsmith@school.example', 'Year 9', 1, 'file:roster.csv', 0, 0, 0) RETURNING id",
      )
      .pluck()
      .get() as number;
    laptop = service.store.deviceFor('mac:02:00:00:00:00:0a');
    phone = service.store.deviceFor('mac:02:00:00:00:00:0b');
    const t = h.clock.now - 10 * 60_000;
    for (let i = 0; i < 20; i++)
      h.log.record(t + i * 1000, '127.0.0.2', GROUP.pupils, `site${i}.example`, 1, 0, -1, 0, 0, 100, false, -1, -1, false, 0, jo, laptop);
    for (let i = 0; i < 5; i++)
      h.log.record(
        t + 30_000 + i,
        '127.0.0.5',
        GROUP.pupils,
        'porn.example',
        1,
        1,
        CAT.adult,
        -1,
        0,
        10,
        false,
        -1,
        -1,
        false,
        0,
        jo,
        phone,
      );
    h.log.record(t + 40_000, '127.0.0.5', GROUP.pupils, ILLEGAL, 1, 1, CAT.iwf, -1, 0, 10, false, -1, -1, false, 0, jo, phone);
    h.log.record(t + 50_000, '127.0.0.9', GROUP.pupils, 'other.example', 1, 0, -1, 0, 0, 10, false);
    await h.log.flush();
    engine = new AlertEngine({ db: h.db, config: parseAlerts({}), categories: h.config.categories });
    engine.observe({
      at: t + 30_000,
      client: '127.0.0.5',
      group: 'pupils',
      category: 'adult',
      severity: 'high',
      domain: 'porn.example',
      circumvention: false,
      illegal: false,
      personId: jo,
      deviceId: phone,
    });
    engine.flush();
    alertId = engine.list().items[0].id;
    live.alerts = engine;
    const request = createReviewRequest(
      h.db,
      h.config,
      { domain: 'games.example', group: 'pupils', clientAddress: '127.0.0.5', reason: 'homework' },
      t,
    );
    recordRequester(h.db, request, { personId: jo, deviceId: phone });
    admin = await loggedIn(h, 'itlead', 'admin');
    dsl = await loggedIn(h, 'dsl', 'dsl');
    auditor = await loggedIn(h, 'governor', 'auditor');
  });

  afterAll(async () => {
    await engine?.stop();
    await service?.stop();
    await h?.close();
  });

  it('the query log names the person and the device beside the address, and searches by them', async () => {
    const page = await dsl.get('/querylog?user=jsmith');
    expect(page.statusCode).toBe(200);
    const rows = page.body.match(/<tr>[\s\S]*?<\/tr>/g)!.slice(1);
    expect(rows).toHaveLength(26);
    expect(page.body).toContain(`<a class="person" href="/people/${jo}">Jo &lt;b&gt;Smith&lt;/b&gt; (jsmith)</a>`);
    expect(page.body).toContain('jo-laptop (02:00:00:00:00:0a)');
    expect(page.body).not.toContain('other.example');
    expect(page.body).not.toContain(ILLEGAL);
    const byDevice = await dsl.get('/querylog?device=02:00:00:00:00:0b');
    expect(byDevice.body.match(/porn\.example/g)).toHaveLength(5);
    const csv = await dsl.get('/querylog.csv?user=Smith');
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/,user,person,device,mac$/);
    expect(lines).toHaveLength(27);
    expect(lines[1]).toMatch(/,jsmith,Jo <b>Smith<\/b>,,02:00:00:00:00:0b$/);
    const api = await dsl.api('GET', `/api/querylog?person=${jo}&limit=1`);
    expect(api.json().rows[0]).toMatchObject({ user: 'jsmith', personId: jo, deviceId: phone, mac: '02:00:00:00:00:0b' });
  });

  it('the dashboard names who is behind the top addresses for the DSL, never for an auditor', async () => {
    const forDsl = await dsl.get('/dashboard');
    expect(forDsl.body).toMatch(/id="top-clients"[\s\S]*127\.0\.0\.2[\s\S]*jsmith/);
    const forAuditor = await auditor.get('/dashboard');
    expect(forAuditor.body).toContain('127.0.0.2');
    expect(forAuditor.body).not.toContain('jsmith');
    expect(JSON.stringify((await auditor.api('GET', '/api/dashboard?period=hour')).json())).not.toContain('jsmith');
    expect((await dsl.api('GET', '/api/dashboard?period=hour')).json().topClients[0].who).toMatchObject({ user: 'jsmith' });
  });

  it('alerts and review requests show the person and device; the alert links to their timeline', async () => {
    expect((await dsl.get('/alerts')).body).toContain(`href="/people/${jo}"`);
    const one = await dsl.get(`/alerts/${alertId}`);
    expect(one.body).toContain(`id="alert-timeline" href="/people/${jo}/timeline?alert=${alertId}"`);
    expect(one.body).toMatch(/id="alert-device">02:00:00:00:00:0b</);
    expect((await dsl.api('GET', '/api/alerts')).json().items[0]).toMatchObject({ personId: jo, user: 'jsmith' });
    expect((await admin.get('/exceptions')).body).toMatch(/id="request-\d+"[\s\S]*href="\/people\/\d+"[\s\S]*jsmith/);
    expect((await auditor.get('/exceptions')).body).not.toContain('jsmith');
  });

  it('the person page: totals, categories, devices, addresses, alerts, requests and the latest blocks; illegal names withheld', async () => {
    const page = await dsl.get(`/people/${jo}`);
    expect(page.statusCode).toBe(200);
    const b = page.body;
    expect(b).toContain('id="person-user">jsmith<');
    expect(b).toMatch(/id="person-totals"><strong>26<\/strong> lookups[\s\S]*<strong>6<\/strong> blocked, on 2 devices\s+and 2 addresses/);
    expect(b).toMatch(/id="person-categories"[\s\S]*Adult content[\s\S]*>5<[\s\S]*IWF child abuse list[\s\S]*illegal: names withheld/);
    expect(b).toMatch(/id="person-devices"[\s\S]*jo-laptop \(02:00:00:00:00:0a\)[\s\S]*02:00:00:00:00:0b/);
    expect(b).toMatch(/id="person-alerts"[\s\S]*href="\/alerts\/\d+"[\s\S]*Adult content[\s\S]*Timeline/);
    expect(b).toMatch(/id="person-requests"[\s\S]*R-0000\d\d[\s\S]*games\.example[\s\S]*homework/);
    expect(b).toMatch(/id="person-blocked"[\s\S]*porn\.example/);
    expect(b).not.toContain(ILLEGAL);
    const csv = await dsl.get(`/people/${jo}/activity.csv`);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body.trimEnd().split('\r\n')).toHaveLength(27);
    expect(csv.body).not.toContain(ILLEGAL);
    expect(csv.body).toContain('withheld');
    const timeline = await dsl.get(`/people/${jo}/timeline?alert=${alertId}`);
    expect(timeline.body).toContain(`href="/alerts/${alertId}"`);
    expect(timeline.body.match(/class="alert-lookup"/g)).toHaveLength(5);
    expect(timeline.body).not.toContain('other.example');
    expect(timeline.body).not.toContain(ILLEGAL);
    expect((await dsl.get(`/people/${jo}/timeline?alert=999999`)).statusCode).toBe(404);
    expect((await dsl.get('/people/999999')).statusCode).toBe(404);
    expect((await dsl.get('/people?q=smith')).body).toContain(`href="/people/${jo}"`);
  });

  it('auditors reach no person page, and see no person anywhere', async () => {
    for (const url of [
      '/people',
      `/people/${jo}`,
      `/people/${jo}/timeline?alert=${alertId}`,
      `/people/${jo}/activity.csv`,
      `/alerts/${alertId}`,
    ])
      expect((await auditor.get(url)).statusCode, url).toBe(403);
    expect((await auditor.get('/alerts')).body).not.toContain('jsmith');
  });

  it('the Identity page shows each source: leases, bad lines by number, roster imports', async () => {
    const page = await dsl.get('/identity');
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/id="identity-dhcp"[\s\S]*dnsmasq\.leases[\s\S]*>1<[\s\S]*\(lines 2\)/);
    expect(page.body).toContain('Not configured (<code>identity.radius</code>)');
    expect(page.body).toContain('id="encrypted-off"');
    expect((await dsl.get('/devices')).statusCode).toBe(403);
    expect((await auditor.get('/identity')).statusCode).toBe(403);
  });

  it('the Devices page adds, edits, unnames and imports, each a change-log row, reaching the service at once', async () => {
    expect((await admin.get('/devices')).statusCode).toBe(200);
    let res = await admin.post('/devices', { mac: '02-00-00-00-00-0A', name: 'Library PC 3', assetTag: 'A-100', owner: '' });
    expect(res.statusCode).toBe(302);
    expect(service.lookup('127.0.0.2')?.deviceName).toBe('Library PC 3');
    res = await admin.post('/devices', { mac: 'not-a-mac', name: 'x' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Not saved: not a MAC address.');
    const id = laptop;
    res = await admin.post(`/devices/${id}`, { name: 'Library PC 4', assetTag: 'A-100', owner: 'IT' });
    expect(res.statusCode).toBe(302);
    expect(service.lookup('127.0.0.2')?.deviceName).toBe('Library PC 4');
    expect((await dsl.get('/querylog?device=Library')).body).toContain('Library PC 4 (02:00:00:00:00:0a)');
    res = await admin.post(`/devices/${id}/unname`, {});
    expect(res.statusCode).toBe(302);
    expect(service.lookup('127.0.0.2')?.deviceName).toBe('jo-laptop');
    res = await admin.post('/devices/import', { csv: 'mac,name,asset_tag\n02:00:00:00:00:0b,Jo phone,P-1\nzz,bad,\n' });
    expect(res.body).toMatch(/id="import-result"[\s\S]*1 added, 0 changed, 0 unchanged, 1 refused[\s\S]*line 3: not a MAC address/);
    const upload = await admin.h.app.inject({
      method: 'POST',
      url: '/api/devices/import',
      payload: 'Wi-Fi MAC,Device name\n02:00:00:00:00:0c,Trolley 1\n',
      headers: {
        cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        'content-type': 'text/csv',
        'x-csrf-token': admin.csrf,
      },
    });
    expect(upload.json()).toMatchObject({ added: 1, changed: 0, refused: [] });
    const noCsrf = await admin.api('POST', '/api/devices/import', undefined, { csrf: false });
    expect(noCsrf.statusCode).toBe(403);
    const changes = h.db.prepare("SELECT action FROM change_log WHERE entity = 'device' ORDER BY id").pluck().all();
    expect(changes).toEqual(['create', 'update', 'delete', 'create', 'create']);
    expect((await dsl.get('/devices')).statusCode).toBe(403);
  });
});
