// The Users page: every account change takes effect and has its change-log row.
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/admin/changelog.js';
import { getUserByName } from '../../src/admin/users.js';
import { addUser, Client, harness, NEW_PASSWORD, shownTotpKey, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const userLog = (h: Harness) =>
  (
    h.db.prepare("SELECT actor, action, before_json, after_json FROM change_log WHERE entity = 'user' ORDER BY id").all() as Record<
      string,
      string
    >[]
  ).map((r) => ({ actor: r.actor, action: r.action, after: JSON.parse(r.after_json) }));

describe('users page', () => {
  it('creates, changes the role of, resets and disables accounts, logging each change', async () => {
    h = await harness();
    await addUser(h, 'boss', 'admin');
    const admin = new Client(h);
    await admin.login('boss');

    expect((await admin.post('/users', { name: 'Mrs.Patel', role: 'dsl', password: 'Weak' })).body).toContain('use at least 8 characters');
    expect((await admin.post('/users', { name: 'Mrs.Patel', role: 'dsl', password: 'Welcome-2026' })).headers.location).toBe(
      '/users?done=created',
    );
    const id = getUserByName(h.db, 'mrs.patel')!.id;

    const patel = new Client(h);
    await patel.login('Mrs.Patel', 'Welcome-2026');
    expect((await patel.get('/changelog')).statusCode).toBe(200);

    await admin.post(`/users/${id}/role`, { role: 'auditor' });
    expect(getUserByName(h.db, 'Mrs.Patel')!.role).toBe('auditor');

    // A reset forces a change at next login and ends her sessions.
    await admin.post(`/users/${id}/reset-password`, { password: 'Temporary-77' });
    expect((await patel.get('/changelog')).headers.location).toBe('/login');
    // MFA first (a DSL must have it: admin.mfaRoles), then the forced change.
    expect((await patel.submitLogin('Mrs.Patel', 'Temporary-77')).headers.location).toBe('/login/mfa');

    await admin.post(`/users/${id}/disable`, {});
    expect((await new Client(h).submitLogin('Mrs.Patel', 'Temporary-77')).statusCode).toBe(401);
    expect((await patel.get('/changelog')).headers.location).toBe('/login');

    expect(userLog(h).map((r) => `${r.actor}:${r.action}`)).toEqual([
      'test:create',
      'boss:create',
      'boss:change-role',
      'boss:reset-password',
      'boss:disable',
    ]);
    expect(userLog(h)[2].after.role).toBe('auditor');
    // No password hash in any change-log row.
    const all = JSON.stringify(h.db.prepare('SELECT * FROM change_log').all());
    expect(all).not.toContain('scrypt$');
    expect(verifyChain(h.db).ok).toBe(true);
    // The page lists accounts and sign-in activity.
    const page = (await admin.get('/users')).body;
    expect(page).toContain('Mrs.Patel');
    expect(page).toContain('id="auth-audit"');
    expect(page).toContain('mfa enrolled');
  });

  it('keeps at least one active admin', async () => {
    h = await harness();
    const boss = await addUser(h, 'boss', 'admin');
    const admin = new Client(h);
    await admin.login('boss');
    expect((await admin.post(`/users/${boss.id}/role`, { role: 'dsl' })).body).toContain('last active admin');
    expect((await admin.post(`/users/${boss.id}/disable`, {})).body).toContain('last active admin');
    expect(getUserByName(h.db, 'boss')!.role).toBe('admin');
  });

  it('resets MFA so the user enrols again', async () => {
    h = await harness();
    await addUser(h, 'boss', 'admin');
    const other = await addUser(h, 'deputy', 'admin');
    const admin = new Client(h);
    await admin.login('boss');
    const deputy = new Client(h);
    const firstSecret = await deputy.login('deputy');
    await admin.post(`/users/${other.id}/reset-mfa`, {});
    const again = new Client(h);
    await again.submitLogin('deputy', NEW_PASSWORD);
    const page = await again.get('/login/mfa');
    const secret = shownTotpKey(page.body);
    expect(secret).toBeTruthy();
    expect(secret).not.toBe(firstSecret);
  });
});
