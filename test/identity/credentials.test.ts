// Device tokens and Chrome's hashed identifiers: the token format (RFC 4648
// base32, DNS-label safe), tokens stored only as hashes and change-logged
// without themselves, revocation, device references, and the credential map
// the DoH/DoT servers read (hash vectors computed independently, by openssl
// and by Python's hashlib, never by the code under test).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../src/store/db.js';
import { base32, findDevice, issueToken, listTokens, revokeToken, tokenHash, TOKEN_PATTERN } from '../../src/identity/device-tokens.js';
import { chromeHash, Credentials } from '../../src/identity/credentials.js';
import { saveDevice } from '../../src/identity/devices.js';
import { importRoster } from '../../src/identity/roster/import.js';
import { listChanges, verifyChain } from '../../src/admin/changelog.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';

/** SHA-256(salt + value) as Chrome writes it, by openssl: an implementation independent of ours. */
function opensslChromeHash(salt: string, value: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: salt + value }).toString();
  return out.split(' ')[0].toUpperCase();
}

const SALT = 'gatehouse-salt-1';

describe('Chrome identifier hashes', () => {
  // Computed with Python: hashlib.sha256((salt + value).encode()).hexdigest().upper()
  it.each([
    ['pupil1@school.example', 'E917EE7DA18AA9F2030AD37D35A59A4DBBA33C52DDC1E21E16B0726BBA95DA5B'],
    ['pupil1', '64336FB49C048F531C92907B58E6B62646049AAB7175A54591D67602126AB1D3'],
    ['5CD1234XYZ', '4F5FE5A0E5E35EA322E0360D99099B68A93CAAA431D439E7532AC229A0D58824'],
    ['VALUE_NOT_AVAILABLE', 'BDBF2D13886411A24772B7F4B375CEC84D1D71DC759AE2EA7065B3437783DBCD'],
  ])('hashes %s as hashlib does', (value, want) => {
    expect(chromeHash(SALT, value)).toBe(want);
  });

  it('agrees with openssl on UTF-8 values', () => {
    for (const v of ['zoë.brontë@school.example', 'ASSET-Ω-1', ''])
      expect(chromeHash('sälty-salt', v)).toBe(opensslChromeHash('sälty-salt', v));
  });
});

describe('device tokens', () => {
  let dir: string;
  let db: Database;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-tokens-'));
    db = openDatabase(join(dir, 'gh.db'));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['', ''],
    ['f', 'my'],
    ['fo', 'mzxq'],
    ['foo', 'mzxw6'],
    ['foob', 'mzxw6yq'],
    ['fooba', 'mzxw6ytb'],
    ['foobar', 'mzxw6ytboi'],
  ])('base32(%j) is RFC 4648 §10 (lower case, no padding)', (text, want) => {
    expect(base32(Buffer.from(text))).toBe(want);
  });

  it('issues a DNS-label-safe token shown once, stores only its hash, and change-logs it without the token', () => {
    const device = saveDevice(db, { mac: 'aa:bb:cc:00:00:01', name: 'iPad 7', serial: 'DMPX123' }, 'tester');
    const a = issueToken(db, { device, group: 'pupils', label: 'Year 9 iPad', actor: 'tester' });
    const b = issueToken(db, { device, actor: 'tester' });
    expect(a.token).toMatch(TOKEN_PATTERN);
    expect(a.token.length).toBeLessThanOrEqual(63);
    expect(a.token).not.toBe(b.token);
    db.close();
    const file =
      readFileSync(join(dir, 'gh.db')).toString('latin1') + readFileSync(join(dir, 'gh.db-wal'), { flag: 'a+' }).toString('latin1');
    expect(file).not.toContain(a.token);
    expect(file).toContain(tokenHash(a.token));
    db = openDatabase(join(dir, 'gh.db'));
    const rows = listChanges(db).filter((c) => c.entity === 'device-token');
    expect(rows.map((r) => r.action)).toEqual(['create', 'create']);
    expect(JSON.stringify(rows)).not.toContain(a.token);
    expect(JSON.parse(rows[1].after_json!)).toMatchObject({ device: 'mac:aa:bb:cc:00:00:01', group: 'pupils', label: 'Year 9 iPad' });
    expect(listTokens(db).map((t) => t.group ?? null)).toEqual([null, 'pupils']);
  });

  it('revokes a token once, with its change-log row', () => {
    const device = saveDevice(db, { mac: 'aa:bb:cc:00:00:02', name: 'Tablet' }, 'tester');
    const t = issueToken(db, { device, actor: 'tester' });
    revokeToken(db, t.id, 'admin2');
    expect(() => revokeToken(db, t.id, 'admin2')).toThrow(/already revoked/);
    expect(() => revokeToken(db, 999, 'admin2')).toThrow(/no such token/);
    expect(listTokens(db, { active: true })).toEqual([]);
    expect(listTokens(db)[0]).toMatchObject({ revokedBy: 'admin2' });
    expect(listChanges(db).find((c) => c.action === 'revoke')).toMatchObject({
      entity: 'device-token',
      entity_id: String(t.id),
      actor: 'admin2',
    });
    expect(verifyChain(db).ok).toBe(true);
  });

  it('finds a device by id, MAC, name, asset tag or serial, and says when a reference is ambiguous or unknown', () => {
    const d = saveDevice(db, { mac: 'aa:bb:cc:00:00:03', name: 'Library laptop 1', assetTag: 'LIB-001', serial: 'SN-123' }, 'tester');
    saveDevice(db, { mac: 'aa:bb:cc:00:00:04', name: 'Shared', assetTag: 'X-1' }, 'tester');
    saveDevice(db, { mac: 'aa:bb:cc:00:00:05', name: 'Shared', assetTag: 'X-2' }, 'tester');
    for (const ref of [String(d.id), 'AA-BB-CC-00-00-03', 'library laptop 1', 'lib-001', 'SN-123'])
      expect(findDevice(db, ref).id).toBe(d.id);
    expect(() => findDevice(db, 'Shared')).toThrow(/2 devices match/);
    expect(() => findDevice(db, 'nothing')).toThrow(/no such device/);
  });
});

describe('the credential map', () => {
  let dir: string;
  let db: Database;
  const config = parseConfig(
    [
      'dns: { listen: ["127.0.0.1:0"] }',
      'links: [{ name: primary, upstreams: ["udp://127.0.0.1:9"] }]',
      'groups: [{ name: pupils }, { name: staff }, { name: guests, default: true }]',
      'identity: { groups: [{ orgUnit: /Students, group: pupils }, { orgUnit: /Staff, group: staff }] }',
      'doh: { listen: ["127.0.0.1:0"], chromeSalt: gatehouse-salt-1 }',
      'tls: { certFile: c.pem, keyFile: k.pem, hostname: dns.test }',
    ].join('\n'),
  );
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-cred-'));
    db = openDatabase(join(dir, 'gh.db'));
    const roster = [
      'username,email,name,org_unit',
      'pupil1,pupil1@school.example,Pupil One,/Students/Year 9',
      'teacher1,Teacher1@School.example,Teacher One,/Staff',
      'jdoe,jdoe@school.example,J Doe,/Students',
      'jdoe2,jdoe@other.example,J Doe Two,/Staff',
    ].join('\n');
    const result = importRoster(db, {
      source: 'file:roster.csv',
      format: 'generic',
      text: roster,
      maxRemovedPercent: 50,
      schoolDomains: new Set(['school.example']),
      actor: 'test',
      now: Date.now(),
    });
    expect(result.ok).toBe(true);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const personId = (user: string) => (db.prepare('SELECT id FROM identity_people WHERE user_key = ?').get(user) as { id: number }).id;

  it('maps an e-mail hash, a local-part hash and device hashes back to the person, their roster group and the device', () => {
    const cb = saveDevice(
      db,
      { mac: 'aa:bb:cc:00:00:10', name: 'CB-17', assetTag: 'ASSET-17', serial: '5CD1234XYZ', directoryId: 'dir-id-17' },
      'test',
    );
    const creds = new Credentials(db, config, silentLogger());
    creds.refresh();
    const email = opensslChromeHash(SALT, 'pupil1@school.example');
    const a = creds.byPath(email)!;
    expect(a.identity).toMatchObject({ personId: personId('pupil1'), user: 'pupil1', group: 'pupils', from: { person: 'chrome' } });
    expect(a.key).toBe(`person ${personId('pupil1')}`);
    // Chrome writes upper case; a proxy might lower it.
    expect(creds.byPath(email.toLowerCase())?.identity.personId).toBe(personId('pupil1'));
    expect(creds.byPath(opensslChromeHash(SALT, 'pupil1'))?.identity.personId).toBe(personId('pupil1'));
    // The roster's e-mail in mixed case: Google sends it lower-cased.
    expect(creds.byPath(opensslChromeHash(SALT, 'teacher1@school.example'))?.identity.group).toBe('staff');
    for (const id of ['dir-id-17', '5CD1234XYZ', 'ASSET-17']) {
      expect(creds.byPath(opensslChromeHash(SALT, id))?.identity).toMatchObject({
        deviceId: cb.id,
        deviceName: 'CB-17',
        from: { device: 'chrome' },
      });
    }
    const both = creds.byPath(`${email}/${opensslChromeHash(SALT, 'dir-id-17')}/00107F000001`)!;
    expect(both.identity).toMatchObject({ personId: personId('pupil1'), deviceId: cb.id, group: 'pupils' });
  });

  it('gives people the group of the roster group mappings in force once change control changes them', () => {
    const creds = new Credentials(db, config, silentLogger());
    creds.refresh();
    const email = opensslChromeHash(SALT, 'pupil1@school.example');
    const generation = creds.generation;
    creds.setMappings([{ orgUnit: '/Students/Year 9', group: 'guests' }]);
    expect(creds.generation).toBeGreaterThan(generation);
    expect(creds.byPath(email)?.identity.group).toBe('guests');
    expect(creds.byPath(opensslChromeHash(SALT, 'teacher1@school.example'))?.identity.group).toBeUndefined();
    // The same mappings again: nothing to rebuild.
    creds.setMappings([{ orgUnit: '/Students/Year 9', group: 'guests' }]);
    expect(creds.generation).toBe(generation + 1);
  });

  it('knows nothing from unknown hashes, the not-available value, IP segments, other text, or a local part two people share', () => {
    const creds = new Credentials(db, config, silentLogger());
    creds.refresh();
    expect(creds.byPath(opensslChromeHash(SALT, 'nobody@school.example'))).toBeUndefined();
    expect(creds.byPath(opensslChromeHash(SALT, 'VALUE_NOT_AVAILABLE'))).toBeUndefined();
    expect(creds.byPath('00107F000001')).toBeUndefined();
    expect(creds.byPath('hello/../../etc/passwd')).toBeUndefined();
    expect(creds.byPath(opensslChromeHash(SALT, 'jdoe'))).toBeUndefined();
    expect(creds.byPath(opensslChromeHash(SALT, 'jdoe@other.example'))?.identity.group).toBe('staff');
    // Another salt: another school's hashes mean nothing here.
    expect(creds.byPath(opensslChromeHash('another-salt', 'pupil1@school.example'))).toBeUndefined();
  });

  it('resolves tokens from a DoH path or a DoT label in either case, and forgets a revoked one at the next refresh', () => {
    const device = saveDevice(db, { mac: 'aa:bb:cc:00:00:20', name: 'iPad 3' }, 'test');
    const t = issueToken(db, { device, group: 'pupils', actor: 'test' });
    const creds = new Credentials(db, config, silentLogger());
    creds.refresh();
    const want = { deviceId: device.id, deviceName: 'iPad 3', group: 'pupils', from: { device: 'token' } };
    expect(creds.byPath(t.token)?.identity).toMatchObject(want);
    expect(creds.byToken(t.token.toUpperCase())?.identity).toMatchObject(want);
    expect(creds.byToken(t.token)?.key).toBe(`device ${device.id}`);
    const generation = creds.generation;
    revokeToken(db, t.id, 'test');
    creds.poll();
    expect(creds.generation).toBeGreaterThan(generation);
    expect(creds.byPath(t.token)).toBeUndefined();
    expect(creds.byToken(t.token)).toBeUndefined();
  });
});
