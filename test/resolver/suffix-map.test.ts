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
});
