// The illegal categories' part of a matcher, sent to the store's reader thread
// (lists/illegal-names.ts): it answers exactly what the whole matcher answers
// for those categories, and nothing for the others.
import { describe, expect, it } from 'vitest';
import { illegalNameTest, illegalPart } from '../../src/lists/illegal-names.js';
import { CompactMatcher } from '../../src/lists/matcher.js';
import { bitOf, matcherFrom } from './build-helpers.js';

// "malware" stands in for an illegal category here.
const full = matcherFrom([
  { id: 'a', category: 'adult', format: 'domains', text: 'porn.example\nboth.example\n' },
  { id: 'm', category: 'malware', format: 'domains', text: 'bad.example\nboth.example\n*.sub-only.example\n' },
  { id: 'm-ex', category: 'malware', format: 'adblock', text: '||bad.example^\n@@||ok.bad.example^\n' },
  { id: 'g', category: 'gambling', format: 'domains', text: Array.from({ length: 3000 }, (_, i) => `casino${i}.example`).join('\n') },
]);
const ILLEGAL = bitOf('malware');
const NAMES = [
  'porn.example',
  'both.example',
  'www.both.example',
  'bad.example',
  'x.bad.example',
  'ok.bad.example',
  'sub-only.example',
  'a.sub-only.example',
  'casino7.example',
  'fine.example',
  'xn--bd-0ka.example',
];

describe("the illegal categories' part of the matcher", () => {
  it('looks up as the whole matcher does, cut to those categories', () => {
    const part = illegalPart(full, ILLEGAL)!;
    expect(part.entries.length / 3).toBeLessThan(full.size / 100);
    const small = new CompactMatcher(part, []);
    for (const name of NAMES) expect([name, small.lookup(name)]).toEqual([name, full.lookup(name) & ILLEGAL]);
    const test = illegalNameTest(illegalPart(full, ILLEGAL)!);
    expect(NAMES.filter(test)).toEqual(NAMES.filter((n) => (full.lookup(n) & ILLEGAL) !== 0));
    expect(NAMES.filter(test)).toEqual(
      expect.arrayContaining(['both.example', 'www.both.example', 'bad.example', 'x.bad.example', 'a.sub-only.example']),
    );
    for (const name of ['porn.example', 'casino7.example', 'fine.example', 'sub-only.example']) expect(test(name)).toBe(false);
  });

  it('is empty before any list is loaded', () => {
    expect(illegalPart({ lookup: () => 0, size: 0, explain: () => [] }, ILLEGAL)).toBeNull();
  });
});
