// Exceptions: validation, the change-log row in the same transaction, the live
// policy update, illegal names refused, review requests approved or refused.
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/admin/changelog.js';
import { createPendingRequest } from '../../src/admin/exceptions.js';
import { normaliseDomain } from '../../src/lists/names.js';
import { compileExceptions } from '../../src/resolver/exceptions.js';
import { addUser, Client, harness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const form = {
  domain: 'www.Example.org.',
  action: 'allow',
  groups: ['pupils'],
  requester: 'Ms Khan',
  subjectArea: 'Geography',
  reason: 'Coursework maps',
  approver: 'Mr Jones (DSL)',
};

async function admin(opts: Parameters<typeof harness>[0] = {}) {
  h = await harness(opts);
  await addUser(h, 'boss', 'admin');
  const c = new Client(h);
  await c.login('boss');
  return c;
}

describe('domain validation', () => {
  const cases: [string, string | null][] = [
    ['Example.ORG', 'example.org'],
    ['www.example.org.', 'www.example.org'],
    ['  www.example.org ', 'www.example.org'],
    ['.example.org', 'example.org'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['_dmarc.example.org', '_dmarc.example.org'],
    ['-odd.example.org', '-odd.example.org'], // legal in DNS, and lists carry such names
    ['http://example.org/x', null],
    ['example.org/x', null],
    ['user@example.org', null],
    ['*.example.org', null],
    ['localhost', null],
    ['org', null],
    ['exa mple.org', null],
    ['1.2.3.4', null],
    ['2001:db8::1', null],
    ['a'.repeat(64) + '.org', null],
    [Array(64).fill('abc').join('.'), null],
    ['', null],
  ];
  it.each(cases)('%j → %j', (input, expected) => expect(normaliseDomain(input)).toBe(expected));

  // One normaliser: what the admin UI accepts is exactly what the policy applies.
  it.each(cases)('the policy compiles %j exactly when the admin UI accepts it', (input, expected) => {
    const { byGroup, skipped } = compileExceptions([{ domain: input, action: 'allow', groups: ['pupils'] }], ['pupils']);
    expect(skipped.length === 0).toBe(expected !== null);
    if (expected !== null) expect(byGroup.get('pupils')!.lookup(expected)).not.toBe(0);
  });
});

describe('exceptions', () => {
  it('saves the exception and its change-log row, then updates the policy', async () => {
    const c = await admin();
    const calls = h.policyCalls.length;
    const res = await c.post('/exceptions', form);
    expect(res.headers.location).toBe('/exceptions?done=added');
    expect(h.policyCalls.length).toBe(calls + 1);
    expect(h.policyCalls.at(-1)).toEqual([{ id: 1, domain: 'www.example.org', action: 'allow', groups: ['pupils'] }]);
    const row = h.db.prepare("SELECT * FROM change_log WHERE entity = 'exception'").get() as Record<string, string>;
    expect(row).toMatchObject({
      actor: 'boss',
      action: 'create',
      requester: 'Ms Khan',
      reason: 'Coursework maps',
      approver: 'Mr Jones (DSL)',
    });
    expect(JSON.parse(row.after_json)).toEqual({
      domain: 'www.example.org',
      action: 'allow',
      groups: ['pupils'],
      subjectArea: 'Geography',
    });
    const page = await c.get('/exceptions?done=added');
    expect(page.body).toContain('www.example.org');
    expect(page.body).toContain('Exception saved');
    expect(verifyChain(h.db).ok).toBe(true);
  });

  it('writes nothing when the change-log row cannot be written', async () => {
    const c = await admin();
    // Make the change-log insert fail: the exception must not be saved either.
    h.db.exec(
      "CREATE TRIGGER fail_log BEFORE INSERT ON change_log WHEN NEW.entity = 'exception' BEGIN SELECT RAISE(ABORT, 'log full'); END",
    );
    const calls = h.policyCalls.length;
    const res = await c.post('/exceptions', form);
    expect(res.statusCode).toBe(500);
    expect(h.db.prepare('SELECT count(*) AS n FROM exceptions').get()).toEqual({ n: 0 });
    expect(h.policyCalls.length).toBe(calls);
  });

  it('refuses bad input with every problem listed', async () => {
    const c = await admin();
    const res = await c.post('/exceptions', { ...form, domain: 'not a domain', groups: ['nosuchgroup'], approver: ' ' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Domain: enter a domain name');
    expect(res.body).toContain('Groups: unknown group');
    expect(res.body).toContain('Approver: who approved it?');
    expect(h.db.prepare('SELECT count(*) AS n FROM exceptions').get()).toEqual({ n: 0 });
  });

  it('refuses to allow a name in an illegal category, without naming the list entry', async () => {
    const c = await admin({ isIllegal: (n) => n === 'bad.example.net' });
    const res = await c.post('/exceptions', { ...form, domain: 'bad.example.net' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('illegal content');
    expect(res.body).not.toContain('iwf:');
    expect(h.db.prepare('SELECT count(*) AS n FROM exceptions').get()).toEqual({ n: 0 });
    const api = await c.api('POST', '/api/exceptions', { ...form, domain: 'bad.example.net' });
    expect(api.statusCode).toBe(422);
    expect(api.json().code).toBe('GH_ERR_EXCEPTION_ILLEGAL');
    // A deny exception for it is harmless and allowed.
    expect((await c.post('/exceptions', { ...form, domain: 'bad.example.net', action: 'deny' })).statusCode).toBe(302);
  });

  it('refuses to deny a help and support service, which the policy never blocks', async () => {
    const c = await admin();
    const res = await c.post('/exceptions', { ...form, domain: 'www.childline.org.uk', action: 'deny' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('help and support service');
    const api = await c.api('POST', '/api/exceptions', { ...form, domain: 'samaritans.org', action: 'deny' });
    expect(api.statusCode).toBe(422);
    expect(api.json().code).toBe('GH_ERR_EXCEPTION_HELP_SERVICE');
    expect(h.db.prepare('SELECT count(*) AS n FROM exceptions').get()).toEqual({ n: 0 });
    // Allowing one is harmless.
    expect((await c.post('/exceptions', { ...form, domain: 'childline.org.uk', action: 'allow' })).statusCode).toBe(302);
  });

  it('removes an exception with a change-log row', async () => {
    const c = await admin();
    await c.post('/exceptions', form);
    const res = await c.post('/exceptions/1/delete', { reason: 'coursework finished' });
    expect(res.headers.location).toBe('/exceptions?done=removed');
    expect(h.policyCalls.at(-1)).toEqual([]);
    const row = h.db.prepare("SELECT action, reason, before_json FROM change_log WHERE action = 'delete'").get() as Record<string, string>;
    expect(row.reason).toBe('coursework finished');
    expect(JSON.parse(row.before_json).domain).toBe('www.example.org');
  });

  it("changes an exception's groups and record in place, with a change-log row holding before and after", async () => {
    const c = await admin();
    await c.post('/exceptions', form);
    const page = await c.get('/exceptions');
    expect(page.body).toContain('id="edit-exception-1"');
    const res = await c.post('/exceptions/1', {
      ...form,
      domain: 'other.example.org',
      action: 'deny',
      groups: ['pupils', 'staff'],
      reason: 'Now for staff too',
      approver: 'Mrs Patel (DSL)',
    });
    expect(res.headers.location).toBe('/exceptions?done=updated');
    // The domain and action are what the exception is: an edit leaves them.
    expect(h.policyCalls.at(-1)).toEqual([{ id: 1, domain: 'www.example.org', action: 'allow', groups: ['pupils', 'staff'] }]);
    const row = h.db.prepare("SELECT * FROM change_log WHERE action = 'update'").get() as Record<string, string>;
    expect(row).toMatchObject({ actor: 'boss', entity: 'exception', reason: 'Now for staff too', approver: 'Mrs Patel (DSL)' });
    expect(JSON.parse(row.before_json).groups).toEqual(['pupils']);
    expect(JSON.parse(row.after_json)).toEqual({
      domain: 'www.example.org',
      action: 'allow',
      groups: ['pupils', 'staff'],
      subjectArea: 'Geography',
    });
    expect(verifyChain(h.db).ok).toBe(true);

    // Bad input changes nothing; an unknown id is 404.
    const bad = await c.post('/exceptions/1', { ...form, groups: [], approver: '' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Groups: choose at least one group.');
    expect(h.db.prepare("SELECT count(*) FROM change_log WHERE action = 'update'").pluck().get()).toBe(1);
    expect((await c.post('/exceptions/99', form)).statusCode).toBe(404);

    // And through the API.
    const { domain: _d, action: _a, ...record } = form;
    const put = await c.api('PUT', '/api/exceptions/1', { ...record, groups: ['guests'] });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ id: 1, domain: 'www.example.org', groups: ['guests'] });
    // A domain sent along is not taken (the API drops fields it does not know): the answer shows what is in force.
    expect((await c.api('PUT', '/api/exceptions/1', { ...record, groups: ['guests'], domain: 'x.example.org' })).json().domain).toBe(
      'www.example.org',
    );
    expect((await c.api('PUT', '/api/exceptions/1', { ...record, groups: [] })).statusCode).toBe(400);
    expect((await c.api('PUT', '/api/exceptions/42', record)).statusCode).toBe(404);
  });

  it('an edit is refused to anyone but an admin', async () => {
    const c = await admin();
    await c.post('/exceptions', form);
    await addUser(h, 'dsl1', 'dsl');
    const dsl = new Client(h);
    await dsl.login('dsl1');
    expect((await dsl.post('/exceptions/1', { ...form, groups: ['staff'] })).statusCode).toBe(403);
    expect((await dsl.get('/exceptions')).body).not.toContain('edit-exception-1');
    expect(h.policyCalls.at(-1)).toEqual([{ id: 1, domain: 'www.example.org', action: 'allow', groups: ['pupils'] }]);
  });

  it('works through the JSON API', async () => {
    const c = await admin();
    const created = await c.api('POST', '/api/exceptions', { ...form, domain: 'maps.example.org' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ domain: 'maps.example.org', groups: ['pupils'], createdBy: 'boss' });
    expect((await c.api('POST', '/api/exceptions', { ...form, domain: 'maps.example.org' })).statusCode).toBe(409);
    expect((await c.api('GET', '/api/exceptions')).json()).toHaveLength(1);
    expect((await c.api('DELETE', `/api/exceptions/${created.json().id}?reason=done`)).statusCode).toBe(204);
    expect((await c.api('GET', '/api/exceptions')).json()).toHaveLength(0);
    const doc = (await c.api('GET', '/api/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/exceptions', '/api/exceptions/{id}', '/api/changelog']));
  });

  it('turns an approved review request into an exception, and records a refusal', async () => {
    const c = await admin({ isIllegal: (n) => n === 'secret-entry.example.net' });
    const id = createPendingRequest(h.db, {
      domain: 'History.Example.org',
      category: 'social',
      group: 'pupils',
      clientAddress: '10.10.1.2',
      requesterName: 'Year 9',
      reason: 'project',
    });
    const id2 = createPendingRequest(h.db, { domain: 'games.example.org', group: 'pupils', reason: 'fun' });
    // Requests touching illegal content are never listed (the harness config has no illegal category; isIllegal covers it).
    createPendingRequest(h.db, { domain: 'secret-entry.example.net', group: 'pupils', reason: 'x' });
    let page = await c.get('/exceptions');
    expect(page.body).toContain('Pending requests (2)');
    // Each with the reference the block page gave the pupil.
    expect(page.body).toMatch(
      new RegExp(`<tr id="request-${id}">\\s*<td data-label="Reference"><strong>R-${String(id).padStart(6, '0')}</strong>`),
    );
    expect(page.body).not.toContain('secret-entry');
    expect((await c.api('GET', '/api/exception-requests')).json()).toHaveLength(2);
    const res = await c.post(`/exceptions/requests/${id}/approve`, {
      groups: 'pupils',
      requester: 'Year 9',
      subjectArea: 'History',
      reason: 'project',
      approver: 'Head of History',
    });
    expect(res.headers.location).toBe('/exceptions?done=approved');
    expect(h.policyCalls.at(-1)).toEqual([{ id: 1, domain: 'history.example.org', action: 'allow', groups: ['pupils'] }]);
    await c.post(`/exceptions/requests/${id2}/refuse`, { note: 'not for lessons' });
    page = await c.get('/exceptions');
    expect(page.body).toContain('Pending requests (0)');
    const log = h.db.prepare("SELECT entity, action, approver FROM change_log WHERE entity LIKE 'exception%' ORDER BY id").all();
    expect(log).toEqual([
      { entity: 'exception', action: 'approve-request', approver: 'Head of History' },
      { entity: 'exception-request', action: 'refuse', approver: 'boss' },
    ]);
    // A decided request cannot be decided again.
    expect((await c.post(`/exceptions/requests/${id2}/refuse`, {})).statusCode).toBe(404);
  });

  it('takes new groups from a reloaded config', async () => {
    const c = await admin();
    expect((await c.post('/exceptions', { ...form, groups: ['sixthform'] })).statusCode).toBe(400);
    const next = structuredClone(h.config);
    next.groups.push({ ...next.groups[0], name: 'sixthform', networks: ['127.0.0.9/32'], default: false });
    h.app.reloadAdminConfig(next);
    expect((await c.post('/exceptions', { ...form, groups: ['sixthform'] })).statusCode).toBe(302);
  });
});
