// Each operation against the governed policy: what it reads like in plain
// words, and that its undoing brings the policy back exactly (so ending or
// reverting a change is one action). Table-driven.
import { describe, expect, it } from 'vitest';
import { describeChange, sentences } from '../../src/changes/describe.js';
import { emptyDocument, governedGroup, illegalIds, type PolicyDocument } from '../../src/changes/document.js';
import { applyOps, parseOps, type ChangeOp } from '../../src/changes/operations.js';
import { ChangeError } from '../../src/changes/errors.js';
import { changeConfig } from './helpers.js';

const config = changeConfig('/tmp/gh-ops');
const ctx = { changeId: 7, requester: 'Ms Khan', subjectArea: 'Geography', reason: 'Maps', approver: 'head', now: 1, until: 99 };

function base(): PolicyDocument {
  const doc = emptyDocument();
  doc.groups = config.groups.map((g) => governedGroup(g, illegalIds(config.categories)));
  doc.exceptions = [
    {
      id: 1,
      domain: 'news.example',
      action: 'deny',
      groups: ['pupils'],
      requester: 'r',
      subjectArea: 's',
      reason: 'x',
      approver: 'a',
      changeId: 2,
      createdAt: 0,
    },
  ];
  doc.nextExceptionId = 2;
  return doc;
}

const cases: [string, ChangeOp, string[]][] = [
  [
    'allow a site for pupils',
    { op: 'exception-add', domain: 'maps.example.org', action: 'allow', groups: ['pupils'] },
    ['pupils: Exception for maps.example.org: no exception → allowed (with its subdomains) while the change lasts'],
  ],
  [
    'remove an exception',
    { op: 'exception-remove', domain: 'news.example', action: 'deny' },
    ['pupils: Exception for news.example: blocked (with its subdomains) → no exception'],
  ],
  [
    'widen an exception',
    { op: 'exception-groups', domain: 'news.example', action: 'deny', groups: ['pupils', 'staff'] },
    ['staff: Exception for news.example: no exception → blocked (with its subdomains)'],
  ],
  [
    'block a category',
    { op: 'category-block', group: 'staff', category: 'games' },
    ['staff: Blocked categories: Adult content → Adult content, Games'],
  ],
  [
    'unblock a category',
    { op: 'category-unblock', group: 'pupils', category: 'social' },
    ['pupils: Blocked categories: Adult content, Social media → Adult content'],
  ],
  [
    'safe search',
    { op: 'safe-search', group: 'pupils', safeSearch: { google: true, bing: false, duckduckgo: false, youtube: 'strict' } },
    ['pupils: Safe search: off → Google, YouTube strict'],
  ],
  [
    'filtering off for a group',
    { op: 'filtering-off', target: { kind: 'group', group: 'staff' } },
    ['staff: Filtering: on → off while the change lasts (illegal content still blocked)'],
  ],
  [
    'filtering off for an exam room',
    { op: 'filtering-off', target: { kind: 'network', network: '10.1.5.0/24' } },
    ['network 10.1.5.0/24: Filtering: on → off while the change lasts (illegal content still blocked)'],
  ],
  [
    'a new group',
    {
      op: 'group-set',
      name: 'sixthform',
      group: {
        name: 'sixthform',
        networks: ['10.6.0.0/16'],
        default: false,
        block: ['games'],
        schedules: [],
        safeSearch: { google: false, bing: false, duckduckgo: false, youtube: 'off' },
      },
    },
    ['sixthform: Group: no such group → networks 10.6.0.0/16; blocks Games; schedules none; safe search off'],
  ],
  [
    'a schedule',
    {
      op: 'group-set',
      name: 'pupils',
      group: {
        ...governedGroup(config.groups[0], illegalIds(config.categories)),
        schedules: [{ block: ['games'], days: ['mon', 'fri'], times: ['08:30-15:30'], timezone: 'Europe/London' }],
      },
    },
    ['pupils: Schedules: none → Games on mon fri 08:30-15:30 (Europe/London)'],
  ],
];

describe('operations', () => {
  it.each(cases)('%s: reads in plain words, and undoes exactly', (_what, op, words) => {
    const before = base();
    const applied = applyOps(before, parseOps([op]), ctx, 'strict');
    expect(sentences(describeChange(before, applied.doc, config.categories))).toEqual(words);
    const undone = applyOps(applied.doc, applied.inverse, ctx, 'lenient');
    expect(undone.notes).toEqual([]);
    expect({ ...undone.doc, nextExceptionId: 0 }).toEqual({ ...before, nextExceptionId: 0 });
    // The input document is never changed in place.
    expect(before).toEqual(base());
  });

  it('in strict mode refuses what is not there; undoing notes it and goes on', () => {
    const doc = base();
    const gone: ChangeOp[] = [{ op: 'exception-remove', domain: 'nothere.example', action: 'allow' }];
    expect(() => applyOps(doc, gone, ctx, 'strict')).toThrow(ChangeError);
    expect(applyOps(doc, gone, ctx, 'lenient').notes).toEqual([
      'allow exception for nothere.example: nothing to undo (no longer in the policy)',
    ]);
    expect(applyOps(doc, [{ op: 'category-block', group: 'pupils', category: 'adult' }], ctx, 'strict').notes).toEqual([
      'pupils: adult is already blocked',
    ]);
  });

  it('refuses malformed operations from outside with the field named', () => {
    expect(() => parseOps([{ op: 'exception-add', domain: 'x.example', action: 'maybe', groups: ['pupils'] }])).toThrow(/action/);
    expect(() => parseOps([{ op: 'drop-table' }])).toThrow(ChangeError);
    expect(() => parseOps([])).toThrow(/operations/);
  });
});
