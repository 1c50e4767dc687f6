// Help must never be blocked: the built-in help and support services (and a
// school's own, helpServices.extra) get through every keyword rule, category
// list and deny exception, for every group; the illegal lists still apply,
// to the name and to its CNAME chain. Table-driven over the policy with a
// fake `next`.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { AlertObserver, LogIndexes, QueryLogObserver } from '../../src/resolver/observers.js';
import { BUILT_IN_HELP_SERVICES, HelpServices, helpServiceDomains } from '../../src/resolver/help-services.js';
import { CONFIG_YAML, decide, fakeNext, makePolicy, makeQuery, testConfig, type GroupName } from './policy-fixtures.js';

const WITH_EXTRA = `${CONFIG_YAML}
helpServices:
  extra: [suicide-prevention.council.example, "Youth-Help.Example."]
`;

// A list that files help services under blocked categories, as a broad "self-harm" or "adult" list can.
const LISTED = {
  'samaritans.org': ['self-harm'],
  'brook.org.uk': ['adult'],
  'childline.org.uk': ['social'],
  'suicide-prevention.council.example': ['self-harm'],
  'abuse.example': ['iwf'],
  'fake-help.youth-help.example': ['iwf'], // an illegal entry under a help domain: still blocked
};

describe('PolicyHandler: help and support services are never blocked', () => {
  it.each<[string, GroupName]>([
    // The keyword `selfharm` (self-harm category) matches the whole word: selfharmUK's own domain.
    ['selfharm.co.uk', 'pupils'],
    ['www.selfharm.co.uk', 'guests'],
    // A category list that has them.
    ['www.samaritans.org', 'pupils'],
    ['brook.org.uk', 'staff'],
    ['childline.org.uk', 'guests'],
    // The school's own, written with capitals and a trailing dot in the config; the keyword `suicide` matches a word of it.
    ['suicide-prevention.council.example', 'pupils'],
    ['chat.youth-help.example', 'guests'],
  ])('%s for %s → help-service', async (name, group) => {
    const { policy } = makePolicy({ config: testConfig(WITH_EXTRA), listed: LISTED });
    expect(await decide(policy, name, { group })).toBe('help-service:help-services');
  });

  it('would be blocked without the list (the test can fail)', async () => {
    const config = testConfig(`${CONFIG_YAML}
helpServices: { exclude: [selfharm.co.uk, samaritans.org] }
`);
    const { policy } = makePolicy({ config, listed: LISTED });
    expect(await decide(policy, 'selfharm.co.uk', { group: 'pupils' })).toBe('keyword:self-harm');
    expect(await decide(policy, 'www.samaritans.org', { group: 'pupils' })).toBe('category:self-harm');
    expect(await decide(policy, 'suicide-prevention.council.example', { group: 'pupils' })).toBe('category:self-harm');
  });

  it('wins over a deny exception, even one made for the help domain itself', async () => {
    const { policy } = makePolicy({ listed: LISTED });
    policy.setExceptions([
      { domain: 'childline.org.uk', action: 'deny', groups: ['*'] },
      { domain: 'org.uk', action: 'deny', groups: ['pupils'] },
    ]);
    expect(await decide(policy, 'childline.org.uk', { group: 'staff' })).toBe('help-service:help-services');
    expect(await decide(policy, 'www.nspcc.org.uk', { group: 'pupils' })).toBe('help-service:help-services');
    expect(await decide(policy, 'school.org.uk', { group: 'pupils' })).toBe('deny-exception');
  });

  it('still blocks the illegal lists, for the name and for its CNAME chain', async () => {
    const { policy } = makePolicy({ config: testConfig(WITH_EXTRA), listed: LISTED });
    expect(await decide(policy, 'fake-help.youth-help.example', { group: 'staff' })).toBe('illegal:iwf');
    const toIllegal = fakeNext({ 'www.samaritans.org': ['cdn.abuse.example'] });
    expect(await decide(policy, 'www.samaritans.org', {}, toIllegal)).toBe('cname:iwf');
    // Any other target in the chain is covered, as for an allow exception.
    const toAdult = fakeNext({ 'www.samaritans.org': ['adult.example'] });
    expect(await decide(policy, 'www.samaritans.org', {}, toAdult)).toBe('help-service:help-services');
  });

  it('is not fooled by look-alikes or by names that only end like a help domain', async () => {
    const { policy } = makePolicy({ listed: { 'xn--samartans-8ii.org': ['adult'], 'notsamaritans.org': ['adult'] } });
    expect(await decide(policy, 'notsamaritans.org', { group: 'pupils' })).toBe('category:adult');
    expect(await decide(policy, 'samaritans.org.evil.example', { group: 'pupils' })).toBe('pass');
    expect(await decide(policy, 'xn--samartans-8ii.org', { group: 'pupils' })).toBe('category:adult');
  });

  it('answers from upstream with the help-service decision, and explain() says it is not blocked', async () => {
    const { policy } = makePolicy({ listed: LISTED });
    const next = fakeNext();
    const answer = await policy.resolve(makeQuery('www.samaritans.org'), next);
    expect(next).toHaveBeenCalledOnce();
    expect(answer.source).toBe('upstream');
    expect(answer.decision).toEqual({ action: 'allow', reason: 'help-service', category: 'help-services' });
    expect(policy.explain('www.samaritans.org', 'pupils')).toEqual({ group: 'pupils', blocked: false, illegal: false, helpService: true });
  });
});

describe('the built-in help-services list', () => {
  it('holds the services the safeguarding guidance names, as valid, distinct, lower-case domains', () => {
    const domains = BUILT_IN_HELP_SERVICES.map((s) => s.domain);
    for (const d of [
      'childline.org.uk',
      'samaritans.org',
      'nspcc.org.uk',
      'thinkuknow.co.uk',
      'ceop.police.uk',
      'papyrus-uk.org',
      'kooth.com',
      'giveusashout.org',
      'mind.org.uk',
      'beateatingdisorders.org.uk',
      'talktofrank.com',
      'stopitnow.org.uk',
      'youngminds.org.uk',
      'themix.org.uk',
    ])
      expect(domains).toContain(d);
    expect(new Set(domains).size).toBe(domains.length);
    for (const s of BUILT_IN_HELP_SERVICES) {
      expect(s.domain).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
      expect(s.service.length).toBeGreaterThan(3);
    }
  });

  it('takes extra domains and exclusions from the config', () => {
    const domains = helpServiceDomains({ extra: ['Local-CAMHS.example.', 'childline.org.uk'], exclude: ['kooth.com'] });
    expect(domains).toContain('local-camhs.example');
    expect(domains).not.toContain('kooth.com');
    expect(domains.filter((d) => d === 'childline.org.uk')).toHaveLength(1);
    expect(new HelpServices({ extra: [], exclude: [] }).size).toBe(BUILT_IN_HELP_SERVICES.length);
  });

  it.each([
    ['helpServices: { extra: ["not a domain"] }', /helpServices\.extra\[0\] \(line \d+\): "not a domain" is not a domain name/],
    ['helpServices: { extra: [localhost] }', /helpServices\.extra\[0\].*not a domain name/],
    ['helpServices: { exclude: [example.org] }', /helpServices\.exclude\[0\].*not on the built-in list/],
    ['helpServices: { extras: [a.example] }', /helpServices.*extras/],
  ])('refuses a bad config: %s', (yaml, message) => {
    expect(() => parseConfig(`${CONFIG_YAML}\n${yaml}\n`, 'test.yaml')).toThrow(message);
  });

  it('refuses a config category that takes a built-in category id', () => {
    const yaml = CONFIG_YAML.replace('id: games, name: "Games"', 'id: help-services, name: "Games"');
    expect(() => parseConfig(yaml, 'test.yaml')).toThrow(/categories\[8\]\.id.*built-in category/);
  });
});

describe('help lookups after the answer', () => {
  it('are logged in their own category and never raise an alert', async () => {
    const config = testConfig();
    const { policy } = makePolicy({ config, listed: LISTED });
    const q = makeQuery('www.samaritans.org');
    const answer = await policy.resolve(q, fakeNext());
    const observed: unknown[] = [];
    const alerts = new AlertObserver({ observe: (e) => observed.push(e) });
    alerts.configure(config);
    alerts.onAnswer(q, answer);
    expect(observed).toEqual([]);
    const indexes = new LogIndexes();
    indexes.configure(config);
    const logged: number[] = [];
    new QueryLogObserver({ record: (...args: unknown[]) => logged.push(args[6] as number) } as never, indexes).onAnswer(q, answer, 10);
    expect(logged).toEqual([config.categories.length + 1]); // after the config's categories and the canary one
  });
});
