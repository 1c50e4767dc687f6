import { describe, expect, it } from 'vitest';
import { MatcherBuilder } from '../../src/lists/builder.js';
import { BLOCK_TREE } from '../../src/lists/formats/types.js';
import { CompactMatcher, emptyMatcher } from '../../src/lists/matcher.js';
import { bitOf, matcherFrom } from './build-helpers.js';

const adult = bitOf('adult');
const gambling = bitOf('gambling');
const vpn = bitOf('vpn');
const social = bitOf('social');

describe('CompactMatcher semantics', () => {
  const m = matcherFrom([
    { id: 'adult-domains', category: 'adult', format: 'domains', text: 'porn.example\nsub.shared.example\n' },
    {
      id: 'gambling-adblock',
      category: 'gambling',
      format: 'adblock',
      text: '||casino.example^\n@@||ok.casino.example^\n||bet.ok.casino.example^\n||shared.example^\n',
    },
    { id: 'vpn-wildcard', category: 'vpn', format: 'wildcard', text: '*.vpn.example\ndoh.example\n' },
    {
      id: 'social-rpz',
      category: 'social',
      format: 'rpz',
      text: '$ORIGIN rpz.local.\n@ SOA ns. h. 1 1 1 1 1\nchat.example CNAME .\n*.chat.example CNAME .\nopen.chat.example CNAME rpz-passthru.\nexact.example CNAME .\n',
    },
  ]);

  it.each([
    ['porn.example', adult],
    ['www.porn.example', adult],
    ['a.b.c.porn.example', adult],
    ['notporn.example', 0],
    ['porn.example.org', 0],
    ['example', 0],
    ['casino.example', gambling],
    ['www.casino.example', gambling],
    ['ok.casino.example', 0],
    ['www.ok.casino.example', 0],
    ['bet.ok.casino.example', gambling],
    ['x.bet.ok.casino.example', gambling],
    ['vpn.example', 0],
    ['a.vpn.example', vpn],
    ['a.b.vpn.example', vpn],
    ['doh.example', vpn],
    ['x.doh.example', vpn],
    ['shared.example', gambling],
    ['sub.shared.example', gambling | adult],
    ['deep.sub.shared.example', gambling | adult],
    ['chat.example', social],
    ['www.chat.example', social],
    ['open.chat.example', 0],
    ['x.open.chat.example', social],
    ['exact.example', social],
    ['www.exact.example', 0],
    ['', 0],
    ['com', 0],
  ])('%s → %i', (name, bits) => {
    expect(m.lookup(name)).toBe(bits);
  });

  it('counts distinct names', () => {
    expect(m.size).toBe(11);
  });

  it('explains which lists decide a name, by id and category only', () => {
    expect(
      m
        .explain('deep.sub.shared.example')
        .map((e) => e.listId)
        .sort(),
    ).toEqual(['adult-domains', 'gambling-adblock']);
    expect(m.explain('www.ok.casino.example')).toEqual([{ listId: 'gambling-adblock', category: 'gambling', effect: 'exception' }]);
    expect(m.explain('nothing.example')).toEqual([]);
  });
});

describe('exceptions are per list', () => {
  it.each([
    // another list of the same category still blocks: the exception does not lift it
    ['same name', 'casino.example', 'casino.example', gambling],
    ['parent entry', 'casino.example', 'www.casino.example', gambling],
    ['subdomain of both', 'casino.example', 'a.www.casino.example', gambling],
  ])('%s: other list blocks %s, exception for %s', (_label, blocked, excepted, bits) => {
    const m = matcherFrom([
      { id: 'ut1', category: 'gambling', format: 'domains', text: `${blocked}\n` },
      { id: 'ab', category: 'gambling', format: 'adblock', text: `||${excepted}^\n@@||${excepted}^\n` },
    ]);
    expect(m.lookup(excepted)).toBe(bits);
  });

  it('an exception in one category leaves other categories blocked', () => {
    const m = matcherFrom([
      { id: 'adult', category: 'adult', format: 'domains', text: 'mixed.example\n' },
      { id: 'ab', category: 'gambling', format: 'adblock', text: '||mixed.example^\n@@||www.mixed.example^\n' },
    ]);
    expect(m.lookup('mixed.example')).toBe(adult | gambling);
    expect(m.lookup('www.mixed.example')).toBe(adult);
  });

  it('an exception lifts a same-category list that excepts the name itself', () => {
    const m = matcherFrom([
      { id: 'a', category: 'gambling', format: 'adblock', text: '||x.example^\n@@||y.x.example^\n' },
      { id: 'b', category: 'gambling', format: 'adblock', text: '||y.x.example^\n@@||y.x.example^\n' },
    ]);
    expect(m.lookup('x.example')).toBe(gambling);
    expect(m.lookup('y.x.example')).toBe(0);
    expect(m.lookup('z.y.x.example')).toBe(0);
  });
});

describe('edge cases', () => {
  it('ORs categories of every list that holds the same name', () => {
    const m = matcherFrom([
      { id: 'a', category: 'adult', format: 'domains', text: 'both.example\n' },
      { id: 'b', category: 'social', format: 'hosts', text: '0.0.0.0 both.example\n' },
      { id: 'c', category: 'social', format: 'domains', text: 'both.example\nBOTH.example.\n' },
    ]);
    expect(m.lookup('both.example')).toBe(adult | social);
    expect(m.size).toBe(1);
  });

  it('returns category 31 as an unsigned bit', () => {
    const builder = new MatcherBuilder([31, 0]);
    builder.add(0, 'x.example', BLOCK_TREE);
    builder.add(1, 'x.example', BLOCK_TREE);
    const m = new CompactMatcher(builder.build(), [
      { id: 'last', category: 'c31', bit: 31 },
      { id: 'first', category: 'c0', bit: 0 },
    ]);
    expect(m.lookup('www.x.example')).toBe(2 ** 31 + 1);
  });

  it('handles names with more labels than DNS allows', () => {
    const m = matcherFrom([{ id: 'a', category: 'adult', format: 'domains', text: 'deep.example\n' }]);
    expect(m.lookup(`${'a.'.repeat(300)}deep.example`)).toBe(adult);
    expect(m.lookup(`${'.'.repeat(300)}deep.example`)).toBe(adult);
    expect(m.lookup('.'.repeat(300))).toBe(0);
  });

  it('matches nothing when empty', () => {
    const m = matcherFrom([]);
    expect(m.lookup('anything.example')).toBe(0);
    expect(m.size).toBe(0);
    expect(emptyMatcher().lookup('x')).toBe(0);
  });

  it('holds many names that share buckets and a name repeated many times', () => {
    const names = Array.from({ length: 50_000 }, (_, i) => `n${i}.example`);
    const m = matcherFrom([
      { id: 'many', category: 'malware', format: 'domains', text: names.join('\n') },
      { id: 'repeat', category: 'social', format: 'domains', text: 'same.example\n'.repeat(2000) },
    ]);
    expect(m.size).toBe(50_001);
    expect(names.every((n) => m.lookup(n) === bitOf('malware'))).toBe(true);
    expect(names.every((n) => m.lookup('x' + n) === 0)).toBe(true);
    expect(m.lookup('same.example')).toBe(social);
  });
});
