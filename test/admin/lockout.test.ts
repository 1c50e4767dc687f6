// Every lockout raises an IT alert (operational kind account-locked) with the
// account and the source address (admin.trustProxy respected), and the Users
// page says when and from where each locked account was locked, and how to
// get back in (another admin, the console, or the unlock timer).
import { afterEach, describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.js';
import type { Alert } from '../../src/alerts/types.js';
import type { LiveDeps } from '../../src/admin/live.js';
import { getUserByName } from '../../src/admin/users.js';
import { silentLogger } from '../../src/log.js';
import { addReadyUser, Client, harness, PASSWORD, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

/** The admin app with the real alert engine on the same database. */
async function withEngine(adminYaml = '') {
  const live: LiveDeps = {};
  h = await harness({ adminYaml, deps: { live } });
  const engine = new AlertEngine({ db: h.db, config: h.config.alerts, logger: silentLogger() });
  live.alerts = engine;
  return engine;
}

const lockouts = (engine: AlertEngine): Alert[] =>
  engine.list({ kind: 'operational' }).items.filter((a) => a.category === 'account-locked');

async function failThrice(c: Client, name: string) {
  for (let i = 0; i < 3; i++) expect((await c.submitLogin(name, 'Wrong-Guess9x')).statusCode).toBe(401);
}

describe('lockout', () => {
  it('raises an IT alert for every locked account, with the source address', async () => {
    const engine = await withEngine();
    await addReadyUser(h, 'boss', 'admin');
    await addReadyUser(h, 'deputy', 'admin');
    await addReadyUser(h, 'dsl1', 'dsl');
    const attacker = new Client(h, '127.0.0.9');
    await failThrice(attacker, 'boss');
    expect(getUserByName(h.db, 'boss')!.locked_at).not.toBeNull();
    let alerts = lockouts(engine);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: 'high', status: 'open', count: 1, client: '127.0.0.9' });
    expect(alerts[0].message).toContain('"boss"');
    expect(alerts[0].message).toContain('from 127.0.0.9');
    expect(alerts[0].message).toContain('gatehouse user unlock');
    expect(alerts[0].details).toMatchObject({ account: 'boss', role: 'admin', address: '127.0.0.9', failedAttempts: 3, subject: 'boss' });

    // Another account locked in the same minute is its own alert, not a repeat of the first.
    await failThrice(attacker, 'dsl1');
    alerts = lockouts(engine);
    expect(alerts.map((a) => a.details!.account).sort()).toEqual(['boss', 'dsl1']);

    // The break-glass route: a second admin unlocks on the Users page, which shows when and from where.
    const deputy = new Client(h);
    await deputy.login('deputy');
    const page = (await deputy.get('/users')).body;
    expect(page).toMatch(
      /<strong>locked<\/strong><br><span class="muted lock-detail">at [^<]+ from 127\.0\.0\.9: 3 failed attempts; the last: wrong password/,
    );
    expect(page).toContain('id="break-glass"');
    expect(page).toContain('gatehouse user unlock --config /etc/gatehouse/gatehouse.yaml NAME');
    const boss = getUserByName(h.db, 'boss')!;
    expect((await deputy.post(`/users/${boss.id}/unlock`, {})).headers.location).toBe('/users?done=unlocked');
    expect(getUserByName(h.db, 'boss')!.locked_at).toBeNull();
  });

  it('counts a lockout at the MFA step and at a password change too', async () => {
    const engine = await withEngine();
    await addReadyUser(h, 'boss', 'admin');
    const c = new Client(h);
    await c.login('boss');
    const c2 = new Client(h, '127.0.0.7');
    await c2.submitLogin('boss', PASSWORD);
    await c2.get('/login/mfa');
    for (const code of ['111111', '222222', '333333']) await c2.post('/login/mfa', { code });
    const [alert] = lockouts(engine);
    expect(alert.details).toMatchObject({ account: 'boss', address: '127.0.0.7', lastFailure: 'wrong MFA code' });

    await addReadyUser(h, 'aud', 'auditor');
    const aud = new Client(h, '127.0.0.8');
    await aud.login('aud');
    await aud.get('/password');
    for (let i = 0; i < 3; i++)
      await aud.post('/password', { current: 'Not-Mine-44', password: 'Kestrel-Moor4', confirm: 'Kestrel-Moor4' });
    const second = lockouts(engine).find((a) => a.details!.account === 'aud')!;
    expect(second.details).toMatchObject({ address: '127.0.0.8', lastFailure: 'wrong current password at password change' });
  });

  it('takes the address from X-Forwarded-For only with admin.trustProxy', async () => {
    let engine = await withEngine('  trustProxy: true\n  allowedNetworks: ["127.0.0.0/8", "10.0.0.0/8"]');
    await addReadyUser(h, 'dsl1', 'dsl');
    await failThrice(new Client(h, '127.0.0.1', { 'x-forwarded-for': '10.20.30.40' }), 'dsl1');
    expect(lockouts(engine)[0].details!.address).toBe('10.20.30.40');
    const audit = h.db.prepare("SELECT address FROM admin_auth_audit WHERE event = 'locked'").pluck().all();
    expect(audit).toEqual(['10.20.30.40']);
    await h.close();

    engine = await withEngine();
    await addReadyUser(h, 'dsl1', 'dsl');
    await failThrice(new Client(h, '127.0.0.5', { 'x-forwarded-for': '10.20.30.40' }), 'dsl1');
    expect(lockouts(engine)[0].details!.address).toBe('127.0.0.5');
  });

  it('still locks and records without an alert engine', async () => {
    h = await harness();
    await addReadyUser(h, 'dsl1', 'dsl');
    await failThrice(new Client(h), 'dsl1');
    expect(getUserByName(h.db, 'dsl1')!.locked_at).not.toBeNull();
    expect(h.db.prepare("SELECT count(*) FROM admin_auth_audit WHERE event = 'locked'").pluck().get()).toBe(1);
  });
});
