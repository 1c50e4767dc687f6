// The Devices page's encrypted DNS tokens with inject, the real store and the
// real admin app: an admin issues a token and sees it once (with the DoH URL,
// the Android Private DNS name and an Apple profile that Python's plistlib
// reads back), a reload does not show it, the database keeps only its hash;
// the list shows label, group, issued, last used and revoked; revoke works;
// a DSL gets 403, a form without the CSRF field is refused; a hostile device
// name is escaped; bad input gets a clear error.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveDevice } from '../../src/identity/devices.js';
import { markTokensUsed, tokenHash, TOKEN_PATTERN } from '../../src/identity/device-tokens.js';
import { havePrograms } from '../helpers/programs.js';
import type { Client } from './helpers.js';
import { loggedIn, pagesHarness, type PagesHarness } from './pages-helpers.js';

const HOSTILE = 'iPad <script>alert(1)</script> & "co"';

/** The page's one-time block: the token, its URLs and the data: link's profile. */
function issued(body: string) {
  const token = /id="issued-token-value">([^<]*)</.exec(body)?.[1];
  const link = /id="issued-mobileconfig" href="data:application\/x-apple-aspen-config;base64,([A-Za-z0-9+/=]+)" download="([^"]+)"/.exec(
    body,
  );
  return {
    token,
    dohUrl: /id="issued-doh-url">([^<]*)</.exec(body)?.[1],
    dotName: /id="issued-dot-name">([^<]*)</.exec(body)?.[1],
    profile: link ? Buffer.from(link[1], 'base64').toString('utf8') : undefined,
    fileName: link?.[2],
  };
}

describe.runIf(havePrograms('python3'))('device tokens on the Devices page', () => {
  let h: PagesHarness;
  let admin: Client;
  let dsl: Client;
  let auditor: Client;
  let ipad: number;
  let hostile: number;

  beforeAll(async () => {
    h = await pagesHarness({
      extraYaml: `doh: { listen: ["0.0.0.0:443"] }\ndot: { listen: ["0.0.0.0:853"] }\ntls: { certFile: /nonexistent/cert.pem, keyFile: /nonexistent/key.pem, hostname: dns.school.example }\n`,
    });
    ipad = saveDevice(h.db, { mac: 'aa:bb:cc:00:02:01', name: 'iPad 21', assetTag: 'IPAD-21' }, 'test').id;
    hostile = saveDevice(h.db, { mac: 'aa:bb:cc:00:02:02', name: HOSTILE }, 'test').id;
    admin = await loggedIn(h, 'itlead', 'admin');
    dsl = await loggedIn(h, 'dsl', 'dsl');
    auditor = await loggedIn(h, 'governor', 'auditor');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('issues a token shown once with the DoH URL, the Private DNS name and an Apple profile; a reload does not show it', async () => {
    expect((await admin.get('/devices')).body).toContain(`href="/devices/${ipad}/tokens"`);
    expect((await admin.get(`/devices/${ipad}`)).body).toContain(`href="/devices/${ipad}/tokens"`);
    const before = await admin.get(`/devices/${ipad}/tokens`);
    expect(before.statusCode).toBe(200);
    expect(before.body).toContain('id="tokens-empty"');

    const res = await admin.post(`/devices/${ipad}/tokens`, { label: 'Year 9 trolley', group: 'pupils' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const got = issued(res.body);
    expect(got.token).toMatch(TOKEN_PATTERN);
    const token = got.token!;
    expect(got.dohUrl).toBe(`https://dns.school.example/dns-query/${token}`);
    expect(got.dotName).toBe(`${token}.dns.school.example`);
    expect(got.fileName).toBe(`gatehouse-device-${ipad}.mobileconfig`);

    // The profile as an Apple device would read it (Python's plistlib, a parser independent of ours).
    const plist = JSON.parse(
      execFileSync('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], {
        input: got.profile!,
      }).toString(),
    );
    expect(plist).toMatchObject({ PayloadType: 'Configuration', PayloadDisplayName: 'School DNS filter (iPad 21)' });
    expect(plist.PayloadContent).toHaveLength(1);
    expect(plist.PayloadContent[0]).toMatchObject({
      PayloadType: 'com.apple.dnsSettings.managed',
      DNSSettings: { DNSProtocol: 'HTTPS', ServerURL: `https://dns.school.example/dns-query/${token}` },
    });

    // Stored as its hash only, with a change-log row that does not hold it.
    const row = h.db.prepare('SELECT * FROM device_tokens WHERE device_id = ?').get(ipad) as Record<string, unknown>;
    expect(row).toMatchObject({ token_hash: tokenHash(token), label: 'Year 9 trolley', group_name: 'pupils', created_by: 'itlead' });
    expect(JSON.stringify(h.db.prepare('SELECT * FROM change_log').all())).not.toContain(token);
    expect(readFileSync(h.config.store.path).toString('latin1')).not.toContain(token);

    // Never shown again: the list has its label, group and dates, not the token.
    const again = await admin.get(`/devices/${ipad}/tokens`);
    expect(again.body).not.toContain(token);
    expect(again.body).not.toContain('id="issued-token"');
    expect(again.body).toMatch(/id="device-tokens"[\s\S]*Year 9 trolley[\s\S]*pupils[\s\S]*by itlead[\s\S]*never/);
    markTokensUsed(h.db, [Number(row.id)], h.clock.now);
    expect((await admin.get(`/devices/${ipad}/tokens`)).body).not.toMatch(/id="token-\d+"[\s\S]*never/);
  });

  it('revokes a token: the list says when and by whom, and it cannot be revoked twice', async () => {
    const res = await admin.post(`/devices/${ipad}/tokens`, { label: 'spare', group: '' });
    const id = Number(/Token (\d+): copy it now/.exec(res.body)![1]);
    const revoked = await admin.post(`/devices/${ipad}/tokens/${id}/revoke`, {});
    expect(revoked.statusCode).toBe(302);
    expect(revoked.headers.location).toBe(`/devices/${ipad}/tokens?done=revoked`);
    const row = h.db.prepare('SELECT revoked_at, revoked_by FROM device_tokens WHERE id = ?').get(id);
    expect(row).toEqual({ revoked_at: h.clock.now, revoked_by: 'itlead' });
    const page = await admin.get(`/devices/${ipad}/tokens?done=revoked`);
    expect(page.body).toContain('Token revoked');
    expect(page.body).toMatch(new RegExp(`id="token-${id}"[\\s\\S]*?by itlead</span></td>\\s*<td></td>`));
    expect(page.body).not.toContain(`action="/devices/${ipad}/tokens/${id}/revoke"`);
    const twice = await admin.post(`/devices/${ipad}/tokens/${id}/revoke`, {});
    expect(twice.statusCode).toBe(400);
    expect(twice.body).toContain('Not revoked: the token is already revoked.');
    // A token of another device is not revoked through this one.
    const other = await admin.post(`/devices/${hostile}/tokens/${id}/revoke`, {});
    expect(other.statusCode).toBe(404);
    const actions = h.db.prepare("SELECT action FROM change_log WHERE entity = 'device-token' ORDER BY id").pluck().all();
    expect(actions).toEqual(['create', 'create', 'revoke']);
  });

  it('only an admin sees, issues or revokes tokens (a DSL and an auditor get 403); a form without the CSRF field is refused', async () => {
    const count = () => h.db.prepare('SELECT count(*) FROM device_tokens').pluck().get();
    const n = count();
    for (const c of [dsl, auditor]) {
      expect((await c.get(`/devices/${ipad}/tokens`)).statusCode).toBe(403);
      expect((await c.post(`/devices/${ipad}/tokens`, { label: 'not admin' })).statusCode).toBe(403);
    }
    const tokenId = h.db.prepare('SELECT id FROM device_tokens WHERE revoked_at IS NULL').pluck().get();
    expect((await dsl.post(`/devices/${ipad}/tokens/${tokenId}/revoke`, {})).statusCode).toBe(403);
    const noCsrf = await admin.post(`/devices/${ipad}/tokens`, { label: 'x' }, { csrf: false });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.body).not.toMatch(TOKEN_PATTERN.source.replace(/^\^|\$$/g, ''));
    expect((await admin.post(`/devices/${ipad}/tokens/${tokenId}/revoke`, {}, { csrf: false })).statusCode).toBe(403);
    expect(count()).toBe(n);
    expect(h.db.prepare('SELECT revoked_at FROM device_tokens WHERE id = ?').pluck().get(tokenId)).toBeNull();
  });

  it('escapes a hostile device name on the page; the profile carries it as text', async () => {
    const page = await admin.get(`/devices/${hostile}/tokens`);
    expect(page.body).not.toContain('<script>alert(1)</script>');
    expect(page.body).toContain('iPad &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;');
    const res = await admin.post(`/devices/${hostile}/tokens`, { label: '<b>label</b>' });
    expect(res.body).not.toContain('<script>alert(1)</script>');
    expect(res.body).not.toContain('<b>label</b>');
    const plist = JSON.parse(
      execFileSync('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], {
        input: issued(res.body).profile!,
      }).toString(),
    );
    expect(plist.PayloadDisplayName).toBe(`School DNS filter (${HOSTILE})`);
    expect((await admin.get(`/devices/${hostile}/tokens`)).body).toContain('&lt;b&gt;label&lt;/b&gt;');
  });

  it('bad input gets a clear error and issues nothing', async () => {
    const count = () => h.db.prepare('SELECT count(*) FROM device_tokens').pluck().get();
    const n = count();
    const badGroup = await admin.post(`/devices/${ipad}/tokens`, { label: 'x', group: 'nobody' });
    expect(badGroup.statusCode).toBe(400);
    expect(badGroup.body).toContain('Not issued: no such group.');
    expect(badGroup.body).not.toContain('id="issued-token"');
    const badLabel = await admin.post(`/devices/${ipad}/tokens`, { label: 'x\u0000y' });
    expect(badLabel.statusCode).toBe(400);
    expect(badLabel.body).toContain('Not issued: label:');
    expect(count()).toBe(n);
    expect((await admin.get('/devices/999999/tokens')).statusCode).toBe(404);
    expect((await admin.post('/devices/999999/tokens', {})).statusCode).toBe(404);
    expect((await admin.post(`/devices/${ipad}/tokens/abc/revoke`, {})).statusCode).toBe(404);
  });
});

describe('device tokens without encrypted DNS configured', () => {
  let h: PagesHarness;
  afterAll(async () => {
    await h?.close();
  });
  it('issues the token and says that doh or dot and tls are needed; no profile is offered', async () => {
    h = await pagesHarness();
    const id = saveDevice(h.db, { mac: 'aa:bb:cc:00:03:01', name: 'Laptop' }, 'test').id;
    const admin = await loggedIn(h, 'itlead', 'admin');
    const res = await admin.post(`/devices/${id}/tokens`, { label: '' });
    expect(res.statusCode).toBe(200);
    expect(issued(res.body).token).toMatch(TOKEN_PATTERN);
    expect(res.body).toContain('Encrypted DNS is not set up');
    expect(res.body).not.toContain('id="issued-mobileconfig"');
    expect(res.body).not.toContain('id="issued-doh-url"');
  });
});
