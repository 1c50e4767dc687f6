import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { PolicyHandler } from '../../src/resolver/policy.js';
import { decide, makePolicy, type GroupName } from './policy-fixtures.js';

// Keywords in the test config: adult sex, porn*, xxx, cock, hentai;
// self-harm suicide, selfharm; violence rape; gambling casino, betting.
describe('PolicyHandler: keyword rules', () => {
  it.each([
    ['essex.ac.uk'],
    ['scunthorpe.gov.uk'],
    ['sussex.police.uk'],
    ['therapist.example'],
    ['cocktail-recipes.example'],
    ['www.middlesex.ac.uk'],
    ['grapevine.example'],
    ['sextant.example'],
  ])('does not block %s for any group', async (name) => {
    const { policy } = makePolicy();
    for (const group of ['pupils', 'staff', 'guests'] as const) expect(await decide(policy, name, { group })).toBe('pass');
  });

  it.each<[string, GroupName, string]>([
    ['free-p0rn.example', 'pupils', 'keyword:adult'],
    ['free-p0rn.example', 'staff', 'keyword:adult'],
    [domainToASCII('pоrn-videos.example'), 'guests', 'keyword:adult'], // xn--…: Cyrillic о
    [domainToASCII('сasino-online.example'), 'pupils', 'keyword:gambling'], // Cyrillic с
    ['сasino-online.example', 'pupils', 'keyword:gambling'],
    [domainToASCII('сasino-online.example'), 'staff', 'pass'], // staff do not block gambling
    ['cock.example', 'guests', 'keyword:adult'],
    ['suicide-methods.example', 'pupils', 'keyword:self-harm'],
    ['suicide-methods.example', 'staff', 'pass'],
    ['rape-stories.example', 'guests', 'keyword:violence'],
    // a listed category beats a keyword one
    ['sex.casino.example', 'pupils', 'category:gambling'],
  ])('%s for %s → %s', async (name, group, expected) => {
    const { policy } = makePolicy();
    expect(await decide(policy, name, { group })).toBe(expected);
  });
});

// The keywords the project ships (config/gatehouse.example.yaml, the same in
// deploy/gatehouse.site.yaml) against both corpora, through the real policy
// with no lists: what they must block for pupils, and what they must leave open.
describe('the shipped example keywords', () => {
  const config = loadConfig(new URL('../../config/gatehouse.example.yaml', import.meta.url).pathname);
  const policy = new PolicyHandler({ config, matcher: () => ({ lookup: () => 0 }), logger: silentLogger() });
  const decision = (name: string) => policy.explain(name, 'pupils');

  it('are the same in the site config', () => {
    const site = loadConfig(new URL('../../deploy/gatehouse.site.yaml', import.meta.url).pathname);
    const keywords = (c: typeof config) => Object.fromEntries(c.categories.filter((k) => k.keywords.length).map((k) => [k.id, k.keywords]));
    expect(keywords(site)).toEqual(keywords(config));
  });

  it.each<[string, string]>([
    ['freeporn-videos.example', 'adult'],
    ['freepornvideos.example', 'adult'],
    ['hot-porn.example', 'adult'],
    ['gayporn.example', 'adult'], // "*porn"
    ['pornhub.example', 'adult'],
    ['p0rnhub.example', 'adult'],
    ['xxx-videos.example', 'adult'],
    ['xxxvideos.example', 'adult'],
    ['hentaihub.example', 'adult'],
    ['suicide-methods.example', 'self-harm'],
    ['selfharm-forum.example', 'self-harm'],
    ['onlinecasino.example', 'gambling'],
    ['casinos.example', 'gambling'], // "casino*"
    ['casino-bonus.example', 'gambling'],
    ['livecasino.example', 'gambling'],
    ['bestbetting.example', 'gambling'],
    ['c4sino.example', 'gambling'],
  ])('block %s (%s)', (name, category) => {
    expect(decision(name)).toMatchObject({ blocked: true, reason: 'keyword', category });
  });

  it.each([
    ['essex.ac.uk'],
    ['scunthorpe.gov.uk'],
    ['therapist.example'],
    ['cocktail-recipes.example'],
    ['cheapornaments.example'],
    ['sporno.example'],
    ['sex-education.example'], // relationships and sex education: no "sex" keyword
    ['expertsexchange.example'],
    // Help services, which the keywords would otherwise match.
    ['selfharm.co.uk'],
    ['www.samaritans.org'],
    ['papyrus-uk.org'],
    ['www.begambleaware.org'],
  ])('leave %s open', (name) => {
    expect(decision(name)).toMatchObject({ blocked: false });
  });
});
