import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Exception } from '../../src/resolver/policy.js';
import type { Answer, Query } from '../../src/resolver/types.js';
import { decide, fakeNext, makePolicy, makeQuery, testConfig, upstreamAnswer, CONFIG_YAML, type GroupName } from './policy-fixtures.js';

describe('PolicyHandler: groups and categories', () => {
  // Saturday noon: no schedule window open.
  it.each<[string, GroupName, string]>([
    ['adult.example', 'pupils', 'category:adult'],
    ['adult.example', 'staff', 'category:adult'],
    ['adult.example', 'guests', 'category:adult'],
    ['www.casino.example', 'pupils', 'category:gambling'],
    ['www.casino.example', 'staff', 'pass'],
    ['www.casino.example', 'guests', 'category:gambling'],
    ['game.example', 'pupils', 'category:games'],
    ['game.example', 'staff', 'pass'],
    ['game.example', 'guests', 'pass'],
    ['social.example', 'pupils', 'pass'],
    ['social.example', 'staff', 'pass'],
    ['social.example', 'guests', 'category:social'],
    ['news.example', 'pupils', 'pass'],
    ['news.example', 'staff', 'pass'],
    ['news.example', 'guests', 'pass'],
    // a parent's entry covers subdomains, but not the other way round
    ['a.b.adult.example', 'staff', 'category:adult'],
    ['example', 'pupils', 'pass'],
  ])('%s for %s → %s', async (name, group, expected) => {
    const { policy } = makePolicy();
    expect(await decide(policy, name, { group })).toBe(expected);
  });

  it.each<[GroupName]>([['pupils'], ['staff'], ['guests']])('illegal names are blocked for %s', async (group) => {
    const { policy } = makePolicy();
    expect(await decide(policy, 'abuse.example', { group })).toBe('illegal:iwf');
    expect(await decide(policy, 'www.terror.example', { group })).toBe('illegal:ctiru');
  });

  it('reports the most severe category and flags circumvention when any blocking category is one', async () => {
    const { policy } = makePolicy();
    const answer = await policy.resolve(makeQuery('mixed.example', { group: 'staff' }), fakeNext());
    expect(answer.decision).toEqual({ action: 'block', reason: 'category', category: 'adult', circumvention: true });
    const vpn = await policy.resolve(makeQuery('vpn.example', { group: 'staff' }), fakeNext());
    expect(vpn.decision).toMatchObject({ reason: 'category', category: 'vpn-proxy', circumvention: true });
  });

  it('blocks an IDN look-alike of a listed name (Cyrillic о and х in roblox)', async () => {
    const { policy } = makePolicy();
    const lookalike = domainToASCII('rоblох.com');
    expect(lookalike).toMatch(/^xn--/);
    expect(await decide(policy, lookalike, { group: 'pupils' })).toBe('category:games');
    expect(await decide(policy, lookalike, { group: 'staff' })).toBe('pass');
  });

  it('answers a block synchronously and never calls next', () => {
    const { policy } = makePolicy();
    const next = fakeNext();
    const answer = policy.resolve(makeQuery('adult.example'), next) as Answer;
    expect(typeof (answer as unknown as Promise<Answer>).then).toBe('undefined');
    expect(answer.source).toBe('policy');
    expect(next).not.toHaveBeenCalled();
  });

  it('passes an allowed query through untouched: the same query to next, the same answer back', () => {
    const { policy } = makePolicy();
    const q = makeQuery('news.example');
    const upstream = upstreamAnswer(q);
    const answer = policy.resolve(q, (seen: Query) => {
      expect(seen).toBe(q);
      return upstream;
    });
    expect(answer).toBe(upstream);
  });

  it('applies a reloaded config to the next query', async () => {
    const { policy } = makePolicy();
    expect(await decide(policy, 'game.example', { group: 'staff' })).toBe('pass');
    policy.configure(testConfig(CONFIG_YAML.replace('block: [adult, vpn-proxy]', 'block: [adult, vpn-proxy, games]')));
    expect(await decide(policy, 'game.example', { group: 'staff' })).toBe('category:games');
  });

  it('keeps the old policy when a reloaded config cannot be compiled', async () => {
    const { policy } = makePolicy();
    const broken = testConfig();
    broken.groups[0].schedules[0].times = ['08:30-25:00']; // as a config built in code could be
    expect(() => policy.configure(broken)).toThrow(/group "pupils".*25:00/);
    expect(await decide(policy, 'adult.example', { group: 'staff' })).toBe('category:adult');
  });

  it.each([
    ['a schedule time past 24:00', '"08:30-12:00"', '"08:30-25:00"', /times\[0\] \(line \d+\): expected HH:MM-HH:MM/],
    ['a keyword of two words', '"selfharm"', '"self harm"', /keywords\[1\] \(line \d+\): expected one word/],
  ])('leaves %s to the config loader, which names the key and line', (_title, from, to, message) => {
    expect(() => testConfig(CONFIG_YAML.replace(from, to))).toThrow(message);
  });

  it('gives an unknown group the default group policy', async () => {
    const { policy } = makePolicy();
    const q = makeQuery('social.example');
    q.client.group = { index: 7, name: 'gone' };
    expect((await policy.resolve(q, fakeNext())).decision?.category).toBe('social');
  });
});

describe('PolicyHandler: exceptions', () => {
  const ex = (domain: string, action: 'allow' | 'deny', groups: string[], id?: number): Exception => ({ domain, action, groups, id });

  it.each<[string, Exception[], string, GroupName, string]>([
    ['deny covers the domain', [ex('news.example', 'deny', ['pupils'])], 'news.example', 'pupils', 'deny-exception'],
    ['deny covers subdomains', [ex('news.example', 'deny', ['pupils'])], 'www.news.example', 'pupils', 'deny-exception'],
    ['deny is per group', [ex('news.example', 'deny', ['pupils'])], 'news.example', 'staff', 'pass'],
    ['deny does not cover look-alike suffixes', [ex('news.example', 'deny', ['pupils'])], 'fakenews.example', 'pupils', 'pass'],
    ['allow unblocks a category', [ex('game.example', 'allow', ['pupils'])], 'game.example', 'pupils', 'allow-exception'],
    ['allow covers subdomains', [ex('casino.example', 'allow', ['pupils'])], 'www.casino.example', 'pupils', 'allow-exception'],
    ['allow beats keywords', [ex('sex-education.example', 'allow', ['pupils'])], 'sex-education.example', 'pupils', 'allow-exception'],
    [
      'deny beats allow',
      [ex('game.example', 'allow', ['pupils']), ex('www.game.example', 'deny', ['pupils'])],
      'www.game.example',
      'pupils',
      'deny-exception',
    ],
    ['"*" names every group', [ex('news.example', 'deny', ['*'])], 'news.example', 'guests', 'deny-exception'],
    ['upper case and a trailing dot are normalised', [ex('NEWS.Example.', 'deny', ['staff'])], 'news.example', 'staff', 'deny-exception'],
    ['allow never unblocks illegal (pupils)', [ex('abuse.example', 'allow', ['*'])], 'abuse.example', 'pupils', 'illegal:iwf'],
    ['allow never unblocks illegal (staff)', [ex('abuse.example', 'allow', ['staff'])], 'www.abuse.example', 'staff', 'illegal:iwf'],
    ['allow of a parent never unblocks illegal', [ex('example', 'allow', ['*'])], 'terror.example', 'guests', 'illegal:ctiru'],
  ])('%s', async (_title, list, name, group, expected) => {
    const { policy } = makePolicy();
    policy.setExceptions(list);
    expect(await decide(policy, name, { group })).toBe(expected);
  });

  it('replaces the whole list live with setExceptions', async () => {
    const { policy } = makePolicy();
    policy.setExceptions([ex('game.example', 'allow', ['pupils'], 1), ex('news.example', 'deny', ['pupils'], 2)]);
    expect(await decide(policy, 'game.example')).toBe('allow-exception');
    expect(await decide(policy, 'news.example')).toBe('deny-exception');
    policy.setExceptions([ex('other.example', 'deny', ['pupils'], 3)]);
    expect(await decide(policy, 'game.example')).toBe('category:games');
    expect(await decide(policy, 'news.example')).toBe('pass');
    expect(await decide(policy, 'other.example')).toBe('deny-exception');
    policy.setExceptions([]);
    expect(await decide(policy, 'other.example')).toBe('pass');
  });

  it('keeps exceptions across a reload and skips ones that are not domains', async () => {
    const { policy, config } = makePolicy();
    policy.setExceptions([ex('game.example', 'allow', ['pupils']), ex('not a domain', 'deny', ['*']), ex('x.example', 'deny', ['nobody'])]);
    policy.configure(config);
    expect(await decide(policy, 'game.example')).toBe('allow-exception');
  });
});

describe('PolicyHandler.explain, for the block page', () => {
  it.each<[string, string, object]>([
    [
      'www.casino.example',
      'pupils',
      { group: 'pupils', blocked: true, reason: 'category', category: 'gambling', categoryName: 'Gambling', illegal: false },
    ],
    ['WWW.Casino.Example.', 'staff', { group: 'staff', blocked: false, illegal: false }],
    [
      'abuse.example',
      'staff',
      { group: 'staff', blocked: true, reason: 'illegal', category: 'iwf', categoryName: 'Child sexual abuse (IWF)', illegal: true },
    ],
    [
      'free-p0rn.example',
      'guests',
      { group: 'guests', blocked: true, reason: 'keyword', category: 'adult', categoryName: 'Pornography', illegal: false },
    ],
    ['news.example', 'pupils', { group: 'pupils', blocked: true, reason: 'deny-exception', illegal: false }],
    [
      'social.example',
      'nosuch',
      { group: 'guests', blocked: true, reason: 'category', category: 'social', categoryName: 'Social networks', illegal: false },
    ],
  ])('%s for %s', (name, group, expected) => {
    const { policy } = makePolicy();
    policy.setExceptions([{ domain: 'news.example', action: 'deny', groups: ['pupils'] }]);
    expect(policy.explain(name, group)).toEqual(expected);
  });
});

describe('PolicyHandler: CNAME inspection', () => {
  it.each<[string, GroupName, string[], string]>([
    ['blocked target', 'pupils', ['cdn-adult.example'], 'cname:adult'],
    ['blocked target deeper in the chain', 'staff', ['a.cdn.example', 'b.cdn-adult.example'], 'cname:adult'],
    ['illegal target', 'staff', ['x.abuse.example'], 'cname:iwf'],
    ['allowed targets', 'pupils', ['a.cdn.example', 'b.cdn.example'], 'pass'],
    ['target in a category the group allows', 'staff', ['www.game.example'], 'pass'],
    ['keyword target', 'pupils', ['free-porn.cdn.example'], 'cname:adult'],
  ])('%s (%s)', async (_title, group, cnames, expected) => {
    const { policy } = makePolicy();
    expect(await decide(policy, 'shortlink.example', { group }, fakeNext({ 'shortlink.example': cnames }))).toBe(expected);
  });

  it('inspects answers that arrive asynchronously too', async () => {
    const { policy } = makePolicy();
    const q = makeQuery('shortlink.example');
    const answer = policy.resolve(q, async (seen) => upstreamAnswer(seen, ['cdn-adult.example']));
    expect(answer).toBeInstanceOf(Promise);
    const a = await answer;
    expect(a.source).toBe('policy');
    expect(a.decision).toMatchObject({ action: 'block', reason: 'cname', category: 'adult' });
  });

  it('lets an allow exception cover its chain, except an illegal target', async () => {
    const { policy } = makePolicy();
    policy.setExceptions([{ domain: 'shortlink.example', action: 'allow', groups: ['pupils'] }]);
    const toAdult = fakeNext({ 'shortlink.example': ['cdn-adult.example'] });
    expect(await decide(policy, 'shortlink.example', {}, toAdult)).toBe('allow-exception');
    const toIllegal = fakeNext({ 'shortlink.example': ['cdn.abuse.example'] });
    expect(await decide(policy, 'shortlink.example', {}, toIllegal)).toBe('cname:iwf');
  });

  it('blocks through a target deny exception', async () => {
    const { policy } = makePolicy();
    policy.setExceptions([{ domain: 'tracker.example', action: 'deny', groups: ['staff'] }]);
    expect(await decide(policy, 'shortlink.example', { group: 'staff' }, fakeNext({ 'shortlink.example': ['t.tracker.example'] }))).toBe(
      'cname',
    );
  });
});

describe('PolicyHandler: circumvention canaries', () => {
  it.each<[string, string, number, string]>([
    ['use-application-dns.net', 'canary', 3, 'A'],
    ['sub.use-application-dns.net', 'canary', 3, 'AAAA'],
    ['mask.icloud.com', 'private-relay', 3, 'A'],
    ['mask-h2.icloud.com', 'private-relay', 3, 'AAAA'],
    ['resolver.arpa', 'ddr', 0, 'A'],
    ['_dns.resolver.arpa', 'ddr', 0, 'TXT'],
  ])('%s → %s (rcode %i)', async (name, reason, rcode, type) => {
    const { policy } = makePolicy();
    for (const group of ['pupils', 'staff', 'guests'] as const) {
      const next = fakeNext();
      const answer = await policy.resolve(makeQuery(name, { group, type: type as 'A' }), next);
      // A category of their own, so blocked lookups add up by category on the dashboard.
      expect(answer.decision).toEqual({ action: 'block', reason, category: 'circumvention-canary', circumvention: true });
      expect(answer.rcode).toBe(rcode);
      expect(answer.wire[3] & 0x0f).toBe(rcode);
      expect(answer.wire.readUInt16BE(6)).toBe(0); // no answer records: NXDOMAIN or NODATA
      expect(next).not.toHaveBeenCalled();
    }
  });

  it.each([['icloud.com'], ['www.icloud.com'], ['application-dns.net'], ['arpa']])('leaves %s alone', async (name) => {
    const { policy } = makePolicy();
    expect(await decide(policy, name)).toBe('pass');
  });
});
