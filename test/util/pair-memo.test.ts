import { describe, expect, it } from 'vitest';
import { PairMemo } from '../../src/util/pair-memo.js';

describe('PairMemo', () => {
  it('keeps pairs apart that one joined key could confuse', () => {
    const memo = new PairMemo<number>(100);
    memo.set('a\0b', 'c', 1);
    memo.set('a', 'b\0c', 2);
    expect(memo.get('a\0b', 'c')).toBe(1);
    expect(memo.get('a', 'b\0c')).toBe(2);
    expect(memo.get('a', 'c')).toBeUndefined();
  });

  it('starts again past its limit', () => {
    const memo = new PairMemo<number>(3);
    for (let i = 0; i < 3; i++) expect(memo.set('x', `y${i}`, i)).toBe(i);
    expect(memo.get('x', 'y2')).toBe(2);
    memo.set('x', 'y3', 3); // the fourth: the first three are forgotten
    expect([0, 1, 2, 3].map((i) => memo.get('x', `y${i}`))).toEqual([undefined, undefined, undefined, 3]);
  });

  it('forgets everything on clear()', () => {
    const memo = new PairMemo<string>(10);
    memo.set('a', 'b', 'v');
    memo.clear();
    expect(memo.get('a', 'b')).toBeUndefined();
  });
});
