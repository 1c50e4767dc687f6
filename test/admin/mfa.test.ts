// MFA for the roles in admin.mfaRoles (admin and dsl by default), the TOTP key
// in groups of four, and the ten one-time recovery codes: shown once, stored as
// keyed hashes, each usable once in place of a code, each use recorded.
import { afterEach, describe, expect, it } from 'vitest';
import { normaliseRecoveryCode, newRecoveryCodes } from '../../src/admin/recovery-codes.js';
import { getUserByName } from '../../src/admin/users.js';
import { groupKey } from '../../src/admin/views/mfa.js';
import { addReadyUser, Client, harness, PASSWORD, shownRecoveryCodes, shownTotpKey, totpCode, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const events = (h: Harness, name: string) =>
  h.db.prepare('SELECT event, address, detail FROM admin_auth_audit WHERE user_name = ? ORDER BY id').all(name) as {
    event: string;
    address: string | null;
    detail: string | null;
  }[];

/** Password step only, for a user who has MFA: ends on the code page. */
async function toCodeStep(h: Harness, name: string): Promise<Client> {
  const c = new Client(h);
  expect((await c.submitLogin(name, PASSWORD)).headers.location).toBe('/login/mfa');
  await c.get('/login/mfa');
  return c;
}

describe('MFA for the DSL', () => {
  it('asks a DSL without MFA to enrol at the next login (admin.mfaRoles defaults to admin, dsl and approver)', async () => {
    h = await harness();
    expect(h.config.admin.mfaRoles).toEqual(['admin', 'dsl', 'approver']);
    await addReadyUser(h, 'dsl1', 'dsl');
    const c = new Client(h);
    expect((await c.submitLogin('dsl1', PASSWORD)).headers.location).toBe('/login/mfa');
    // No page, no alert and no API before the second factor.
    expect((await c.get('/alerts')).headers.location).toBe('/login/mfa');
    expect((await c.api('GET', '/api/alerts')).statusCode).toBe(403);
    const page = await c.get('/login/mfa');
    expect(page.body).toContain('Your role needs a second factor');
    expect(shownTotpKey(page.body)).toMatch(/^[A-Z2-7]{32}$/);
  });

  it('asks for MFA at the next login once admin.mfaRoles adds the role (a reload)', async () => {
    h = await harness({ adminYaml: '  mfaRoles: [admin]' });
    await addReadyUser(h, 'dsl1', 'dsl');
    const c = new Client(h);
    expect(await c.login('dsl1')).toBeNull();
    expect((await c.get('/changelog')).statusCode).toBe(200);
    h.app.configure({ ...h.config, admin: { ...h.config.admin, mfaRoles: ['admin', 'dsl'] } });
    expect((await new Client(h).submitLogin('dsl1', PASSWORD)).headers.location).toBe('/login/mfa');
  });

  it('refuses a role that is not one', async () => {
    await expect(harness({ adminYaml: '  mfaRoles: [admin, governor]' })).rejects.toThrow(/mfaRoles/);
  });
});

describe('the TOTP key', () => {
  it('is shown in groups of four', async () => {
    expect(groupKey('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')).toBe('ABCD EFGH IJKL MNOP QRST UVWX YZ23 4567');
    h = await harness();
    await addReadyUser(h, 'boss', 'admin');
    const c = new Client(h);
    await c.submitLogin('boss', PASSWORD);
    const body = (await c.get('/login/mfa')).body;
    expect(body).toMatch(/id="totp-secret">[A-Z2-7]{4}( [A-Z2-7]{4}){7}</);
  });
});

describe('recovery codes', () => {
  it('are ten random codes from an unambiguous alphabet, typed back with any case, spaces or look-alikes', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(normaliseRecoveryCode(' ab0c1-d2e3f ')).toBe('AB0C1D2E3F');
    expect(normaliseRecoveryCode('abOcI-d2e3L')).toBe('AB0C1D2E31');
    expect(normaliseRecoveryCode('AB0C1-D2E3')).toBeNull();
    expect(normaliseRecoveryCode('AB0C1-D2E3U')).toBeNull();
  });

  it('are shown once at enrolment, stored only as hashes, and each logs in once in place of the code', async () => {
    h = await harness();
    await addReadyUser(h, 'boss', 'admin');
    await addReadyUser(h, 'dsl1', 'dsl');
    const admin = new Client(h);
    await admin.login('boss');
    const dsl = new Client(h);
    await dsl.login('dsl1');
    const codes = dsl.recoveryCodes;
    expect(codes).toHaveLength(10);
    // Only keyed hashes in the database: no code, with or without its dash.
    const stored = JSON.stringify(h.db.prepare('SELECT * FROM admin_recovery_codes').all());
    for (const code of codes) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(code.replace('-', ''));
    }
    // Never shown again: the account page says how many are left, not which.
    const account = (await dsl.get('/account')).body;
    expect(account).toContain('10 of 10 recovery codes left');
    for (const code of codes) expect(account).not.toContain(code);

    // A lost phone: password, then a recovery code (typed in lower case, without the dash).
    let c = await toCodeStep(h, 'dsl1');
    let res = await c.post('/login/mfa', { recovery: codes[3].toLowerCase().replace('-', ' ') });
    expect(res.headers.location).toBe('/account?done=recovery');
    const page = (await c.get('/account?done=recovery')).body;
    expect(page).toContain('You logged in with a recovery code: 9 of 10 left');
    expect((await c.get('/alerts')).statusCode).toBe(200);

    // The same code does not work twice; a wrong one counts towards the lockout.
    c = await toCodeStep(h, 'dsl1');
    res = await c.post('/login/mfa', { recovery: codes[3] });
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('That recovery code is not right');
    expect(getUserByName(h.db, 'dsl1')!.failed_attempts).toBe(1);
    res = await c.post('/login/mfa', { recovery: codes[4] });
    expect(res.headers.location).toBe('/account?done=recovery');

    // Each use is recorded: the auth audit (with the address) and the Users page.
    const used = events(h, 'dsl1').filter((e) => e.event === 'recovery_code_used');
    expect(used).toEqual([
      { event: 'recovery_code_used', address: '127.0.0.1', detail: '9 left' },
      { event: 'recovery_code_used', address: '127.0.0.1', detail: '8 left' },
    ]);
    expect(
      events(h, 'dsl1')
        .filter((e) => e.event === 'login')
        .map((e) => e.detail),
    ).toContain('password and recovery code');
    const usersPage = (await admin.get('/users')).body;
    expect(usersPage).toContain('8 of 10 recovery codes left');
    expect(usersPage).toContain('recovery code used');
    const rows = h.db.prepare('SELECT used_at, used_address FROM admin_recovery_codes WHERE used_at IS NOT NULL').all();
    expect(rows).toEqual([
      { used_at: h.clock.now, used_address: '127.0.0.1' },
      { used_at: h.clock.now, used_address: '127.0.0.1' },
    ]);
  });

  it('are made anew from the account page after MFA, and the old ones stop working', async () => {
    h = await harness();
    await addReadyUser(h, 'boss', 'admin');
    const c = new Client(h);
    await c.login('boss');
    const old = c.recoveryCodes;
    const res = await c.post('/account/recovery-codes', {});
    const fresh = shownRecoveryCodes(res.body);
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((code) => old.includes(code))).toEqual([]);
    expect(res.body).toContain('shown only this once');

    let login = await toCodeStep(h, 'boss');
    expect((await login.post('/login/mfa', { recovery: old[0] })).statusCode).toBe(401);
    login = await toCodeStep(h, 'boss');
    expect((await login.post('/login/mfa', { recovery: fresh[0] })).headers.location).toBe('/account?done=recovery');
    expect(events(h, 'boss').filter((e) => e.event === 'recovery_codes_created')).toHaveLength(2);
    // Without the CSRF token, nothing is made.
    expect((await c.post('/account/recovery-codes', {}, { csrf: false })).statusCode).toBe(403);
  });

  it('go with MFA: an admin reset removes them', async () => {
    h = await harness();
    await addReadyUser(h, 'boss', 'admin');
    const deputy = await addReadyUser(h, 'deputy', 'admin');
    const admin = new Client(h);
    await admin.login('boss');
    const d = new Client(h);
    await d.login('deputy');
    const codes = d.recoveryCodes;
    await admin.post(`/users/${deputy.id}/reset-mfa`, {});
    expect(h.db.prepare('SELECT count(*) FROM admin_recovery_codes WHERE user_id = ?').pluck().get(deputy.id)).toBe(0);
    const c = new Client(h);
    await c.submitLogin('deputy', PASSWORD);
    const page = await c.get('/login/mfa');
    expect(shownTotpKey(page.body)).toBeTruthy(); // enrolling again, so no recovery form
    expect((await c.post('/login/mfa', { recovery: codes[0] })).statusCode).toBe(400);
  });
});

describe('a new authenticator from the account page', () => {
  it('needs the password, removes the old one and its codes, logs out, and enrols at the next login', async () => {
    h = await harness();
    await addReadyUser(h, 'dsl1', 'dsl');
    const c = new Client(h);
    const oldSecret = (await c.login('dsl1'))!;
    expect((await c.post('/account/mfa/reset', { current: 'Wrong-Pass1x' })).statusCode).toBe(400);
    expect(getUserByName(h.db, 'dsl1')!.totp_enabled).toBe(1);
    const res = await c.post('/account/mfa/reset', { current: PASSWORD });
    expect(res.body).toContain('Authenticator removed');
    expect((await c.get('/alerts')).headers.location).toBe('/login');
    expect(h.db.prepare('SELECT count(*) FROM admin_recovery_codes').pluck().get()).toBe(0);
    const again = new Client(h);
    await again.submitLogin('dsl1', PASSWORD);
    const newSecret = shownTotpKey((await again.get('/login/mfa')).body)!;
    expect(newSecret).not.toBe(oldSecret);
    const done = await again.post('/login/mfa', { code: totpCode(newSecret, h.clock.now) });
    expect(shownRecoveryCodes(done.body)).toHaveLength(10);
    expect(events(h, 'dsl1').map((e) => e.event)).toContain('mfa_reset');
    const log = h.db.prepare("SELECT actor, action FROM change_log WHERE action = 'reset-mfa'").all();
    expect(log).toEqual([{ actor: 'dsl1', action: 'reset-mfa' }]);
  });
});

describe('optional MFA', () => {
  it('turns on from the account page, shows the codes, and keeps the session past the MFA step', async () => {
    h = await harness();
    await addReadyUser(h, 'aud', 'auditor');
    const c = new Client(h);
    await c.login('aud');
    const secret = shownTotpKey((await c.get('/account/mfa')).body)!;
    const res = await c.post('/account/mfa', { code: totpCode(secret, h.clock.now) });
    expect(shownRecoveryCodes(res.body)).toHaveLength(10);
    // Not sent back to the code step: the code just given was the second factor.
    expect((await c.get('/account?done=mfa')).body).toContain('MFA is on.');
    expect((await c.get('/changelog')).statusCode).toBe(200);
  });
});
