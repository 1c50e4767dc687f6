// The Change requests pages over inject: the forms of each kind (a category,
// safe search, filtering off for a network for N hours), who sees which step
// (the emergency button only for changeControl.emergencyAdmins, review forms
// for approvers), an emergency through the pages with its overdue banner and
// dashboard notice, withdraw, revert by an approver, the board extract, the
// roster group mapping form, and the dashboard saying the file's groups and
// identity.groups are not applied.
import { afterEach, describe, expect, it } from 'vitest';
import { getRequest } from '../../src/changes/store.js';
import { addUser, Client, harness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const record = { requester: 'Mr Ali', subjectArea: 'Exams', reason: 'Mock exam', risk: 'medium', backout: 'Revert', submit: 'submit' };
const idIn = (location: unknown) => Number(/\/changes\/(\d+)/.exec(String(location))![1]);

/** The admin harness's config has no categories; these come after its admin block, at the top level. */
const CATEGORIES = `
categories:
  - { id: social, name: Social media }
  - { id: games, name: Games }
  - { id: iwf, name: IWF list, illegal: true }`;

async function setUp(adminYaml = '') {
  h = await harness({ adminYaml: adminYaml + CATEGORIES });
  await addUser(h, 'boss', 'admin');
  await addUser(h, 'other', 'admin');
  await addUser(h, 'head', 'approver');
  const boss = new Client(h);
  await boss.login('boss');
  const head = new Client(h);
  await head.login('head');
  return { boss, head };
}

describe('the change request pages', () => {
  it('turn each form into its change, in plain words', async () => {
    const { boss } = await setUp();
    const page = await boss.get('/changes/new');
    for (const id of ['new-exception', 'new-category', 'new-safe-search', 'new-switch-off']) expect(page.body).toContain(`id="${id}"`);
    expect(page.body).not.toContain('value="iwf"'); // illegal categories are not offered
    const category = await boss.post('/changes', {
      what: 'category',
      category: 'social',
      change: 'block',
      groups: ['pupils', 'staff'],
      ...record,
    });
    expect(category.statusCode, category.body).toBe(302);
    const c1 = getRequest(h.db, idIn(category.headers.location))!;
    expect(c1.ops).toEqual([
      { op: 'category-block', group: 'pupils', category: 'social' },
      { op: 'category-block', group: 'staff', category: 'social' },
    ]);
    const off = await boss.post('/changes', { what: 'switch-off', target: 'network', network: '10.1.5.0/24', endsInHours: '2', ...record });
    const c2 = getRequest(h.db, idIn(off.headers.location))!;
    expect(c2.ops).toEqual([{ op: 'filtering-off', target: { kind: 'network', network: '10.1.5.0/24' } }]);
    expect(c2.endsAt).toBe(h.clock.now + 2 * 3_600_000);
    const device = await boss.post('/changes', {
      what: 'switch-off',
      target: 'network',
      network: '10.1.5.20',
      endsAt: '2026-03-02T11:00',
      ...record,
    });
    expect(getRequest(h.db, idIn(device.headers.location))).toMatchObject({
      ops: [{ op: 'filtering-off', target: { kind: 'network', network: '10.1.5.20/32' } }],
      endsAt: Date.parse('2026-03-02T11:00Z'),
    });
    const forever = await boss.post('/changes', { what: 'switch-off', target: 'group', group: 'pupils', ...record });
    expect(forever.statusCode).toBe(400);
    expect(forever.body).toContain('switching filtering off is always temporary');
    const safe = await boss.post('/changes', { what: 'safe-search', group: 'staff', google: 'on', youtube: 'strict', ...record });
    expect((await boss.get(`/changes/${idIn(safe.headers.location)}`)).body).toContain('Google, YouTube strict');
  });

  it('offer the emergency button only to the named admins; an emergency shows overdue on its page and the dashboard', async () => {
    // Sessions long enough to outlive the review window the test moves past.
    const { boss, head } = await setUp('  sessionIdleMinutes: 600\nchangeControl: { emergencyAdmins: [boss], emergencyReviewHours: 1 }');
    expect((await boss.get('/changes/new')).body).toContain('Apply now as an emergency');
    const other = new Client(h);
    await other.login('other');
    expect((await other.get('/changes/new')).body).not.toContain('Apply now as an emergency');
    expect(
      (
        await other.post('/changes', {
          what: 'category',
          category: 'social',
          change: 'block',
          groups: ['staff'],
          ...record,
          submit: 'emergency',
        })
      ).statusCode,
    ).toBe(403);

    const res = await boss.post('/changes', {
      what: 'category',
      category: 'social',
      change: 'block',
      groups: ['staff'],
      ...record,
      submit: 'emergency',
    });
    expect(res.headers.location).toMatch(/done=emergency$/);
    const id = idIn(res.headers.location);
    expect(getRequest(h.db, id)).toMatchObject({ status: 'applied', emergency: true });
    expect((await head.get(`/changes/${id}`)).body).toContain('id="review-approve-form"');
    h.clock.now += 2 * 3_600_000;
    const page = await boss.get(`/changes/${id}`);
    expect(page.body).toContain('id="overdue"');
    expect(page.body).toContain('review overdue');
    expect((await boss.get('/dashboard')).body).toContain('id="notice-overdue"');
    const extract = await boss.get('/changelog/extract');
    expect(extract.body).toMatch(/id="board-emergencies">1 emergency/);
    expect(extract.body).toMatch(/id="board-overdue">1 overdue for review/);
    // The approver reviews it: approved, no longer overdue.
    expect((await head.post(`/changes/${id}/review`, { decision: 'approve', note: 'fine' })).headers.location).toBe(
      `/changes/${id}?done=reviewed`,
    );
    expect((await boss.get('/dashboard')).body).not.toContain('id="notice-overdue"');
  });

  it('let an admin withdraw a request and an approver revert an applied change', async () => {
    const { boss, head } = await setUp();
    const a = idIn(
      (await boss.post('/changes', { what: 'category', category: 'social', change: 'block', groups: ['staff'], ...record })).headers
        .location,
    );
    expect((await head.get('/changes')).body).toMatch(/id="waiting"[\s\S]*#\d/);
    expect((await boss.post(`/changes/${a}/withdraw`, { note: 'not needed' })).headers.location).toBe(`/changes/${a}?done=withdrawn`);
    expect((await head.post(`/changes/${a}/approve`, {})).statusCode).toBe(409);
    const b = idIn(
      (await boss.post('/changes', { what: 'category', category: 'social', change: 'block', groups: ['staff'], ...record })).headers
        .location,
    );
    await head.post(`/changes/${b}/approve`, {});
    const reverted = await head.post(`/changes/${b}/revert`, { reason: 'Staff need it for marketing' });
    const r = idIn(reverted.headers.location);
    expect(getRequest(h.db, r)).toMatchObject({ kind: 'revert', revertOf: b, status: 'applied' });
    expect(getRequest(h.db, b)!.status).toBe('reverted');
    expect((await boss.get(`/changes/${r}`)).body).toContain('Staff need it for marketing');
  });

  it('turn the roster mapping form into its change: add, move and remove, with the mappings in force listed', async () => {
    const { boss, head } = await setUp('\nidentity:\n  groups: [{ orgUnit: /Students, group: pupils }]');
    const page = await boss.get('/changes/new');
    expect(page.body).toContain('id="new-mapping"');
    expect(page.body).toMatch(/<td data-label="People with">org unit \/Students<\/td><td data-label="Filtered as">pupils<\/td>/);
    expect(page.body).toContain('href="/changes/new?attribute=orgUnit&amp;value=%2FStudents#new-mapping"');
    // The link fills the form in with the mapping and its group.
    const prefilled = (await boss.get('/changes/new?attribute=orgUnit&value=%2FStudents')).body;
    expect(prefilled).toContain('<option value="orgUnit" selected>');
    expect(prefilled).toContain('value="/Students"');
    expect(prefilled).toContain('<option value="pupils" selected>');

    const move = await boss.post('/changes', { what: 'mapping', attribute: 'orgUnit', value: ' /Students ', group: 'staff', ...record });
    expect(move.statusCode, move.body).toBe(302);
    const c = getRequest(h.db, idIn(move.headers.location))!;
    expect(c.ops).toEqual([{ op: 'mapping-set', attribute: 'orgUnit', value: '/Students', group: 'staff' }]);
    expect(c.summary).toBe('People in org unit /Students: Filtered as: pupils → staff');
    expect(c.groups).toEqual(['pupils', 'staff']);
    expect(await head.post(`/changes/${c.id}/approve`, { note: '' })).toMatchObject({ statusCode: 302 });
    expect((await boss.get('/changes/new')).body).toMatch(/org unit \/Students<\/td><td data-label="Filtered as">staff</);

    const add = await boss.post('/changes', { what: 'mapping', attribute: 'role', value: 'Teacher', group: 'staff', ...record });
    expect(getRequest(h.db, idIn(add.headers.location))!.summary).toBe(
      'People with role Teacher: Filtered as: the group of their network (no roster mapping) → staff',
    );
    const remove = await boss.post('/changes', { what: 'mapping', attribute: 'orgUnit', value: '/students', group: '', ...record });
    expect(getRequest(h.db, idIn(remove.headers.location))!.ops).toEqual([
      { op: 'mapping-set', attribute: 'orgUnit', value: '/students', group: null },
    ]);
    for (const [body, message] of [
      [{ attribute: 'orgUnit', value: 'Students', group: 'pupils' }, 'is not an org unit path such as /Students/Year 9'],
      [{ attribute: 'orgUnit', value: '/Students', group: 'nosuch' }, 'there is no group &quot;nosuch&quot; in the policy'],
      [{ attribute: 'role', value: 'Cleaner', group: '' }, 'roster mapping for role Cleaner: there is none to remove'],
      [{ attribute: 'house', value: 'Red', group: 'pupils' }, 'Roster attribute: choose org unit, role or year group.'],
    ] as const) {
      const refused = await boss.post('/changes', { what: 'mapping', ...body, ...record });
      expect([body, refused.statusCode]).toEqual([body, 400]);
      expect(refused.body).toContain(message);
    }
    // Removing the group a mapping uses is refused, saying why.
    const { submit: _submit, ...fields } = record;
    const drop = await boss.api('POST', '/api/changes', { ops: [{ op: 'group-set', name: 'staff', group: null }], ...fields });
    expect(drop.statusCode).toBe(400);
    expect(drop.json()).toMatchObject({ problems: [expect.stringContaining('a group a roster mapping uses cannot be removed')] });
  });

  it('say on the dashboard when the config file’s groups differ from the governed ones', async () => {
    const { boss } = await setUp();
    expect((await boss.get('/dashboard')).body).not.toContain('id="notice-file-groups"');
    const next = structuredClone(h.config);
    next.groups[0].block = ['social'];
    h.app.configure(next);
    const page = await boss.get('/dashboard');
    expect(page.body).toContain('id="notice-file-groups"');
    expect(page.body).toContain('The groups in the config file differ from the governed policy and are <strong>not applied</strong>');
    // And when its roster group mappings differ (the groups again the same).
    const mapped = structuredClone(h.config);
    mapped.identity.groups = [{ role: 'Teacher', group: 'staff' }];
    h.app.configure(mapped);
    expect((await boss.get('/dashboard')).body).toContain(
      'The roster group mappings (identity.groups) in the config file differ from the governed policy and are <strong>not applied</strong>',
    );
  });
});
