// Builds a real matcher from list texts in memory, through the real parsers
// and builder (the same path the worker takes, minus the files).
import { PARSERS, type ListFormat } from '../../src/lists/formats/index.js';
import { MatcherBuilder } from '../../src/lists/builder.js';
import { linesOf } from '../../src/lists/lines.js';
import { CompactMatcher } from '../../src/lists/matcher.js';

export interface TextList {
  id: string;
  category: string;
  format: ListFormat;
  text: string;
}

export const CATEGORIES = ['adult', 'gambling', 'vpn', 'malware', 'social'];

export function bitOf(category: string): number {
  return (1 << CATEGORIES.indexOf(category)) >>> 0;
}

export function matcherFrom(lists: TextList[]): CompactMatcher {
  const meta = lists.map((l) => ({ id: l.id, category: l.category, bit: CATEGORIES.indexOf(l.category) }));
  const builder = new MatcherBuilder(meta.map((m) => m.bit));
  lists.forEach((l, i) => {
    for (const e of PARSERS[l.format](linesOf(l.text))) if (e.type === 'entry') builder.add(i, e.name, e.flags);
  });
  return new CompactMatcher(builder.build(), meta);
}
