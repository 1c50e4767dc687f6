import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KeywordMatcher } from '../../src/lists/keywords.js';
import { NameFactsMemo } from '../../src/resolver/name-facts.js';
import { decide, makePolicy } from './policy-fixtures.js';
import { PolicyHandler } from '../../src/resolver/policy.js';
import { silentLogger } from '../../src/log.js';

/** A matcher that counts its look-ups and answers from a table. */
function countingMatcher(masks: Record<string, number>) {
  const m = { calls: 0, lookup: (name: string) => (m.calls++, masks[name] ?? 0) };
  return m;
}

describe('NameFactsMemo', () => {
  const keywords = new KeywordMatcher([['casino*']]);

  it('looks a name up once, then answers from memory', () => {
    const memo = new NameFactsMemo();
    const matcher = countingMatcher({ 'bet.example': 4 });
    expect(memo.of('bet.example', matcher, keywords)).toEqual({ lists: 4, keywords: 0 });
    expect(memo.of('bet.example', matcher, keywords)).toEqual({ lists: 4, keywords: 0 });
    expect(memo.of('casinoland.example', matcher, keywords)).toEqual({ lists: 0, keywords: 1 });
    expect(matcher.calls).toBe(2);
  });

  it('starts again with a new matcher or new keyword rules', () => {
    const memo = new NameFactsMemo();
    expect(memo.of('bet.example', countingMatcher({}), keywords).lists).toBe(0);
    expect(memo.of('bet.example', countingMatcher({ 'bet.example': 8 }), keywords).lists).toBe(8);
    const other = new KeywordMatcher([['bet*']]);
    expect(memo.of('bet.example', countingMatcher({}), other)).toEqual({ lists: 0, keywords: 1 });
  });

  it('counts the skeleton of an IDN look-alike as the name', () => {
    const memo = new NameFactsMemo();
    const lookalike = domainToASCII('gооgle.example'); // Cyrillic о
    expect(memo.of(lookalike, countingMatcher({ 'google.example': 2 }), keywords).lists).toBe(2);
  });
});

describe('PolicyHandler with the memo', () => {
  it('applies a rebuilt matcher to the very next query', async () => {
    const { config } = makePolicy();
    let current = countingMatcher({});
    const policy = new PolicyHandler({ config, matcher: () => current, logger: silentLogger() });
    expect(await decide(policy, 'newly-listed.example', { group: 'pupils' })).toBe('pass');
    const gambling = config.categories.findIndex((c) => c.id === 'gambling');
    current = countingMatcher({ 'newly-listed.example': 1 << gambling });
    expect(await decide(policy, 'newly-listed.example', { group: 'pupils' })).toBe('category:gambling');
  });
});
