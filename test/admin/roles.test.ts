// Role checks: an auditor changes nothing, a DSL cannot manage exceptions or
// users; hostile strings from the network or the database are shown escaped.
import { afterEach, describe, expect, it } from 'vitest';
import { appendChange } from '../../src/admin/changelog.js';
import { createPendingRequest } from '../../src/admin/exceptions.js';
import { addUser, Client, harness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const form = { domain: 'example.org', action: 'allow', groups: 'pupils', requester: 'r', subjectArea: 's', reason: 'x', approver: 'a' };

/** Every state-changing route, with a body that would succeed for an admin. */
function changes(userId: number, requestId: number) {
  return [
    ['POST', '/exceptions', form],
    ['POST', '/exceptions/1/delete', { reason: 'r' }],
    ['POST', `/exceptions/requests/${requestId}/approve`, { ...form, domain: undefined }],
    ['POST', `/exceptions/requests/${requestId}/refuse`, { note: 'n' }],
    ['POST', '/users', { name: 'newbie', role: 'admin', password: 'Newbie-Pass1x' }],
    ['POST', `/users/${userId}/role`, { role: 'dsl' }],
    ['POST', `/users/${userId}/unlock`, {}],
    ['POST', `/users/${userId}/reset-password`, { password: 'Reset-Pass1x' }],
    ['POST', `/users/${userId}/reset-mfa`, {}],
    ['POST', `/users/${userId}/disable`, {}],
    ['POST', `/users/${userId}/enable`, {}],
  ] as const;
}

const apiChanges = (requestId: number) =>
  [
    ['POST', '/api/exceptions', { ...form, groups: ['pupils'] }],
    ['DELETE', '/api/exceptions/1', undefined],
    [
      'POST',
      `/api/exception-requests/${requestId}/approve`,
      { groups: ['pupils'], requester: 'r', subjectArea: 's', reason: 'x', approver: 'a' },
    ],
    ['POST', `/api/exception-requests/${requestId}/refuse`, { note: 'n' }],
  ] as const;

describe.each(['auditor', 'dsl'] as const)('a %s', (role) => {
  it('cannot change anything', async () => {
    h = await harness();
    const boss = await addUser(h, 'boss', 'admin');
    await addUser(h, 'someone', role);
    const admin = new Client(h);
    await admin.login('boss');
    await admin.post('/exceptions', form);
    const requestId = createPendingRequest(h.db, { domain: 'req.example.org', group: 'pupils' });
    const c = new Client(h);
    await c.login('someone');
    const before = h.db.prepare('SELECT count(*) AS n FROM change_log').get();
    for (const [method, url, body] of changes(boss.id, requestId)) {
      const res = await c.post(url, Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as Record<string, string>);
      expect([method, url, res.statusCode]).toEqual([method, url, 403]);
    }
    for (const [method, url, body] of apiChanges(requestId)) {
      const res = await c.api(method, url, body);
      expect([method, url, res.statusCode]).toEqual([method, url, 403]);
    }
    expect(h.db.prepare('SELECT count(*) AS n FROM change_log').get()).toEqual(before);
    // Reading is allowed; the users page is not.
    expect((await c.get('/changelog')).statusCode).toBe(200);
    expect((await c.get('/exceptions')).statusCode).toBe(200);
    expect((await c.get('/exceptions')).body).not.toContain('Add an exception');
    expect((await c.get('/users')).statusCode).toBe(403);
    expect((await c.api('GET', '/api/users')).statusCode).toBe(403);
  });
});

describe('escaping', () => {
  const hostile = '<img src=x onerror=alert(1)>';

  it('shows hostile strings from requests and the change log as text', async () => {
    h = await harness();
    await addUser(h, 'boss', 'admin');
    const c = new Client(h);
    await c.login('boss');
    createPendingRequest(h.db, {
      domain: 'x.example.org',
      category: hostile,
      group: `"><script>alert(2)</script>`,
      requesterName: hostile,
      reason: hostile,
    });
    appendChange(h.db, {
      actor: hostile,
      entity: 'setting',
      action: hostile,
      after: { v: hostile },
      reason: `'"><svg onload=alert(3)>`,
      at: h.clock.now,
    });
    for (const url of ['/exceptions', '/changelog', '/changelog/extract']) {
      const body = (await c.get(url)).body;
      expect(body).not.toContain('<img src=x');
      expect(body).not.toContain('<script>alert');
      expect(body).not.toContain('<svg onload');
      expect(body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    }
    // A hostile value typed into the form comes back escaped too.
    const res = await c.post('/exceptions', { ...form, domain: hostile, requester: hostile });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('<img src=x');
    expect(res.body).toContain('value="&lt;img src=x onerror=alert(1)&gt;"');
  });
});
