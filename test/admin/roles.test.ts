// Role checks: an auditor changes nothing, a DSL cannot manage exceptions or
// users, an approver decides change requests and changes nothing else;
// hostile strings from the network or the database are shown escaped.
import { afterEach, describe, expect, it } from 'vitest';
import { appendChange } from '../../src/admin/changelog.js';
import { createReviewRequest } from '../../src/changes/review-request.js';
import { addUser, Client, harness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const form = {
  what: 'exception',
  domain: 'example.org',
  action: 'allow',
  groups: 'pupils',
  requester: 'r',
  subjectArea: 's',
  reason: 'x',
  risk: 'low',
  backout: 'b',
  submit: 'submit',
};

/** Every state-changing route an admin may use, with a body that would succeed for an admin. */
function changes(userId: number, requestId: number) {
  return [
    ['POST', '/changes', form],
    ['POST', `/changes/${requestId}/edit`, { ...form, submit: 'draft' }],
    ['POST', `/changes/${requestId}/withdraw`, { note: 'n' }],
    ['POST', `/changes/${requestId}/emergency`, {}],
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
    ['POST', '/api/changes', { ops: [{ op: 'category-block', group: 'pupils', category: 'x' }] }],
    ['POST', `/api/changes/${requestId}/submit`, undefined],
    ['POST', `/api/changes/${requestId}/emergency`, undefined],
  ] as const;

/** The steps only an approver may take. */
const approverSteps = (requestId: number) =>
  [
    ['POST', `/changes/${requestId}/approve`, { note: 'n' }],
    ['POST', `/changes/${requestId}/refuse`, { note: 'n' }],
    ['POST', `/changes/${requestId}/review`, { decision: 'approve' }],
  ] as const;

describe.each(['auditor', 'dsl', 'approver'] as const)('a %s', (role) => {
  it('cannot change what is not theirs to change', async () => {
    h = await harness();
    const boss = await addUser(h, 'boss', 'admin');
    await addUser(h, 'someone', role);
    const admin = new Client(h);
    await admin.login('boss');
    await admin.post('/changes', form);
    const requestId = createReviewRequest(
      h.db,
      h.config,
      { domain: 'req.example.org', group: 'pupils', clientAddress: '10.0.0.9', reason: 'r' },
      h.clock.now,
    );
    const c = new Client(h);
    await c.login('someone');
    const before = h.db.prepare('SELECT count(*) AS n FROM change_log').get();
    const steps = [...changes(boss.id, requestId), ...(role === 'approver' ? [] : approverSteps(1))];
    for (const [method, url, body] of steps) {
      const res = await c.post(url, body as Record<string, string>);
      expect([method, url, res.statusCode]).toEqual([method, url, 403]);
    }
    for (const [method, url, body] of apiChanges(requestId)) {
      const res = await c.api(method, url, body);
      expect([method, url, res.statusCode]).toEqual([method, url, 403]);
    }
    expect(h.db.prepare('SELECT count(*) AS n FROM change_log').get()).toEqual(before);
    // Reading is allowed; the users page is not.
    expect((await c.get('/changelog')).statusCode).toBe(200);
    expect((await c.get('/changes')).statusCode).toBe(200);
    expect((await c.get('/exceptions')).statusCode).toBe(200);
    expect((await c.get('/exceptions')).body).not.toContain('id="add-exception"');
    expect((await c.get('/users')).statusCode).toBe(403);
    expect((await c.api('GET', '/api/users')).statusCode).toBe(403);
    // The running service's pages (pupils' addresses, alerts) are not an approver's.
    if (role === 'approver') {
      expect((await c.get('/dashboard')).statusCode).toBe(403);
      expect((await c.get('/alerts')).statusCode).toBe(403);
    }
  });
});

describe('escaping', () => {
  const hostile = '<img src=x onerror=alert(1)>';

  it('shows hostile strings from requests and the change log as text', async () => {
    h = await harness();
    await addUser(h, 'boss', 'admin');
    const c = new Client(h);
    await c.login('boss');
    createReviewRequest(
      h.db,
      h.config,
      {
        domain: 'x.example.org',
        category: hostile,
        group: `"><script>alert(2)</script>`,
        clientAddress: '10.0.0.9',
        requesterName: hostile,
        reason: hostile,
      },
      h.clock.now,
    );
    appendChange(h.db, {
      actor: hostile,
      entity: 'setting',
      action: hostile,
      after: { v: hostile },
      reason: `'"><svg onload=alert(3)>`,
      at: h.clock.now,
    });
    for (const url of ['/exceptions', '/changes', '/changes/2', '/changelog', '/changelog/extract']) {
      const body = (await c.get(url)).body;
      expect(body).not.toContain('<img src=x');
      expect(body).not.toContain('<script>alert');
      expect(body).not.toContain('<svg onload');
      expect(body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    }
    // A hostile value typed into the form comes back escaped too.
    const res = await c.post('/changes', { ...form, domain: hostile, requester: hostile });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('<img src=x');
    expect(res.body).toContain('value="&lt;img src=x onerror=alert(1)&gt;"');
  });
});
