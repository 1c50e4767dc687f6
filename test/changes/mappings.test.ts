// Roster group mappings (identity.groups) in the governed policy: the
// mapping-set operation and its undoing, what it reads like, the rules a
// mapping must keep (a group the policy has, one per key, an org unit path),
// removing a group a mapping uses, the file differences, the seed on a new
// database and the upgrade of one an older version seeded without mappings
// (taken from the file once, as a change, keeping the rest of the policy), and
// the policy file's export and import of them.
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { verifyChain } from '../../src/admin/changelog.js';
import { describeChange, sentences } from '../../src/changes/describe.js';
import {
  effectiveConfig,
  emptyDocument,
  fileMappingsDiffer,
  governedGroup,
  illegalIds,
  type PolicyDocument,
} from '../../src/changes/document.js';
import { ChangeError } from '../../src/changes/errors.js';
import { applyOps, parseOps, type ChangeOp } from '../../src/changes/operations.js';
import { exportPolicy, importOps, readPolicyFile } from '../../src/changes/policy-file.js';
import { ChangeControl } from '../../src/changes/service.js';
import { currentVersion, getRequest, listRequests, mappingsGoverned, mappingsInForce } from '../../src/changes/store.js';
import { checkRequest, documentProblems } from '../../src/changes/validate.js';
import { silentLogger } from '../../src/log.js';
import { openDatabase } from '../../src/store/db.js';
import { changeConfig, changeHarness, head, record, T0, technician, type ChangeHarness } from './helpers.js';

const MAPPINGS = `identity:
  groups:
    - { orgUnit: /Students, group: pupils }
    - { role: Teacher, group: staff }
    - { role: teacher, group: guests }
`;

const config = changeConfig('/tmp/gh-mappings', MAPPINGS);
const ctx = { changeId: 7, requester: 'Ms Khan', subjectArea: 'Pastoral', reason: 'Year 9', approver: 'head', now: 1 };
const env = { categories: config.categories, maxSwitchOffHours: 24 };

function base(): PolicyDocument {
  const doc = emptyDocument();
  doc.groups = config.groups.map((g) => governedGroup(g, illegalIds(config.categories)));
  doc.identityGroups = [
    { orgUnit: '/Students', group: 'pupils' },
    { role: 'Teacher', group: 'staff' },
  ];
  return doc;
}

function problemsOf(fn: () => unknown): { code: string; problems: string[] } | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ChangeError) return { code: err.code, problems: err.problems };
    throw err;
  }
  return undefined;
}

describe('the mapping-set operation', () => {
  const cases: [string, ChangeOp, string[], PolicyDocument['identityGroups']][] = [
    [
      'move an org unit to another group',
      { op: 'mapping-set', attribute: 'orgUnit', value: '/Students', group: 'staff' },
      ['People in org unit /Students: Filtered as: pupils → staff'],
      [
        { orgUnit: '/Students', group: 'staff' },
        { role: 'Teacher', group: 'staff' },
      ],
    ],
    [
      'add a year group',
      { op: 'mapping-set', attribute: 'yearGroup', value: '9', group: 'guests' },
      ['People in year group 9: Filtered as: the group of their network (no roster mapping) → guests'],
      [
        { orgUnit: '/Students', group: 'pupils' },
        { role: 'Teacher', group: 'staff' },
        { yearGroup: '9', group: 'guests' },
      ],
    ],
    [
      'remove a role, named in another case',
      { op: 'mapping-set', attribute: 'role', value: 'TEACHER', group: null },
      ['People with role Teacher: Filtered as: staff → the group of their network (no roster mapping)'],
      [{ orgUnit: '/Students', group: 'pupils' }],
    ],
    [
      'move an org unit written with a trailing slash and in other case',
      { op: 'mapping-set', attribute: 'orgUnit', value: '/students/', group: 'guests' },
      ['People in org unit /students/: Filtered as: pupils → guests'],
      [
        { orgUnit: '/students/', group: 'guests' },
        { role: 'Teacher', group: 'staff' },
      ],
    ],
  ];

  it.each(cases)('%s: reads in plain words, and its undoing restores the policy exactly', (_name, op, words, mappings) => {
    const before = base();
    const applied = applyOps(before, parseOps([op]), ctx, 'strict');
    expect(applied.doc.identityGroups).toEqual(mappings);
    expect(sentences(describeChange(before, applied.doc, config.categories))).toEqual(words);
    const undone = applyOps(applied.doc, applied.inverse, ctx, 'lenient');
    expect(undone.notes).toEqual([]);
    expect([...undone.doc.identityGroups].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [...before.identityGroups].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    expect(sentences(describeChange(before, undone.doc, config.categories))).toEqual([]);
  });

  it('notes a mapping that is already so, and a removal of one that is not there', () => {
    const same = applyOps(base(), [{ op: 'mapping-set', attribute: 'orgUnit', value: '/STUDENTS', group: 'pupils' }], ctx, 'strict');
    expect(same.notes).toEqual(['roster mapping for org unit /STUDENTS: already filtered as pupils']);
    expect(same.inverse).toEqual([]);
    const none = applyOps(base(), [{ op: 'mapping-set', attribute: 'role', value: 'Cleaner', group: null }], ctx, 'strict');
    expect(none.notes).toEqual(['roster mapping for role Cleaner: there is none to remove']);
  });

  it.each([
    [{ op: 'mapping-set', attribute: 'house', value: 'Red', group: 'pupils' }, /attribute/],
    [{ op: 'mapping-set', attribute: 'role', value: '', group: 'pupils' }, /value/],
    [{ op: 'mapping-set', attribute: 'role', value: 'Teacher' }, /group/],
  ])('refuses a malformed operation %j', (op, message) => {
    expect(() => parseOps([op])).toThrow(message);
  });
});

describe('what a mapping must be', () => {
  it('names a group the policy has', () => {
    const r = {
      ops: [{ op: 'mapping-set', attribute: 'orgUnit', value: '/Students', group: 'year9' }] as ChangeOp[],
      startsAt: null,
      endsAt: null,
    };
    expect(problemsOf(() => checkRequest(r, base(), env, ctx))).toEqual({
      code: 'GH_ERR_CHANGE_INVALID',
      problems: [expect.stringMatching(/^roster mapping for org unit \/Students: there is no group "year9" in the policy/)],
    });
  });

  it('keeps the group it uses: removing that group is refused, saying why and what to do', () => {
    const r = { ops: [{ op: 'group-set', name: 'staff', group: null }] as ChangeOp[], startsAt: null, endsAt: null };
    const refused = problemsOf(() => checkRequest(r, base(), env, ctx))!;
    expect(refused.code).toBe('GH_ERR_CHANGE_INVALID');
    expect(refused.problems[0]).toBe(
      'roster mapping for role Teacher: there is no group "staff" in the policy (a group a roster mapping uses cannot be removed: move or remove the mapping first, or in the same change)',
    );
    // Moving the mapping in the same change lets the group go.
    const both = {
      ops: [{ op: 'mapping-set', attribute: 'role', value: 'Teacher', group: 'guests' }, ...r.ops] as ChangeOp[],
      startsAt: null,
      endsAt: null,
    };
    expect(checkRequest(both, base(), env, ctx).groups.map((g) => g.name)).toEqual(['pupils', 'guests']);
  });

  it.each([
    ['orgUnit', 'Students', /Org unit: "Students" is not an org unit path/],
    ['role', ' Teacher', /without spaces around it/],
  ] as const)('refuses a %s value %j', (attribute, value, message) => {
    const r = { ops: [{ op: 'mapping-set', attribute, value, group: 'staff' }] as ChangeOp[], startsAt: null, endsAt: null };
    expect(problemsOf(() => checkRequest(r, base(), env, ctx))?.problems[0]).toMatch(message);
  });

  it('is one per key in a policy', () => {
    const doc = base();
    doc.identityGroups.push({ role: 'TEACHER', group: 'guests' });
    expect(documentProblems(doc, env)).toEqual(['roster mapping for role TEACHER: given twice']);
  });

  it('is what identity runs with, and a file that says otherwise differs', () => {
    const doc = base();
    expect(effectiveConfig(config, doc).identity.groups).toEqual(doc.identityGroups);
    expect(effectiveConfig(config, doc).identity.dhcp).toBe(config.identity.dhcp);
    // The file's third entry repeats a key (it never counted): the file says what the policy says.
    expect(fileMappingsDiffer(config.identity.groups, doc)).toBe(false);
    expect(
      fileMappingsDiffer(
        [
          { orgUnit: '/students/', group: 'pupils' },
          { role: 'teacher', group: 'staff' },
        ],
        doc,
      ),
    ).toBe(false);
    expect(
      fileMappingsDiffer(
        [
          { orgUnit: '/Students', group: 'staff' },
          { role: 'Teacher', group: 'staff' },
        ],
        doc,
      ),
    ).toBe(true);
    expect(fileMappingsDiffer([{ orgUnit: '/Students', group: 'pupils' }], doc)).toBe(true);
    // A file without mappings says nothing about them.
    expect(fileMappingsDiffer([], doc)).toBe(false);
  });
});

describe('the policy file', () => {
  const v = { version: 3, at: 0, changeId: 3, doc: base() };

  it('exports the mappings, and an export read back imports no difference', () => {
    const text = exportPolicy(v, [], 'test.db', T0);
    const parsed = parse(text) as { identityGroups: unknown };
    expect(parsed.identityGroups).toEqual([
      { orgUnit: '/Students', group: 'pupils' },
      { role: 'Teacher', group: 'staff' },
    ]);
    const back = readPolicyFile(text, 'policy.yaml', config.categories);
    expect(importOps(v.doc, back)).toEqual([]);
  });

  it('imports the mapping differences: moved, added and removed, before a group the file drops', () => {
    const file = parse(exportPolicy(v, [], 'test.db', T0)) as Record<string, unknown>;
    file.groups = (file.groups as { name: string }[])
      .filter((g) => g.name !== 'guests')
      .map((g) => (g.name === 'staff' ? { ...g, default: true } : g));
    file.identityGroups = [
      { orgUnit: '/Students', group: 'staff' },
      { yearGroup: '13', group: 'staff' },
    ];
    const ops = importOps(v.doc, readPolicyFile(JSON.stringify(file), 'edited.yaml', config.categories));
    expect(ops).toEqual([
      { op: 'group-set', name: 'staff', group: expect.objectContaining({ name: 'staff', default: true }) },
      { op: 'mapping-set', attribute: 'orgUnit', value: '/Students', group: 'staff' },
      { op: 'mapping-set', attribute: 'yearGroup', value: '13', group: 'staff' },
      { op: 'mapping-set', attribute: 'role', value: 'Teacher', group: null },
      { op: 'group-set', name: 'guests', group: null },
    ]);
    const after = checkRequest({ ops, startsAt: null, endsAt: null }, v.doc, env, ctx);
    expect(after.identityGroups).toEqual([
      { orgUnit: '/Students', group: 'staff' },
      { yearGroup: '13', group: 'staff' },
    ]);
  });

  it('leaves the mappings alone for an export made before they were governed, and for a config file without identity.groups', () => {
    const old = parse(exportPolicy(v, [], 'test.db', T0)) as Record<string, unknown>;
    delete old.identityGroups;
    expect(readPolicyFile(JSON.stringify(old), 'old.yaml', config.categories).identityGroups).toBeUndefined();
    expect(importOps(v.doc, readPolicyFile(JSON.stringify(old), 'old.yaml', config.categories))).toEqual([]);
    const plain = readPolicyFile(
      `links: [{ name: primary, upstreams: ["udp://127.0.0.1:53"] }]
categories: [{ id: adult, name: Adult content }]
groups: [{ name: pupils, default: true, block: [adult] }]
identity: { domains: [school.example] }
`,
      'gatehouse.yaml',
      config.categories,
    );
    expect(plain.identityGroups).toBeUndefined();
  });

  it('takes a config file’s identity.groups when it has them, keeping the first of a key and noting the rest', () => {
    const file = readPolicyFile(
      `links: [{ name: primary, upstreams: ["udp://127.0.0.1:53"] }]
categories: [{ id: adult, name: Adult content }]
groups: [{ name: pupils, default: true, block: [adult] }, { name: staff }]
identity:
  groups: [{ role: Teacher, group: staff }, { role: TEACHER, group: pupils }]
`,
      'gatehouse.yaml',
      config.categories,
    );
    expect(file.identityGroups).toEqual([{ role: 'Teacher', group: 'staff' }]);
    expect(file.notes).toEqual(['roster mapping for role TEACHER: given more than once; only the first counts, and only it is kept']);
    expect(importOps(v.doc, file).filter((o) => o.op === 'mapping-set')).toEqual([
      { op: 'mapping-set', attribute: 'orgUnit', value: '/Students', group: null },
    ]);
    const empty = readPolicyFile(
      `links: [{ name: primary, upstreams: ["udp://127.0.0.1:53"] }]
groups: [{ name: pupils, default: true }]
identity: { groups: [] }
`,
      'gatehouse.yaml',
      config.categories,
    );
    expect(empty.identityGroups).toEqual([]);
  });

  it('refuses a mapping that is not one of orgUnit, role and yearGroup', () => {
    const file = {
      kind: 'gatehouse-policy',
      groups: [{ name: 'pupils', default: true }],
      identityGroups: [{ orgUnit: '/A', role: 'x', group: 'pupils' }],
    };
    expect(() => readPolicyFile(JSON.stringify(file), 'bad.yaml', config.categories)).toThrow(
      /identityGroups\.0: give exactly one of orgUnit, role and yearGroup/,
    );
  });
});

let h: ChangeHarness;
afterEach(() => h?.close());

const changeLog = () =>
  h.db.prepare("SELECT entity_id, action FROM change_log WHERE entity = 'change' ORDER BY id").all() as {
    entity_id: string;
    action: string;
  }[];

describe('seeding and upgrading', () => {
  it('seeds the mappings with the groups in the first change, one per key', async () => {
    h = changeHarness({ extra: MAPPINGS });
    await h.changes.start();
    expect(h.changes.version).toBe(1);
    expect(h.changes.doc.identityGroups).toEqual([
      { orgUnit: '/Students', group: 'pupils' },
      { role: 'Teacher', group: 'staff' },
    ]);
    const seed = getRequest(h.db, 1)!;
    expect(sentences(seed.described).slice(-2)).toEqual([
      'People in org unit /Students: Filtered as: the group of their network (no roster mapping) → pupils',
      'People with role Teacher: Filtered as: the group of their network (no roster mapping) → staff',
    ]);
    const row = h.db.prepare("SELECT after_json FROM change_log WHERE action = 'seed'").pluck().get() as string;
    expect(JSON.parse(row).notes).toEqual([
      'identity.groups: role teacher is given more than once; only the first counted, and only it is kept',
    ]);
    expect(h.changes.fileDifferences()).toEqual([]);
    expect(mappingsGoverned(h.db)).toBe(true);
    // A second start takes nothing more.
    h.changes.stop();
    await h.changes.start();
    expect(h.changes.version).toBe(1);
  });

  /** A database an older version seeded and changed: its policy versions have no mappings (they were read from the file). */
  function olderVersion(path: string): void {
    const old = changeConfig(dirname(path));
    const db = openDatabase(path);
    const changes = new ChangeControl({ db, config: () => old, logger: silentLogger(), now: () => T0 });
    changes.load();
    const c = changes.create(
      {
        ops: [{ op: 'exception-add', domain: 'maps.example.org', action: 'allow', groups: ['pupils'] }],
        source: 'ui',
        submit: true,
        ...record,
      },
      technician,
    );
    changes.approve(c.id, head);
    rewriteVersions(db, (doc) => doc);
    db.close();
  }

  /** Write the stored versions as an older version would have (no mappings); the service never rewrites a version, so its trigger is lifted here only. */
  function rewriteVersions(db: ReturnType<typeof openDatabase>, edit: (doc: PolicyDocument) => PolicyDocument): void {
    db.exec('DROP TRIGGER governed_policy_no_update');
    const rows = db.prepare('SELECT version, doc_json FROM governed_policy').all() as { version: number; doc_json: string }[];
    for (const r of rows) {
      const { identityGroups: _gone, ...old } = edit(JSON.parse(r.doc_json) as PolicyDocument);
      db.prepare('UPDATE governed_policy SET doc_json = ? WHERE version = ?').run(JSON.stringify(old), r.version);
    }
    db.exec(
      "CREATE TRIGGER governed_policy_no_update BEFORE UPDATE ON governed_policy BEGIN SELECT RAISE(ABORT, 'policy versions cannot be changed'); END",
    );
  }

  it('upgrades a policy seeded without mappings: takes the file’s once, as a change, keeping the rest of the policy', async () => {
    h = changeHarness({ extra: MAPPINGS, db: olderVersion });
    const raw = openDatabase(h.config.store.path);
    expect(mappingsGoverned(raw)).toBe(false);
    const before = currentVersion(raw)!;
    // Until the upgrade, what runs beside the service reads the file's mappings.
    expect(mappingsInForce(raw, h.config.identity.groups)).toBe(h.config.identity.groups);
    raw.close();
    expect(before.doc.identityGroups).toEqual([]);

    await h.changes.start();
    expect(h.changes.version).toBe(3);
    const { identityGroups, ...rest } = h.changes.doc;
    expect(identityGroups).toEqual([
      { orgUnit: '/Students', group: 'pupils' },
      { role: 'Teacher', group: 'staff' },
    ]);
    const { identityGroups: _none, ...restBefore } = before.doc;
    expect(rest).toEqual(restBefore);
    expect(h.changes.doc.exceptions.map((e) => [e.domain, e.approver])).toEqual([['maps.example.org', 'head']]);
    const taken = getRequest(h.db, 3)!;
    expect(taken).toMatchObject({
      kind: 'migration',
      status: 'applied',
      requester: 'the config file (identity.groups)',
      subjectArea: 'roster group mappings',
      policyVersion: 3,
    });
    expect(taken.reason).toMatch(/^The 2 roster group mapping\(s\) the config file's identity.groups had/);
    expect(sentences(taken.described)).toEqual([
      'People in org unit /Students: Filtered as: the group of their network (no roster mapping) → pupils',
      'People with role Teacher: Filtered as: the group of their network (no roster mapping) → staff',
    ]);
    expect(changeLog()).toEqual([
      { entity_id: '1', action: 'seed' },
      { entity_id: '2', action: 'submit' },
      { entity_id: '2', action: 'approve' },
      { entity_id: '2', action: 'apply' },
      { entity_id: '2', action: 'test' },
      { entity_id: '3', action: 'migration' },
    ]);
    expect(h.applied.at(-1)).toMatchObject({ version: 3, doc: { identityGroups } });
    expect(verifyChain(h.db).ok).toBe(true);
    expect(mappingsInForce(h.db, [])).toEqual(identityGroups);

    // Once only: a restart takes nothing, and the file's mappings, edited, are not applied but reported.
    h.changes.stop();
    h.config.identity.groups = [{ orgUnit: '/Students', group: 'guests' }];
    await h.changes.start();
    expect(h.changes.version).toBe(3);
    expect(h.changes.doc.identityGroups).toEqual(identityGroups);
    expect(h.changes.fileDifferences()).toEqual(['identity.groups']);
  });

  it('upgrades a policy when the file has no mappings: recorded, and mappings added to the file later are not taken', async () => {
    h = changeHarness({ db: olderVersion });
    await h.changes.start();
    expect(h.changes.version).toBe(3);
    expect(h.changes.doc.identityGroups).toEqual([]);
    expect(getRequest(h.db, 3)).toMatchObject({ kind: 'migration', summary: 'No change to the policy' });
    expect(getRequest(h.db, 3)!.reason).toMatch(/^Roster group mappings came under change control; the config file had none/);
    h.changes.stop();
    h.config.identity.groups = [{ orgUnit: '/Students', group: 'pupils' }];
    await h.changes.start();
    expect(h.changes.version).toBe(3);
    expect(h.changes.doc.identityGroups).toEqual([]);
    expect(h.changes.fileDifferences()).toEqual(['identity.groups']);
  });

  it('leaves out, and notes, a file mapping to a group the governed policy does not have', async () => {
    h = changeHarness({
      extra: `identity:\n  groups: [{ orgUnit: /Students, group: pupils }, { yearGroup: "13", group: guests }]\n`,
      db: (path) => {
        olderVersion(path);
        // The policy lost the guests group after it was seeded (the file still has it).
        const db = openDatabase(path);
        rewriteVersions(db, (doc) => ({
          ...doc,
          groups: doc.groups.filter((g) => g.name !== 'guests').map((g) => (g.name === 'staff' ? { ...g, default: true } : g)),
        }));
        db.close();
      },
    });
    await h.changes.start();
    expect(h.changes.doc.identityGroups).toEqual([{ orgUnit: '/Students', group: 'pupils' }]);
    const row = h.db.prepare("SELECT after_json FROM change_log WHERE action = 'migration'").pluck().get() as string;
    expect(JSON.parse(row).notes).toEqual([
      'identity.groups: year group 13 names group "guests", which the governed policy does not have; left out',
    ]);
  });
});

describe('a mapping change request', () => {
  it('moves a mapping after approval by another account, is reported as a filtering change, and is recorded as not testable', async () => {
    h = changeHarness({
      extra:
        MAPPINGS +
        'changeControl: { notify: { categoryChanges: { email: [ict@trust.example] } } }\nalerts: { channels: { email: { host: 127.0.0.1, port: 25, from: gh@school.example, to: [dsl@school.example] } } }\n',
    });
    await h.changes.start();
    const c = h.changes.create(
      { ops: [{ op: 'mapping-set', attribute: 'orgUnit', value: '/Students', group: 'staff' }], source: 'ui', submit: true, ...record },
      technician,
    );
    expect(c).toMatchObject({
      status: 'submitted',
      groups: ['pupils', 'staff'],
      summary: 'People in org unit /Students: Filtered as: pupils → staff',
    });
    expect(h.changes.doc.identityGroups[0]).toEqual({ orgUnit: '/Students', group: 'pupils' });
    expect(problemsOf(() => h.changes.approve(c.id, { ...head, id: technician.id }))?.code).toBe('GH_ERR_CHANGE_FOUR_EYES');
    h.changes.approve(c.id, head);
    await h.changes.idle();
    expect(h.applied.at(-1)!.doc.identityGroups[0]).toEqual({ orgUnit: '/Students', group: 'staff' });
    expect(h.notices.map((n) => n.kind)).toContain('category-change');
    expect(getRequest(h.db, c.id)!.test).toMatchObject({ ok: null });
    // Reverted with one action: the mapping is back.
    const r = h.changes.revert(c.id, technician, 'Year 9 stays with pupils');
    expect(sentences(r.described)).toEqual(['People in org unit /Students: Filtered as: staff → pupils']);
    expect(h.changes.doc.identityGroups[0]).toEqual({ orgUnit: '/Students', group: 'pupils' });
    expect(listRequests(h.db, {}).length).toBe(3);
    expect(verifyChain(h.db).ok).toBe(true);
  });
});
