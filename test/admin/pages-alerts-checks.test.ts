// The alerts inbox (with the real alert engine) and the checks page (the real
// self-test sending real DNS queries from 127.0.0.2 / .3 / .1 to a scripted
// loopback resolver), with inject.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.js';
import { silentLogger } from '../../src/log.js';
import type { Client } from './helpers.js';
import { loggedIn, pagesHarness, type PagesHarness } from './pages-helpers.js';

const XSS_DOMAIN = '"><script>alert(1)</script>.example';

/** A loopback resolver with a known fault: it blocks social-test.example for everyone, staff included. */
async function scriptedResolver(): Promise<{ port: number; sources: Set<string>; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const sources = new Set<string>();
  const blockedFor = (name: string, from: string) =>
    name === 'iwf-test.example' || name === 'social-test.example' || (name === 'adult-test.example' && from !== '127.0.0.3');
  socket.on('message', (msg, rinfo) => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    sources.add(rinfo.address);
    const name = q.questions![0].name;
    const ede = (text: string) => [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        options: [{ code: 15, data: Buffer.concat([Buffer.from([0, 15]), Buffer.from(text)]) }],
      },
    ];
    const reply: dnsPacket.Packet = {
      type: 'response',
      id: q.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions,
    };
    if (name === 'use-application-dns.net')
      reply.flags! |= 3; // NXDOMAIN
    else if (blockedFor(name, rinfo.address))
      Object.assign(reply, { answers: [{ type: 'A', name, ttl: 60, data: '127.0.0.1' }], additionals: ede('Blocked') });
    else Object.assign(reply, { answers: [{ type: 'A', name, ttl: 60, data: '192.0.2.10' }] });
    socket.send(dnsPacket.encode(reply), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, sources, close: () => new Promise((r) => socket.close(() => r())) };
}

describe('alerts inbox and checks', () => {
  let h: PagesHarness;
  let engine: AlertEngine;
  let resolver: Awaited<ReturnType<typeof scriptedResolver>>;
  let admin: Client;
  let dsl: Client;
  let auditor: Client;

  beforeAll(async () => {
    resolver = await scriptedResolver();
    // The alert engine needs the database first; the app is built with it in `live`.
    const live: { alerts?: AlertEngine } = {};
    h = await pagesHarness({
      extraYaml: `checks:
  names: { iwf: [iwf-test.example], adult: [adult-test.example], social: [social-test.example] }
  allowed: [fine.example]
  server: "127.0.0.1:${resolver.port}"
  timeoutMs: 1000`,
      deps: { live },
    });
    engine = new AlertEngine({ db: h.db, config: h.config.alerts, categories: h.config.categories, logger: silentLogger() });
    live.alerts = engine;
    const at = h.clock.now;
    engine.observe({
      at,
      client: '127.0.0.2',
      group: 'pupils',
      category: 'adult',
      severity: 'high',
      domain: XSS_DOMAIN,
      circumvention: false,
      illegal: false,
    });
    engine.observe({
      at,
      client: '127.0.0.5',
      group: 'guests',
      category: 'iwf',
      severity: 'critical',
      domain: 'never-shown.example',
      circumvention: false,
      illegal: true,
    });
    engine.observe({
      at,
      client: '127.0.0.6',
      group: 'guests',
      category: 'social',
      severity: 'low',
      domain: 'chat.example',
      circumvention: false,
      illegal: false,
    });
    admin = await loggedIn(h, 'itlead', 'admin');
    dsl = await loggedIn(h, 'dsl', 'dsl');
    auditor = await loggedIn(h, 'governor', 'auditor');
  });

  afterAll(async () => {
    await engine?.stop();
    await h?.close();
    await resolver?.close();
  });

  it('lists alerts with filters, escaping the domain and never showing an illegal one', async () => {
    const res = await dsl.get('/alerts');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('3 alerts match');
    expect(res.body).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;.example');
    expect(res.body).not.toContain('<script>alert(1)');
    expect(res.body).not.toContain('never-shown.example');
    expect(res.body).toContain('illegal content: no detail kept');
    const critical = await dsl.get('/alerts?severity=critical');
    expect(critical.body).toContain('1 alerts match');
    expect(critical.body).toContain('IWF child abuse list');
    const api = await dsl.api('GET', '/api/alerts?severity=high');
    expect(api.json().total).toBe(1);
  });

  it('a DSL acknowledges and closes with an outcome; the history shows both', async () => {
    const id = (await dsl.api('GET', '/api/alerts?severity=high')).json().items[0].id as number;
    const ack = await dsl.post(`/alerts/${id}/ack`, { back: '/alerts?status=open' });
    expect(ack.statusCode).toBe(302);
    expect(ack.headers.location).toBe('/alerts?status=open&done=acknowledged');
    // An outcome is required.
    const empty = await dsl.post(`/alerts/${id}/close`, { outcome: '', note: '' });
    expect(empty.statusCode).toBe(409);
    expect(empty.body).toContain('Choose an outcome before closing.');
    const close = await dsl.post(`/alerts/${id}/close`, {
      outcome: 'Spoke with the pupil or member of staff',
      note: 'Talked to <pupil>; no concern',
      back: 'https://evil.example/',
    });
    expect(close.headers.location).toBe('/alerts?done=closed');
    const detail = await admin.get(`/alerts/${id}`);
    expect(detail.body).toContain('id="alert-outcome">Spoke with the pupil or member of staff: Talked to &lt;pupil&gt;; no concern');
    expect(detail.body).toMatch(/open → acknowledged[\s\S]*acknowledged → closed/);
    expect(detail.body).not.toContain('Acknowledge</button>');
    // Closed twice: refused.
    expect((await dsl.api('POST', `/api/alerts/${id}/close`, { outcome: 'again' })).statusCode).toBe(409);
    const open = (await dsl.api('GET', '/api/alerts?status=open')).json();
    expect(open.total).toBe(2);
  });

  it('gives auditors counts by category, severity and outcome for a period, never an alert', async () => {
    const id = (await dsl.api('GET', '/api/alerts?status=open')).json().items[0].id as number;
    const page = await auditor.get('/alerts');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Your role sees how many alerts there were, not the alerts themselves');
    expect(page.body).toMatch(/id="counts-total"><strong>3<\/strong> safeguarding alerts/);
    expect(page.body).toMatch(/id="counts-category"[\s\S]*Adult content<\/td><td data-label="Alerts">1<\/td>/);
    expect(page.body).toMatch(/id="counts-category"[\s\S]*IWF child abuse list<\/td><td data-label="Alerts">1<\/td>/);
    expect(page.body).toMatch(/id="counts-severity"[\s\S]*critical<\/span><\/td><td data-label="Alerts">1<\/td>/);
    expect(page.body).toMatch(/id="counts-outcome"[\s\S]*Open: no outcome yet<\/td><td data-label="Alerts">2<\/td>/);
    expect(page.body).toMatch(/id="counts-outcome"[\s\S]*Spoke with the pupil or member of staff<\/td><td data-label="Alerts">1<\/td>/);
    // Nothing that names a pupil's device, a group, a domain or the DSL's note; no link to an alert.
    for (const secret of ['127.0.0.2', '127.0.0.5', '127.0.0.6', 'chat.example', 'script&gt;alert', 'never-shown', 'Talked to', 'guests'])
      expect([secret, page.body.includes(secret)]).toEqual([secret, false]);
    expect(page.body).not.toMatch(/href="\/alerts\/\d+"/);
    expect(page.body).not.toContain(`action="/alerts/${id}/ack"`);

    // One alert, as a page or through the API: refused.
    expect((await auditor.get(`/alerts/${id}`)).statusCode).toBe(403);
    expect((await auditor.api('GET', '/api/alerts')).statusCode).toBe(403);
    expect((await auditor.api('GET', '/api/alerts?status=open')).statusCode).toBe(403);
    const summary = await auditor.api('GET', '/api/alerts/summary');
    expect(summary.statusCode).toBe(200);
    const s = summary.json();
    expect(s.total).toEqual({ alerts: 3, lookups: 3 });
    expect(s.byCategory.map((r: { category: string }) => r.category).sort()).toEqual(['adult', 'iwf', 'social']);
    expect(s.bySeverity.map((r: { severity: string; alerts: number }) => `${r.severity} ${r.alerts}`)).toEqual([
      'critical 1',
      'high 1',
      'low 1',
    ]);
    expect(s.byOutcome).toContainEqual({ outcome: 'Spoke with the pupil or member of staff', alerts: 1 });
    for (const secret of ['127.0.0', 'example', 'Talked', 'pupils', 'guests']) expect(JSON.stringify(s)).not.toContain(secret);
    // A chosen period; a bad date is refused.
    const old = (await auditor.api('GET', '/api/alerts/summary?from=2020-01-01&to=2020-01-31')).json();
    expect(old.total.alerts).toBe(0);
    expect(old.from).toBe(Date.UTC(2020, 0, 1));
    expect(old.to).toBe(Date.UTC(2020, 1, 1));
    expect((await auditor.api('GET', '/api/alerts/summary?from=yesterday')).statusCode).toBe(400);
    const oldPage = await auditor.get('/alerts?from=2020-01-01&to=2020-01-31');
    expect(oldPage.body).toMatch(/id="counts-total"><strong>0<\/strong>/);
    expect(oldPage.body).toContain('value="2020-01-01"');

    // Auditors change nothing; without the CSRF token nobody does.
    expect((await auditor.post(`/alerts/${id}/ack`, {})).statusCode).toBe(403);
    expect((await auditor.api('POST', `/api/alerts/${id}/close`, { outcome: 'x' })).statusCode).toBe(403);
    expect((await dsl.post(`/alerts/${id}/ack`, {}, { csrf: false })).statusCode).toBe(403);
    expect((await dsl.api('GET', `/api/alerts?status=open`)).json().total).toBe(2);
    // The DSL's own view is the inbox, unchanged.
    expect((await dsl.get('/alerts')).body).toContain('alerts match');
  });

  it('runs the self-test with real queries from each group, records who, what and the result, and raises an alert on failure', async () => {
    const res = await dsl.post('/checks/run', {});
    expect(res.statusCode).toBe(302);
    const location = res.headers.location as string;
    expect(location).toMatch(/^\/checks\/\d+\?done=run$/);
    expect([...resolver.sources].sort()).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    const page = await auditor.get(location.replace('?done=run', ''));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<strong>Failed</strong>');
    expect(page.body).toMatch(/Run by<\/dt><dd>dsl \(manual\)/);
    // Staff are not meant to have social media blocked: the fault shows as a failed case.
    expect(page.body).toMatch(
      /<td data-label="Group">staff<\/td>\s*<td data-label="Sent from">127\.0\.0\.3<\/td>\s*<td data-label="Category">Social media<\/td>\s*<td data-label="Name"><code>social-test\.example<\/code><\/td>\s*<td data-label="Expected">allowed[\s\S]*?FAIL/,
    );
    expect(page.body).toMatch(
      /<td data-label="Group">pupils<\/td>\s*<td data-label="Sent from">127\.0\.0\.2<\/td>\s*<td data-label="Category">IWF child abuse list<\/td>[\s\S]*?<span class="state ok">ok<\/span> blocked/,
    );
    expect(page.body).toContain('Operational alert raised (check-failed)');
    // The alert is in the operational inbox.
    const ops = (await dsl.api('GET', '/api/alerts?kind=operational')).json();
    expect(ops.items.map((a: { category: string }) => a.category)).toContain('check-failed');

    // The resulting action staff took, appended.
    const id = Number(/\/checks\/(\d+)/.exec(location)![1]);
    expect((await auditor.post(`/checks/${id}/actions`, { action: 'looked' })).statusCode).toBe(403);
    const act = await dsl.post(`/checks/${id}/actions`, { action: 'Reported to the provider <ticket 42>' });
    expect(act.headers.location).toBe(`/checks/${id}?done=action`);
    const after = await admin.get(`/checks/${id}`);
    expect(after.body).toMatch(/id="check-actions"[\s\S]*dsl[\s\S]*Reported to the provider &lt;ticket 42&gt;/);
    const list = await auditor.get('/checks');
    expect(list.body).toMatch(/id="checks"[\s\S]*dsl <span class="muted">\(manual\)<\/span>[\s\S]*failed/);
    expect(list.body).not.toContain('Run the self-test now');
    // The record cannot be altered, even in SQL.
    expect(() => h.db.prepare('UPDATE checks SET ok = 1').run()).toThrow(/cannot be changed/);
    expect(() => h.db.prepare('DELETE FROM check_actions').run()).toThrow(/cannot be deleted/);
  });

  it('runs the self-test for chosen groups through the API; auditors cannot run it', async () => {
    expect((await auditor.api('POST', '/api/checks', {})).statusCode).toBe(403);
    expect((await admin.api('POST', '/api/checks', { groups: ['nobody'] })).statusCode).toBe(400);
    const res = await admin.api('POST', '/api/checks', { groups: ['pupils'] });
    expect(res.statusCode).toBe(201);
    const check = res.json();
    expect(check.summary).toMatch(/^5 of 5 checks passed/);
    expect(check.ok).toBe(true);
    expect(check.runBy).toBe('itlead');
    expect(new Set(check.cases.map((c: { group: string }) => c.group))).toEqual(new Set(['pupils']));
    expect(check.cases.length).toBe(5); // three categories, one allowed name, the canary
    expect(check.actions).toEqual([]);
    const all = (await auditor.api('GET', '/api/checks')).json();
    expect(all.total).toBe(2);
  });
});
