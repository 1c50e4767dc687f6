import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
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
