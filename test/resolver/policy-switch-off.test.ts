// Filtering switched off by a temporary change (src/changes/): for a whole
// group, the group's policy is its unfiltered form; for a network or person,
// identify hands the policy the group marked unfiltered. Either way only the
// illegal categories (and their keywords) are blocked: no categories,
// schedules, safe search or exceptions. A stub `next`, table-driven.
import { describe, expect, it } from 'vitest';
import { GroupIdentifier, IdentifyHandler } from '../../src/resolver/identify.js';
import type { ClientIdentity } from '../../src/identity/types.js';
import { decide, makePolicy, type GroupName, type QueryOptions } from './policy-fixtures.js';
import type { Query } from '../../src/resolver/types.js';
import { makeQuery, fakeNext } from './policy-fixtures.js';

const off = (group: GroupName) => ({ group, unfiltered: true });

describe('a group with filtering switched off', () => {
  const h = makePolicy();
  h.policy.setPolicy(
    h.config,
    [
      { domain: 'adult.example', action: 'allow', groups: ['staff'] },
      { domain: 'news.example', action: 'deny', groups: ['pupils'] },
    ],
    {
      unfilteredGroups: ['pupils'],
    },
  );

  it.each([
    ['abuse.example', 'pupils', 'illegal:iwf'],
    ['terror.example', 'pupils', 'illegal:ctiru'],
    ['adult.example', 'pupils', 'pass'],
    ['casino.example', 'pupils', 'pass'],
    ['free-porn-videos.example', 'pupils', 'pass'], // keyword of a blocked category: not now
    ['news.example', 'pupils', 'pass'], // its deny exception is off too
    ['www.google.com', 'pupils', 'pass'], // no safe search
    ['adult.example', 'guests', 'category:adult'], // other groups unchanged
    ['adult.example', 'staff', 'allow-exception'],
  ] as const)('%s for %s → %s', async (name, group, expected) => {
    expect(await decide(h.policy, name, { group })).toBe(expected);
  });

  it('keeps the canaries (Firefox DoH stays off), so the device stays visible', async () => {
    expect(await decide(h.policy, 'use-application-dns.net', { group: 'pupils' })).toBe('canary:circumvention-canary');
  });
});

describe('a client marked unfiltered (its network or person switched off)', () => {
  const h = makePolicy();
  const ask = async (name: string, o: QueryOptions & { unfiltered?: boolean }) => {
    const q: Query = makeQuery(name, o);
    q.client.group = { ...q.client.group, unfiltered: o.unfiltered ?? false };
    const answer = await h.policy.resolve(q, fakeNext());
    return answer.decision ? `${answer.decision.reason}${answer.decision.category ? ':' + answer.decision.category : ''}` : 'pass';
  };

  it.each([
    ['abuse.example', off('pupils'), 'illegal:iwf'],
    ['game.example', off('pupils'), 'pass'],
    ['game.example', { group: 'pupils' as const }, 'category:games'],
    ['social.example', off('guests'), 'pass'],
  ])('%s %j → %s', async (name, o, expected) => {
    expect(await ask(name, o)).toBe(expected);
  });
});

describe('identify with switched-off networks', () => {
  const h = makePolicy();
  const identify = new GroupIdentifier(h.config, ['127.0.0.5/32', 'fd00:5::/64']);

  it('marks clients in those networks unfiltered, in the group their address belongs to', () => {
    expect(identify.groupOf('127.0.0.2')).toEqual({ index: 0, name: 'pupils', unfiltered: false });
    expect(identify.groupOf('127.0.0.5')).toEqual({ index: 2, name: 'guests', unfiltered: true });
    expect(identify.groupOf('fd00:5::9')).toEqual({ index: 2, name: 'guests', unfiltered: true });
    expect(identify.groupOf('::ffff:127.0.0.5')).toEqual({ index: 2, name: 'guests', unfiltered: true });
    identify.configure(h.config);
    expect(identify.groupOf('127.0.0.5')).toEqual({ index: 2, name: 'guests', unfiltered: false });
  });
});

describe('identify with a person switched off', () => {
  const h = makePolicy();
  // Identity (src/identity/) puts jsmith at 127.0.0.2 and asmith at 127.0.0.3, both roster pupils.
  const people: Record<string, ClientIdentity> = {
    '127.0.0.2': { user: 'jsmith', group: 'pupils', from: { person: 'radius' } },
    '127.0.0.3': { user: 'asmith', group: 'pupils', from: { person: 'radius' } },
  };
  const groupOf = (identify: GroupIdentifier, address: string) => {
    const q = makeQuery('adult.example', { group: 'pupils' });
    q.client.address = address;
    let seen: Query | undefined;
    void new IdentifyHandler(identify, { lookup: (a) => people[a], personFirst: true }).resolve(q, (x) => {
      seen = x;
      return fakeNext()(x);
    });
    return seen!.client.group;
  };

  it.each([
    ['127.0.0.2', true], // jsmith: switched off (the name in any case)
    ['127.0.0.3', false], // asmith: filtered as before
    ['127.0.0.9', false], // nobody identity knows
  ] as const)('%s unfiltered: %s', (address, unfiltered) => {
    const identify = new GroupIdentifier(h.config, [], ['JSmith']);
    expect(groupOf(identify, address).unfiltered).toBe(unfiltered);
  });

  it('gives the unfiltered form of the person’s group when the network is switched off, and ends with the change', async () => {
    const identify = new GroupIdentifier(h.config, ['127.0.0.3/32'], []);
    expect(groupOf(identify, '127.0.0.3')).toMatchObject({ name: 'pupils', unfiltered: true });
    identify.configure(h.config, [], []);
    expect(groupOf(identify, '127.0.0.3')).toMatchObject({ name: 'pupils', unfiltered: false });
    // And the policy then blocks only illegal content for that client.
    const q = makeQuery('adult.example', { group: 'pupils' });
    q.client.group = { ...q.client.group, unfiltered: true };
    expect((await h.policy.resolve(q, fakeNext())).decision).toBeUndefined();
  });
});

describe('the policy compiled from a governed document', () => {
  it('refuses what it cannot compile, keeping the policy in force', async () => {
    const h = makePolicy();
    const bad = { ...h.config, groups: [{ ...h.config.groups[0], block: ['nosuch'] }, ...h.config.groups.slice(1)] };
    expect(() => h.policy.setPolicy(bad, [], {})).toThrow(/pupils/);
    expect(await decide(h.policy, 'adult.example', { group: 'pupils' })).toBe('category:adult');
  });

  it('says which categories a name is in, lists and keywords, whatever the group does', () => {
    const h = makePolicy();
    expect(h.policy.categoriesOf('adult.example')).toEqual(['adult']);
    expect(h.policy.categoriesOf('WWW.Free-Casino.example.')).toEqual(['gambling']);
    expect(h.policy.categoriesOf('fine.example')).toEqual([]);
  });
});
