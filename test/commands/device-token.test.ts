// `gatehouse device token DEVICE`, `device tokens` and `device revoke-token
// ID` as real processes: the token is printed once with the device's DoH URL
// and Android Private DNS name, never listed again; an Apple profile read
// back by Python's plistlib (a parser independent of ours); a token issued
// by the command works over DoT against the running service within its 5 s
// poll, and stops after revoke-token; bad input gets a clear error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { havePrograms } from '../helpers/programs.js';
import { OUTSIDE, kdigEncrypted, startEncrypted, type EncryptedGatehouse } from '../helpers/encrypted.js';
import { saveDevice } from '../../src/identity/devices.js';
import { TOKEN_PATTERN } from '../../src/identity/device-tokens.js';

describe.runIf(havePrograms('kdig', 'nsd', 'openssl', 'python3'))('gatehouse device token', () => {
  let e: EncryptedGatehouse;
  let config: string;
  beforeAll(async () => {
    e = await startEncrypted();
    // The CLI reads the same database and the parts of the config it needs (groups, doh, dot, tls).
    config = join(e.dir, 'cli.yaml');
    writeFileSync(
      config,
      [
        'dns: { listen: ["127.0.0.1:0"] }',
        'links: [{ name: primary, upstreams: ["udp://127.0.0.1:9"] }]',
        'groups: [{ name: pupils }, { name: staff }, { name: guests, default: true }]',
        'doh: { listen: ["0.0.0.0:443"] }',
        'dot: { listen: ["0.0.0.0:853"] }',
        `tls: { certFile: "${e.certs.cert}", keyFile: "${e.certs.key}", hostname: dns.test }`,
        `store: { path: "${join(e.dir, 'gh.db')}" }`,
      ].join('\n') + '\n',
    );
    saveDevice(e.gh.app.db, { mac: 'aa:bb:cc:00:02:01', name: 'iPad 21', assetTag: 'IPAD-21' }, 'test');
  }, 60_000);
  afterAll(async () => {
    await e?.stop();
  });

  it('issues a token shown once, with the DoH URL, the Private DNS name and an Apple profile; DoT takes it within 5 s; revoke-token stops it', async () => {
    const profile = join(e.dir, 'ipad21.mobileconfig');
    const r = await runCli([
      'device',
      'token',
      'IPAD-21',
      '--group',
      'pupils',
      '--label',
      'Year 9 trolley',
      '--mobileconfig',
      profile,
      '--config',
      config,
    ]);
    expect(r.err).not.toMatch(/error/i);
    expect(r.code, r.err).toBe(0);
    const token = /shown only now: ([a-z2-7]+)/.exec(r.out)![1];
    expect(token).toMatch(TOKEN_PATTERN);
    expect(r.out).toContain(`DoH URL:              https://dns.test/dns-query/${token}`);
    expect(r.out).toContain(`Android Private DNS:  ${token}.dns.test`);
    expect(statSync(profile).mode & 0o777).toBe(0o600);

    // The profile as an Apple device would read it: a property list with one DNS Settings payload.
    const read = execFileSync('python3', [
      '-c',
      'import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1], "rb"))))',
      profile,
    ]).toString();
    const plist = JSON.parse(read);
    expect(plist).toMatchObject({ PayloadType: 'Configuration', PayloadVersion: 1, PayloadDisplayName: 'School DNS filter (iPad 21)' });
    expect(plist.PayloadContent).toHaveLength(1);
    expect(plist.PayloadContent[0]).toMatchObject({
      PayloadType: 'com.apple.dnsSettings.managed',
      DNSSettings: { DNSProtocol: 'HTTPS', ServerURL: `https://dns.test/dns-query/${token}` },
    });
    expect(plist.PayloadContent[0].PayloadUUID).toMatch(/^[0-9A-F-]{36}$/);
    expect(plist.PayloadContent[0].PayloadUUID).not.toBe(plist.PayloadUUID);

    // The list never shows the token.
    const list = await runCli(['device', 'tokens', '--config', config]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^\d+\t\d+\tpupils\tYear 9 trolley\t.*\tactive$/m);
    expect(list.out).not.toContain(token);
    expect(readFileSync(join(e.dir, 'gh.db')).toString('latin1')).not.toContain(token);

    // The running service, from outside the school: the token's group (pupils) blocks adult.
    const sni = `${token}.dns.test`;
    const deadline = Date.now() + 20_000;
    let r2 = await kdigEncrypted(e, { dot: true, sni, from: OUTSIDE }, 'adult.gh.test');
    while (r2.status !== 'NOERROR' && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 250));
      r2 = await kdigEncrypted(e, { dot: true, sni, from: OUTSIDE }, 'adult.gh.test');
    }
    expect(r2.answers, r2.raw).toEqual(['127.0.0.1']);

    const id = /^token (\d+) for device/m.exec(r.out)![1];
    const revoked = await runCli(['device', 'revoke-token', id, '--config', config]);
    expect(revoked).toMatchObject({ code: 0, out: `token ${id} (device ${/for device (\d+)/.exec(r.out)![1]}) revoked\n` });
    const until = Date.now() + 20_000;
    let r3 = await kdigEncrypted(e, { dot: true, sni, from: OUTSIDE }, 'www.gh.test');
    while (r3.status !== 'REFUSED' && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 250));
      r3 = await kdigEncrypted(e, { dot: true, sni, from: OUTSIDE }, 'www.gh.test');
    }
    expect(r3.status).toBe('REFUSED');
    expect((await runCli(['device', 'tokens', '--config', config])).out).not.toMatch(/active/);
    expect((await runCli(['device', 'tokens', '--all', '--config', config])).out).toMatch(/\trevoked \d{4}-/);
  }, 90_000);

  it.each([
    [['device', 'token', 'no-such-device'], 1, /gatehouse device token: no such device/],
    [['device', 'token', 'IPAD-21', '--group', 'nobody'], 2, /--group: no group "nobody" in the config/],
    [['device', 'token'], 2, /give one DEVICE/],
    [['device', 'revoke-token', 'x'], 2, /give one token ID/],
    [['device', 'revoke-token', '999999'], 1, /gatehouse device revoke-token: no such token/],
  ])(
    '%j fails clearly',
    async (args, code, message) => {
      const r = await runCli([...args, '--config', config]);
      expect(r.code).toBe(code);
      expect(r.err).toMatch(message);
    },
    30_000,
  );
});
