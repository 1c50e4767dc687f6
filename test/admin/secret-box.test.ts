// TOTP secrets at rest: sealed with a key file beside the database, so the
// database alone (a backup) holds no usable second factor. Old clear-text
// secrets are sealed at start; a replaced key never lets anyone past MFA; the
// CLI's reset-mfa is the way back.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { TOTP, Secret } from 'otpauth';
import { addUser, Client, harness, shownRecoveryCodes, shownTotpKey, totpCode, totpSecretOf, type Harness } from './helpers.js';
import { getUserByName } from '../../src/admin/users.js';
import { isSealed, loadSecretKey, openSecret, sealSecret, secretKeyPath } from '../../src/admin/secret-box.js';
import { buildAdminApp } from '../../src/admin/app.js';
import { silentLogger } from '../../src/log.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('sealed TOTP secrets', () => {
  it('stores the enrolled secret sealed, with the key in a 0600 file beside the database', async () => {
    h = await harness();
    await addUser(h, 'itlead', 'admin');
    const secret = (await new Client(h).login('itlead'))!;
    const stored = getUserByName(h.db, 'itlead')!.totp_secret!;
    expect(isSealed(stored)).toBe(true);
    expect(stored).not.toContain(secret);
    for (const file of [h.config.store.path, `${h.config.store.path}-wal`].filter(existsSync))
      expect(readFileSync(file).includes(Buffer.from(secret))).toBe(false);
    expect(statSync(secretKeyPath(h.config.store.path)).mode & 0o777).toBe(0o600);
    expect(totpSecretOf(h.db, h.config.store.path, 'itlead')).toBe(secret);
  });

  it('a sealed secret is bound to its user: copied to another account it does not open', () => {
    const key = Buffer.alloc(32, 1);
    const sealed = sealSecret(key, 1, 'JBSWY3DPEHPK3PXP');
    expect(openSecret(key, 1, sealed)).toBe('JBSWY3DPEHPK3PXP');
    expect(openSecret(key, 2, sealed)).toBeNull();
    expect(openSecret(Buffer.alloc(32, 2), 1, sealed)).toBeNull();
    expect(openSecret(key, 1, sealed.slice(0, -4) + 'AAAA')).toBeNull();
    expect(openSecret(key, 1, 'JBSWY3DPEHPK3PXP')).toBeNull(); // clear text is never taken as sealed
  });

  it('seals a secret an older version stored in the clear, at start, and the user logs in with the same authenticator', async () => {
    h = await harness();
    await addUser(h, 'itlead', 'admin');
    const secret = (await new Client(h).login('itlead'))!;
    // As an older Gatehouse left it: the clear base32 secret in the row.
    h.db.prepare('UPDATE admin_users SET totp_secret = ? WHERE name = ?').run(secret, 'itlead');
    const again = await buildAdminApp({ config: h.config, db: h.db, logger: silentLogger(), now: () => h!.clock.now });
    await again.close();
    const stored = getUserByName(h.db, 'itlead')!.totp_secret!;
    expect(isSealed(stored)).toBe(true);
    expect(openSecret(loadSecretKey(h.config.store.path), getUserByName(h.db, 'itlead')!.id, stored)).toBe(secret);
    h.clock.now += 60_000;
    const c = new Client(h);
    await c.submitLogin('itlead', 'Changed-Pass2');
    await c.get('/login/mfa');
    const res = await c.post('/login/mfa', { code: totpCode(secret, h.clock.now) });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/dashboard');
  });

  it('with a replaced key file MFA fails (never skipped) until the CLI resets it; then the user enrols again', async () => {
    h = await harness();
    await addUser(h, 'itlead', 'admin');
    const secret = (await new Client(h).login('itlead'))!;
    writeFileSync(secretKeyPath(h.config.store.path), Buffer.alloc(32, 9).toString('hex'));
    await h.app.close();
    h.app = await buildAdminApp({ config: h.config, db: h.db, logger: silentLogger(), now: () => h!.clock.now });
    h.clock.now += 60_000;

    const c = new Client(h);
    await c.submitLogin('itlead', 'Changed-Pass2');
    const page = await c.get('/login/mfa');
    expect(page.body).not.toContain('totp-secret'); // not offered a new enrolment
    const refused = await c.post('/login/mfa', { code: totpCode(secret, h.clock.now) });
    expect(refused.statusCode).toBe(401);
    expect((await c.get('/')).headers.location).toBe('/login/mfa');

    // The technician resets MFA from the shell (writes the change log like the UI).
    const configFile = `${h.config.store.path}.yaml`;
    writeFileSync(
      configFile,
      `links:\n  - { name: p, upstreams: ["udp://127.0.0.1:53"] }\ngroups:\n  - { name: everyone, default: true }\nstore: { path: ${h.config.store.path} }\n`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'user', 'reset-mfa', 'itlead', '--config', configFile], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stdout).toContain('removed the authenticator of itlead');
    expect(r.status).toBe(0);
    expect(h.db.prepare("SELECT action FROM change_log WHERE entity = 'user' ORDER BY id DESC LIMIT 1").pluck().get()).toBe('reset-mfa');

    const fresh = new Client(h);
    await fresh.submitLogin('itlead', 'Changed-Pass2');
    const enrol = await fresh.get('/login/mfa');
    const newSecret = shownTotpKey(enrol.body)!;
    expect(newSecret).not.toBe(secret);
    const code = new TOTP({ secret: Secret.fromBase32(newSecret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
      timestamp: h.clock.now,
    });
    // Enrolled again: the answer is the new set of recovery codes.
    const done = await fresh.post('/login/mfa', { code });
    expect(shownRecoveryCodes(done.body)).toHaveLength(10);
  });

  it('a damaged key file stops the admin UI at start with a clear error, and is not replaced', async () => {
    h = await harness();
    writeFileSync(secretKeyPath(h.config.store.path), 'not a key\n');
    await expect(buildAdminApp({ config: h.config, db: h.db, logger: silentLogger() })).rejects.toThrow(
      /admin-secret\.key is not a Gatehouse secret key/,
    );
    expect(readFileSync(secretKeyPath(h.config.store.path), 'utf8')).toBe('not a key\n');
  });
});
