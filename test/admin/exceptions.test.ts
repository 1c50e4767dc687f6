// Exceptions under change control, through the admin UI and its API: a request
// changes nothing until another account, an approver who passed MFA, approves
// it; then the live policy gets it. Illegal names are refused and never stored;
// block-page requests become drafts IT confirms; every step is in the change
// log, in the transaction of the step.
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/admin/changelog.js';
import { normaliseDomain } from '../../src/lists/names.js';
import { compileExceptions } from '../../src/resolver/exceptions.js';
import { createReviewRequest } from '../../src/changes/review-request.js';
import { getRequest } from '../../src/changes/store.js';
import { addReadyUser, addUser, Client, harness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const form = {
  what: 'exception',
  domain: 'www.Example.org.',
  action: 'allow',
  groups: ['pupils'],
  requester: 'Ms Khan',
  subjectArea: 'Geography',
  reason: 'Coursework maps',
  risk: 'low',
  backout: 'Revert it',
  submit: 'submit',
};

async function setUp(opts: Parameters<typeof harness>[0] = {}) {
  h = await harness(opts);
  await addUser(h, 'boss', 'admin');
  await addUser(h, 'head', 'approver');
  const admin = new Client(h);
  await admin.login('boss');
  const approver = new Client(h);
  await approver.login('head');
  return { admin, approver };
}

/** The id in a redirect to /changes/ID?done=… */
const idIn = (location: unknown) => Number(/\/changes\/(\d+)/.exec(String(location))![1]);

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

describe('exceptions as change requests', () => {
  it('a request changes nothing until an approver approves it; then the policy has it, with the approver recorded', async () => {
    const { admin, approver } = await setUp();
    expect(h.policyCalls).toEqual([[]]); // the seeded policy, at start
    const res = await admin.post('/changes', form);
    expect(res.headers.location).toMatch(/^\/changes\/\d+\?done=submitted$/);
    const id = idIn(res.headers.location);
    expect(h.policyCalls).toHaveLength(1);
    const page = await admin.get('/exceptions');
    expect(page.body).toContain('Exception requests waiting for approval or their start (1)');
    expect(page.body).toContain('Exceptions in force (0)');
    // The approver's menu counts it; the page shows it in plain words.
    const detail = await approver.get(`/changes/${id}`);
    expect(detail.body).toMatch(/id="nav-count-changes"[^>]*>1</);
    expect(detail.body).toContain('Exception for www.example.org');
    expect(detail.body).toContain('id="approve-form"');
    expect((await approver.post(`/changes/${id}/approve`, { note: 'fine' })).headers.location).toBe(`/changes/${id}?done=approved`);
    expect(h.policyCalls.at(-1)).toEqual([{ id: 1, domain: 'www.example.org', action: 'allow', groups: ['pupils'] }]);
    const after = await admin.get('/exceptions');
    expect(after.body).toContain('Exceptions in force (1)');
    expect(after.body).toMatch(/<td data-label="Approver">head<\/td>/);
    const steps = h.db
      .prepare("SELECT action, actor, requester, approver FROM change_log WHERE entity = 'change' AND entity_id = ? ORDER BY id")
      .all(String(id));
    expect(steps).toEqual([
      { action: 'submit', actor: 'boss', requester: 'Ms Khan', approver: null },
      { action: 'approve', actor: 'head', requester: 'Ms Khan', approver: 'head' },
      { action: 'apply', actor: 'head', requester: 'Ms Khan', approver: 'head' },
      expect.objectContaining({ action: 'test' }),
    ]);
    expect(verifyChain(h.db).ok).toBe(true);
  });

  it('fills the form in from the query string (the query log’s "Allow for this group…"), saving nothing', async () => {
    const { admin } = await setUp();
    const page = await admin.get('/exceptions?domain=porn.example&action=allow&group=pupils');
    expect(page.body).toMatch(/id="add-exception"[\s\S]*name="domain"[^>]*value="porn.example"/);
    expect(page.body).toMatch(/id="add-pupils" checked/);
    expect(page.body).not.toMatch(/id="add-staff" checked/);
    expect(h.db.prepare("SELECT count(*) FROM change_requests WHERE kind = 'change'").pluck().get()).toBe(0);
  });

  it('is never approved by an admin, by its requester, or without MFA — through the pages or the API', async () => {
    h = await harness({ adminYaml: '  mfaRoles: [admin]' });
    await addUser(h, 'boss', 'admin');
    await addReadyUser(h, 'nomfa', 'approver');
    const admin = new Client(h);
    await admin.login('boss');
    const id = idIn((await admin.post('/changes', form)).headers.location);
    const byAdmin = await admin.post(`/changes/${id}/approve`, {});
    expect([byAdmin.statusCode, byAdmin.headers.location]).toEqual([403, undefined]);
    expect((await admin.api('POST', `/api/changes/${id}/approve`, {})).statusCode).toBe(403);
    const noMfa = new Client(h);
    expect(await noMfa.login('nomfa')).toBeNull();
    const refused = await noMfa.post(`/changes/${id}/approve`, {});
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain('Approving needs MFA');
    // The requester's account made an approver later still cannot approve its own request.
    h.db.prepare("UPDATE admin_users SET role = 'approver' WHERE name = 'boss'").run();
    const own = await admin.api('POST', `/api/changes/${id}/approve`, {});
    expect(own.statusCode).toBe(403);
    expect(own.json().code).toBe('GH_ERR_CHANGE_FOUR_EYES');
    expect(getRequest(h.db, id)!.status).toBe('submitted');
    expect(h.policyCalls).toHaveLength(1);
  });

  it('refuses bad input with every problem listed, and stores nothing', async () => {
    const { admin } = await setUp();
    const res = await admin.post('/changes', { ...form, domain: 'not a domain' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Domain: enter a domain name');
    const missing = await admin.post('/changes', { ...form, groups: ['nosuchgroup'], requester: ' ', reason: '' });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain('Requester: which member of staff asked for this?');
    expect(missing.body).toContain('Reason: why is it needed?');
    const unknown = await admin.post('/changes', { ...form, groups: ['nosuchgroup'] });
    expect(unknown.body).toContain('unknown group');
    expect(h.db.prepare("SELECT count(*) FROM change_requests WHERE kind = 'change'").pluck().get()).toBe(0);
  });

  it('refuses any exception for a name in an illegal category, never storing it or naming the list', async () => {
    const { admin } = await setUp({ isIllegal: (n) => n === 'bad.example.net' });
    for (const action of ['allow', 'deny']) {
      const res = await admin.post('/changes', { ...form, domain: 'bad.example.net', action });
      expect(res.statusCode).toBe(422);
      expect(res.body).toContain('illegal content');
    }
    const api = await admin.api('POST', '/api/exceptions', { ...form, domain: 'bad.example.net', groups: ['pupils'] });
    expect(api.statusCode).toBe(422);
    expect(api.json().code).toBe('GH_ERR_CHANGE_ILLEGAL');
    expect(h.db.prepare("SELECT count(*) FROM change_requests WHERE ops_json LIKE '%bad.example.net%'").pluck().get()).toBe(0);
    expect(h.db.prepare("SELECT count(*) FROM change_log WHERE after_json LIKE '%bad.example.net%'").pluck().get()).toBe(0);
  });

  it('changes the groups of an exception, and removes it, each as an approved change', async () => {
    const { admin, approver } = await setUp();
    await approver.post(`/changes/${idIn((await admin.post('/changes', form)).headers.location)}/approve`, {});
    const page = await admin.get('/exceptions');
    expect(page.body).toContain('id="edit-exception-1"');
    const record = { requester: 'Mr Ali', subjectArea: 'PSHE', reason: 'Staff too', risk: 'low', backout: 'Revert', submit: 'submit' };
    const groups = await admin.post('/changes', {
      what: 'exception-groups',
      domain: 'www.example.org',
      action: 'allow',
      groups: ['pupils', 'staff'],
      ...record,
    });
    const gid = idIn(groups.headers.location);
    expect((await approver.get(`/changes/${gid}`)).body).toContain('staff');
    await approver.post(`/changes/${gid}/approve`, {});
    expect(h.policyCalls.at(-1)).toEqual([{ id: 1, domain: 'www.example.org', action: 'allow', groups: ['pupils', 'staff'] }]);
    const removal = await admin.post('/changes', {
      what: 'exception-remove',
      domain: 'www.example.org',
      action: 'allow',
      ...record,
      reason: 'Done',
    });
    await approver.post(`/changes/${idIn(removal.headers.location)}/approve`, {});
    expect(h.policyCalls.at(-1)).toEqual([]);
    expect(verifyChain(h.db).ok).toBe(true);
  });

  it('turns a block-page review request into a draft that IT confirms and an approver approves', async () => {
    const { admin, approver } = await setUp({ isIllegal: (n) => n === 'secret-entry.example.net' });
    const id = createReviewRequest(
      h.db,
      h.config,
      {
        domain: 'history.example.org',
        category: 'social',
        group: 'pupils',
        clientAddress: '10.10.1.2',
        requesterName: 'Year 9',
        reason: 'project',
      },
      h.clock.now,
    );
    // A repeat from the same device adds nothing.
    expect(
      createReviewRequest(
        h.db,
        h.config,
        { domain: 'history.example.org', group: 'pupils', clientAddress: '10.10.1.2', reason: 'again' },
        h.clock.now,
      ),
    ).toBe(id);
    let page = await admin.get('/exceptions');
    expect(page.body).toContain('Review requests from the block page (1)');
    expect(page.body).toContain(`href="/changes/${id}"`);
    const draft = await admin.get(`/changes/${id}`);
    expect(draft.body).toContain('id="edit-form"');
    // IT confirms the site, widens the groups and completes the record, then submits.
    const confirmed = await admin.post(`/changes/${id}/edit`, {
      what: 'exception',
      domain: 'history.example.org',
      action: 'allow',
      groups: ['pupils', 'staff'],
      requester: 'Year 9 (Sam)',
      subjectArea: 'History',
      reason: 'project',
      risk: 'low',
      backout: 'Revert',
      submit: 'submit',
    });
    expect(confirmed.headers.location).toBe(`/changes/${id}?done=submitted`);
    await approver.post(`/changes/${id}/approve`, {});
    expect(h.policyCalls.at(-1)).toEqual([{ id: 1, domain: 'history.example.org', action: 'allow', groups: ['pupils', 'staff'] }]);
    page = await admin.get('/exceptions');
    expect(page.body).toContain('Review requests from the block page (0)');
    const steps = h.db
      .prepare("SELECT action, actor FROM change_log WHERE entity = 'change' AND entity_id = ? ORDER BY id")
      .all(String(id));
    expect(steps.map((s) => (s as { action: string }).action)).toEqual(['create', 'submit', 'approve', 'apply', 'test']);
    expect(steps[0]).toEqual({ action: 'create', actor: 'block page' });
  });

  it('writes nothing when the change-log row cannot be written', async () => {
    const { admin } = await setUp();
    h.db.exec("CREATE TRIGGER fail_log BEFORE INSERT ON change_log WHEN NEW.entity = 'change' BEGIN SELECT RAISE(ABORT, 'log full'); END");
    const res = await admin.post('/changes', form);
    expect(res.statusCode).toBe(500);
    expect(h.db.prepare("SELECT count(*) FROM change_requests WHERE kind = 'change'").pluck().get()).toBe(0);
  });

  it('works through the JSON API: a request, the approval, the policy', async () => {
    const { admin, approver } = await setUp();
    const created = await admin.api('POST', '/api/exceptions', { ...form, domain: 'maps.example.org', groups: ['pupils'] });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ status: 'submitted', createdBy: 'boss', groups: ['pupils'] });
    expect((await admin.api('GET', '/api/exceptions')).json()).toHaveLength(0);
    const approved = await approver.api('POST', `/api/changes/${created.json().id}/approve`, { note: 'ok' });
    expect(approved.json()).toMatchObject({ status: 'applied', decidedBy: 'head' });
    expect((await admin.api('GET', '/api/exceptions')).json()).toEqual([
      expect.objectContaining({ domain: 'maps.example.org', approver: 'head' }),
    ]);
    expect((await admin.api('GET', '/api/policy')).json()).toMatchObject({ version: 2 });
    const doc = (await admin.api('GET', '/api/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/exceptions', '/api/changes', '/api/changes/{id}/approve', '/api/changelog']),
    );
  });

  it('keeps the governed groups when a reloaded config file has others', async () => {
    const { admin } = await setUp();
    const next = structuredClone(h.config);
    next.groups.push({ ...next.groups[0], name: 'sixthform', networks: ['127.0.0.9/32'], default: false });
    h.app.configure(next);
    const res = await admin.post('/changes', { ...form, groups: ['sixthform'] });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('unknown group');
    expect((await admin.get('/exceptions')).body).not.toContain('value="sixthform"');
  });
});
