import { describe, expect, it } from 'vitest';
import { BlockingListFinder } from '../../src/lists/blocking-list.js';
import type { DomainMatcher } from '../../src/lists/matcher.js';
import { matcherFrom } from './build-helpers.js';

const lists = () =>
  matcherFrom([
    { id: 'ut1-gambling', category: 'gambling', format: 'domains', text: 'casino.example\nboth.example\n' },
    { id: 'ut1-adult', category: 'adult', format: 'domains', text: 'porn.example\nboth.example\ngoogle.example\n' },
  ]);

/** A real matcher whose explain() calls are counted. */
function counted(m: DomainMatcher): DomainMatcher & { explained: number } {
  const c = { explained: 0, lookup: (n: string) => m.lookup(n), size: m.size, explain: (n: string) => (c.explained++, m.explain(n)) };
  return c;
}

describe('BlockingListFinder', () => {
  it('names the list of the blocking category, for subdomains too, and none for another category', () => {
    const finder = new BlockingListFinder(() => lists());
    expect(finder.find('casino.example', 'gambling')).toBe('ut1-gambling');
    expect(finder.find('www.casino.example', 'gambling')).toBe('ut1-gambling');
    expect(finder.find('both.example', 'adult')).toBe('ut1-adult');
    expect(finder.find('both.example', 'gambling')).toBe('ut1-gambling');
    expect(finder.find('casino.example', 'adult')).toBeUndefined();
    expect(finder.find('nothing.example', 'gambling')).toBeUndefined();
  });

  it('finds an IDN look-alike by its skeleton', () => {
    const finder = new BlockingListFinder(() => lists());
    expect(finder.find('gооgle.example', 'adult')).toBe('ut1-adult'); // Cyrillic о
  });

  it('asks the matcher once per name and category, found or not', () => {
    const m = counted(lists());
    const finder = new BlockingListFinder(() => m);
    for (let i = 0; i < 5; i++) {
      expect(finder.find('casino.example', 'gambling')).toBe('ut1-gambling');
      expect(finder.find('casino.example', 'adult')).toBeUndefined();
    }
    expect(m.explained).toBe(2);
  });

  it('forgets everything when the lists are rebuilt (a new matcher)', () => {
    let m: DomainMatcher = lists();
    const finder = new BlockingListFinder(() => m);
    expect(finder.find('casino.example', 'gambling')).toBe('ut1-gambling');
    m = matcherFrom([{ id: 'other-gambling', category: 'gambling', format: 'domains', text: 'casino.example\n' }]);
    expect(finder.find('casino.example', 'gambling')).toBe('other-gambling');
    m = matcherFrom([{ id: 'other-gambling', category: 'gambling', format: 'domains', text: 'elsewhere.example\n' }]);
    expect(finder.find('casino.example', 'gambling')).toBeUndefined();
  });

  it('starts again past its limit, and still answers right', () => {
    const m = counted(lists());
    const finder = new BlockingListFinder(() => m);
    for (let i = 0; i < 40_000; i++) finder.find(`n${i}.casino.example`, 'gambling');
    const before = m.explained;
    expect(finder.find('n1.casino.example', 'gambling')).toBe('ut1-gambling'); // forgotten at the restart: asked again
    expect(m.explained).toBe(before + 1);
    expect(finder.find('n39999.casino.example', 'gambling')).toBe('ut1-gambling'); // remembered
    expect(m.explained).toBe(before + 1);
  });
});
