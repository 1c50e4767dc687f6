import { describe, expect, it } from 'vitest';
import { SuffixMap } from '../../src/resolver/suffix-map.js';

describe('SuffixMap', () => {
  const map = new SuffixMap();
  map.add('example.com', 1);
  map.add('www.example.com', 2);
  map.add('org', 4);
  map.add('example.com', 8);

  it.each<[string, number]>([
    ['example.com', 1 | 8],
    ['a.b.example.com', 1 | 8],
    ['www.example.com', 1 | 2 | 8],
    ['x.www.example.com', 1 | 2 | 8],
    ['ample.com', 0],
    ['myexample.com', 0],
    ['example.com.evil', 0],
    ['com', 0],
    ['anything.org', 4],
    ['', 0],
  ])('%j → %i', (name, flags) => {
    expect(map.lookup(name)).toBe(flags);
  });

  it('counts distinct domains and answers 0 when empty', () => {
    expect(map.size).toBe(3);
    expect(new SuffixMap().lookup('example.com')).toBe(0);
  });

  it('grows its table and still finds every domain, short and long', () => {
    const big = new SuffixMap();
    for (let i = 0; i < 2000; i++) big.add(`site${i}.example${i % 7}.org`, 1 << (i % 3));
    big.add('uk', 8);
    big.add('a-rather-long-domain-name-that-is-the-longest.example.net', 16);
    expect(big.size).toBe(2002);
    for (let i = 0; i < 2000; i += 97) expect(big.lookup(`www.site${i}.example${i % 7}.org`)).toBe(1 << (i % 3));
    expect(big.lookup('site1.example2.org')).toBe(0);
    expect(big.lookup('school.uk')).toBe(8);
    expect(big.lookup('x.a-rather-long-domain-name-that-is-the-longest.example.net')).toBe(16);
    expect(big.lookup('rather-long-domain-name-that-is-the-longest.example.net')).toBe(0);
  });
});
