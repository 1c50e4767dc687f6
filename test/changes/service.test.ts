// Change control end to end in one process: the seeded first change, a request
// through approval to the live policy, four eyes, temporary changes that end by
// themselves (also across a restart), scheduled starts, revert, emergencies and
// their review window, and the hash chain across all of it.
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/admin/changelog.js';
import { ChangeError } from '../../src/changes/errors.js';
import type { ChangeOp } from '../../src/changes/operations.js';
import { getRequest, listRequests } from '../../src/changes/store.js';
import { changeHarness, head, record, T0, technician, type ChangeHarness } from './helpers.js';

let h: ChangeHarness;
afterEach(() => h?.close());

const allowMaps: ChangeOp[] = [{ op: 'exception-add', domain: 'maps.example.org', action: 'allow', groups: ['pupils'] }];
const HOUR = 3_600_000;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ChangeError) return err.code;
    throw err;
  }
  return undefined;
}

const log = () =>
  h.db.prepare("SELECT entity_id, action, actor, requester, approver FROM change_log WHERE entity = 'change' ORDER BY id").all() as {
    entity_id: string;
    action: string;
    actor: string;
    requester: string | null;
    approver: string | null;
  }[];

describe('the governed policy', () => {
  it('is seeded from the config file at the first start, as change #1, without illegal categories', async () => {
    h = changeHarness();
    await h.changes.start();
    expect(h.changes.version).toBe(1);
    expect(h.changes.doc.groups.map((g) => [g.name, g.block])).toEqual([
      ['pupils', ['adult', 'social']],
      ['staff', ['adult']],
      ['guests', ['adult', 'social']],
    ]);
    const seed = getRequest(h.db, 1)!;
    expect(seed).toMatchObject({ kind: 'seed', status: 'applied', requester: 'the config file', policyVersion: 1 });
    expect(seed.described.map((d) => d.target)).toEqual(['pupils', 'staff', 'guests']);
    expect(log()).toEqual([expect.objectContaining({ entity_id: '1', action: 'seed' })]);
    expect(h.applied.map((a) => a.version)).toEqual([1]);
    // The file's groups say the same (illegal categories aside): no warning; a second start seeds nothing.
    expect(h.changes.fileDiffers()).toBe(false);
    h.changes.stop();
    await h.changes.start();
    expect(h.changes.version).toBe(1);
    expect(verifyChain(h.db).ok).toBe(true);
  });

  it('refuses to start without groups to seed from', async () => {
    h = changeHarness();
    h.config.groups = [];
    expect(() => h.changes.load()).toThrow(/no groups to start it from/);
  });
});

describe('a change request', () => {
  it('goes draft → submitted → approved → applied, one change-log row per step, and reaches the live policy only when approved', async () => {
    h = changeHarness();
    await h.changes.start();
    const draft = h.changes.create({ ops: allowMaps, source: 'ui', submit: false }, technician);
    expect(draft).toMatchObject({
      status: 'draft',
      summary: 'pupils: Exception for maps.example.org: no exception → allowed (with its subdomains)',
    });
    // A draft without its record cannot be submitted.
    expect(code(() => h.changes.submit(draft.id, technician))).toBe('GH_ERR_CHANGE_INVALID');
    h.changes.update(draft.id, { ops: allowMaps, ...record, submit: true }, technician);
    expect(getRequest(h.db, draft.id)!.status).toBe('submitted');
    expect(h.changes.waiting()).toBe(1);
    expect(h.applied).toHaveLength(1); // only the seed so far
    const done = h.changes.approve(draft.id, head, 'fine');
    expect(done).toMatchObject({ status: 'applied', decidedBy: 'head', policyVersion: 2 });
    expect(h.applied.at(-1)!.doc.exceptions).toEqual([
      expect.objectContaining({
        id: 1,
        domain: 'maps.example.org',
        action: 'allow',
        groups: ['pupils'],
        approver: 'head',
        requester: 'Ms Khan',
      }),
    ]);
    await h.changes.idle();
    // No resolver in this harness: the test says so.
    expect(getRequest(h.db, draft.id)!.test).toMatchObject({ ok: null, summary: expect.stringContaining('not tested') });
    expect(log().map((r) => r.action)).toEqual(['seed', 'create', 'submit', 'approve', 'apply', 'test']);
    expect(log().find((r) => r.action === 'approve')).toMatchObject({ actor: 'head', requester: 'Ms Khan', approver: 'head' });
    expect(verifyChain(h.db).ok).toBe(true);
  });

  it('is never approved by its requester, an admin, or without MFA (four eyes)', async () => {
    h = changeHarness();
    await h.changes.start();
    const c = h.changes.create(
      { ops: allowMaps, source: 'ui', submit: true, ...record },
      { name: 'deputy', id: 5, role: 'approver', mfa: true },
    );
    expect(code(() => h.changes.approve(c.id, { name: 'deputy', id: 5, role: 'approver', mfa: true }))).toBe('GH_ERR_CHANGE_FOUR_EYES');
    expect(code(() => h.changes.approve(c.id, technician))).toBe('GH_ERR_CHANGE_ROLE');
    expect(code(() => h.changes.approve(c.id, { ...head, mfa: false }))).toBe('GH_ERR_CHANGE_MFA');
    expect(code(() => h.changes.refuse(c.id, { name: 'deputy', id: 5, role: 'approver', mfa: true }, 'no'))).toBe(
      'GH_ERR_CHANGE_FOUR_EYES',
    );
    expect(getRequest(h.db, c.id)!.status).toBe('submitted');
    h.changes.refuse(c.id, head, 'not for lessons');
    expect(getRequest(h.db, c.id)).toMatchObject({ status: 'refused', decision: 'refused', decisionNote: 'not for lessons' });
    expect(code(() => h.changes.approve(c.id, head))).toBe('GH_ERR_CHANGE_STATE');
    expect(h.changes.version).toBe(1);
  });

  it('tells the approvers when a request waits for them', async () => {
    h = changeHarness({
      extra: `alerts: { channels: { email: { host: 127.0.0.1, from: "gh@school.example", to: [dsl@school.example] } } }
changeControl: { notify: { approvers: { email: [head@school.example] } } }`,
    });
    await h.changes.start();
    const c = h.changes.create({ ops: allowMaps, source: 'ui', submit: true, ...record }, technician);
    expect(h.notices).toEqual([
      expect.objectContaining({ kind: 'change-waiting', channels: ['email'], email: ['head@school.example'], changeId: c.id }),
    ]);
    expect(h.notices[0].text).toContain('maps.example.org');
    expect(h.notices[0].text).toContain('Fieldwork maps');
  });

  it('refuses what touches illegal content, and switch-offs that do not end', async () => {
    h = changeHarness({ live: { isIllegal: (n) => n === 'bad.example.net' } });
    await h.changes.start();
    const ask = (ops: ChangeOp[], more: object = {}) =>
      code(() => h.changes.create({ ops, source: 'ui', submit: true, ...record, ...more }, technician));
    expect(ask([{ op: 'exception-add', domain: 'bad.example.net', action: 'allow', groups: ['pupils'] }])).toBe('GH_ERR_CHANGE_ILLEGAL');
    expect(ask([{ op: 'exception-add', domain: 'bad.example.net', action: 'deny', groups: ['pupils'] }])).toBe('GH_ERR_CHANGE_ILLEGAL');
    expect(ask([{ op: 'category-unblock', group: 'pupils', category: 'iwf' }])).toBe('GH_ERR_CHANGE_ILLEGAL');
    expect(ask([{ op: 'category-block', group: 'pupils', category: 'adult' }])).toBe('GH_ERR_CHANGE_NOTHING');
    expect(ask([{ op: 'category-block', group: 'nosuch', category: 'games' }])).toBe('GH_ERR_CHANGE_CONFLICT');
    const off: ChangeOp[] = [{ op: 'filtering-off', target: { kind: 'group', group: 'pupils' } }];
    expect(ask(off)).toBe('GH_ERR_CHANGE_INVALID');
    expect(ask(off, { endsAt: T0 + 25 * HOUR })).toBe('GH_ERR_CHANGE_INVALID');
    expect(ask([{ op: 'filtering-off', target: { kind: 'network', network: '10.1.5.0/33' } }], { endsAt: T0 + HOUR })).toBe(
      'GH_ERR_CHANGE_INVALID',
    );
    expect(ask([{ op: 'filtering-off', target: { kind: 'person', person: 'jsmith' } }], { endsAt: T0 + HOUR })).toBe(
      'GH_ERR_CHANGE_INVALID',
    );
    expect(ask(off, { endsAt: T0 + 2 * HOUR })).toBeUndefined();
    expect(listRequests(h.db, { status: ['submitted'] })).toHaveLength(1);
  });

  it('refuses to deny a help and support service, which the policy never blocks; allowing one is harmless', async () => {
    h = changeHarness();
    await h.changes.start();
    const ask = (action: 'allow' | 'deny', domain: string) =>
      code(() =>
        h.changes.create(
          { ops: [{ op: 'exception-add', domain, action, groups: ['pupils'] }], source: 'ui', submit: true, ...record },
          technician,
        ),
      );
    expect(ask('deny', 'www.childline.org.uk')).toBe('GH_ERR_CHANGE_INVALID');
    expect(ask('deny', 'samaritans.org')).toBe('GH_ERR_CHANGE_INVALID');
    expect(listRequests(h.db, { status: ['submitted'] })).toHaveLength(0);
    expect(ask('allow', 'childline.org.uk')).toBeUndefined();
  });
});

describe('time', () => {
  it('a temporary change ends by itself at its end time, and the end is logged', async () => {
    h = changeHarness();
    await h.changes.start();
    const until = T0 + 6.5 * HOUR; // "until 15:30"
    const c = h.changes.create({ ops: allowMaps, source: 'ui', submit: true, ...record, endsAt: until }, technician);
    h.changes.approve(c.id, head);
    expect(h.changes.doc.exceptions).toEqual([expect.objectContaining({ domain: 'maps.example.org', until })]);
    h.clock.now = until - 1000;
    await h.changes.runDue();
    expect(h.changes.doc.exceptions).toHaveLength(1);
    h.clock.now = until;
    await h.changes.runDue();
    expect(h.changes.doc.exceptions).toEqual([]);
    expect(getRequest(h.db, c.id)).toMatchObject({ status: 'ended', endedBy: 'gatehouse (scheduled)' });
    expect(log().at(-1)).toMatchObject({ entity_id: String(c.id), action: 'end' });
    expect(h.applied.at(-1)!.doc.exceptions).toEqual([]);
  });

  it('an end that was due while the service was down happens at start', async () => {
    h = changeHarness();
    await h.changes.start();
    const c = h.changes.create(
      {
        ops: [{ op: 'filtering-off', target: { kind: 'network', network: '127.0.0.5/32' } }],
        source: 'ui',
        submit: true,
        ...record,
        endsAt: T0 + 2 * HOUR,
      },
      technician,
    );
    h.changes.approve(c.id, head);
    expect(h.changes.doc.switchOffs).toEqual([
      { target: { kind: 'network', network: '127.0.0.5/32' }, changeId: c.id, until: T0 + 2 * HOUR },
    ]);
    h.changes.stop();
    h.clock.now = T0 + 5 * HOUR; // the service was down over the end
    await h.changes.start();
    expect(h.changes.doc.switchOffs).toEqual([]);
    expect(getRequest(h.db, c.id)).toMatchObject({ status: 'ended', endNote: expect.stringContaining('the service was not running') });
  });

  it('an approved change with a start time applies then; one whose whole time passed never applies', async () => {
    h = changeHarness();
    await h.changes.start();
    const later = h.changes.create({ ops: allowMaps, source: 'ui', submit: true, ...record, startsAt: T0 + HOUR }, technician);
    expect(h.changes.approve(later.id, head).status).toBe('approved');
    await h.changes.runDue();
    expect(h.changes.doc.exceptions).toEqual([]);
    const missed = h.changes.create(
      {
        ops: [{ op: 'category-unblock', group: 'pupils', category: 'social' }],
        source: 'ui',
        submit: true,
        ...record,
        startsAt: T0 + 2 * HOUR,
        endsAt: T0 + 3 * HOUR,
      },
      technician,
    );
    h.changes.approve(missed.id, head);
    h.clock.now = T0 + HOUR;
    await h.changes.runDue();
    expect(h.changes.doc.exceptions.map((e) => e.domain)).toEqual(['maps.example.org']);
    expect(getRequest(h.db, later.id)!.status).toBe('applied');
    h.clock.now = T0 + 4 * HOUR;
    await h.changes.runDue();
    expect(getRequest(h.db, missed.id)).toMatchObject({ status: 'ended', endNote: expect.stringContaining('never applied') });
    expect(h.changes.doc.groups.find((g) => g.name === 'pupils')!.block).toEqual(['adult', 'social']);
  });
});

describe('revert', () => {
  it('undoes an applied change with one action, itself a change', async () => {
    h = changeHarness();
    await h.changes.start();
    const c = h.changes.create(
      { ops: [{ op: 'category-unblock', group: 'pupils', category: 'social' }], source: 'ui', submit: true, ...record },
      technician,
    );
    h.changes.approve(c.id, head);
    expect(h.changes.doc.groups[0].block).toEqual(['adult']);
    expect(code(() => h.changes.revert(c.id, technician, ''))).toBe('GH_ERR_CHANGE_INVALID');
    const r = h.changes.revert(c.id, technician, 'pupils found a loophole');
    expect(r).toMatchObject({ kind: 'revert', status: 'applied', revertOf: c.id, decidedBy: 'head' });
    expect(r.summary).toContain('Blocked categories: Adult content → Adult content, Social media');
    expect(h.changes.doc.groups[0].block).toEqual(['adult', 'social']);
    expect(getRequest(h.db, c.id)).toMatchObject({ status: 'reverted', revertedBy: r.id });
    expect(code(() => h.changes.revert(c.id, technician, 'again'))).toBe('GH_ERR_CHANGE_STATE');
    // A revert can be reverted too.
    h.changes.revert(r.id, head, 'it was fine after all');
    expect(h.changes.doc.groups[0].block).toEqual(['adult']);
    expect(verifyChain(h.db).ok).toBe(true);
  });
});

describe('an emergency', () => {
  const extra = `alerts: { channels: { email: { host: 127.0.0.1, from: "gh@school.example", to: [dsl@school.example] } } }
changeControl:
  emergencyAdmins: [itlead]
  emergencyReviewHours: 24
  notify: { approvers: { email: [head@school.example] } }`;

  it('applies at once, is flagged, alerts the approvers and the DSL, and is overdue after the review window', async () => {
    h = changeHarness({ extra });
    await h.changes.start();
    const c = h.changes.create(
      { ops: [{ op: 'category-block', group: 'staff', category: 'games' }], source: 'ui', submit: false, ...record },
      technician,
    );
    expect(code(() => h.changes.emergency(c.id, { name: 'other', id: 9, role: 'admin' }))).toBe('GH_ERR_CHANGE_ROLE');
    const e = h.changes.emergency(c.id, technician);
    expect(e).toMatchObject({ status: 'applied', emergency: true, decision: null, reviewDueAt: T0 + 24 * HOUR });
    expect(h.changes.doc.groups[1].block).toEqual(['adult', 'games']);
    expect(h.alerts.map((a) => a.kind)).toEqual(['emergency-change']);
    expect(h.notices.map((n) => [n.kind, n.email ?? 'the channel’s own'])).toEqual([
      ['emergency-change', ['head@school.example']],
      ['emergency-change', 'the channel’s own'],
    ]);
    expect(h.changes.overdue()).toEqual([]);
    h.clock.now = T0 + 25 * HOUR;
    await h.changes.runDue();
    await h.changes.runDue(); // raised once
    expect(h.changes.overdue().map((o) => o.id)).toEqual([c.id]);
    expect(h.alerts.map((a) => a.kind)).toEqual(['emergency-change', 'emergency-review-overdue']);
    expect(code(() => h.changes.review(c.id, { ...technician, role: 'approver' }, 'approve', ''))).toBe('GH_ERR_CHANGE_FOUR_EYES');
    h.changes.review(c.id, head, 'approve', 'needed for the exam');
    expect(getRequest(h.db, c.id)).toMatchObject({ decision: 'approved', decidedBy: 'head', status: 'applied' });
    expect(h.changes.overdue()).toEqual([]);
    expect(log().map((r) => r.action)).toEqual(['seed', 'create', 'emergency-apply', 'test', 'review-approve']);
  });

  it('refused in review, it is reverted at once; a switch-off is never an emergency', async () => {
    h = changeHarness({ extra });
    await h.changes.start();
    const c = h.changes.create(
      { ops: [{ op: 'category-block', group: 'staff', category: 'games' }], source: 'ui', submit: true, ...record },
      technician,
    );
    h.changes.emergency(c.id, technician);
    const r = h.changes.review(c.id, head, 'refuse', 'not an emergency');
    expect(r).toMatchObject({ kind: 'revert', revertOf: c.id });
    expect(h.changes.doc.groups[1].block).toEqual(['adult']);
    expect(getRequest(h.db, c.id)).toMatchObject({ decision: 'refused', status: 'reverted' });
    const off = h.changes.create(
      {
        ops: [{ op: 'filtering-off', target: { kind: 'group', group: 'staff' } }],
        source: 'ui',
        submit: true,
        ...record,
        endsAt: T0 + HOUR,
      },
      technician,
    );
    expect(code(() => h.changes.emergency(off.id, technician))).toBe('GH_ERR_CHANGE_INVALID');
  });
});
