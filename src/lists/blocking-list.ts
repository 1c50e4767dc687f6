// Which list of a category blocks a name: the query log's "why" for each
// list-based block (resolver/observers.ts). The matcher's explain() walks
// every suffix of the name and builds objects for each list that decides it,
// about 1 µs a blocked query when profiled; a pupil's device asks the same
// blocked names again and again, so the answer is memoised per category and
// name, as resolver/name-facts.ts memoises the categories. It depends on the
// matcher alone, and the memo is thrown away whole when the lists manager
// replaces the matcher (each rebuild).
import { INTERNATIONAL_NAME, asciiSkeleton, nameKind } from './fold.js';
import type { DomainMatcher } from './matcher.js';
import { PairMemo } from '../util/pair-memo.js';

/** Names remembered, over every category, before the memo starts again (bounded memory). */
const MEMO_LIMIT = 32_768;

export class BlockingListFinder {
  /** Category, then name: the list id, or null when no list of the category blocks the name. */
  private readonly memo = new PairMemo<string | null>(MEMO_LIMIT);
  private matcher: DomainMatcher | undefined;

  constructor(private readonly currentMatcher: () => DomainMatcher) {}

  /** The id of the list of `category` that blocks `name` (or its IDN look-alike's skeleton); undefined if none. */
  find(name: string, category: string): string | undefined {
    const matcher = this.currentMatcher();
    if (matcher !== this.matcher) {
      this.matcher = matcher;
      this.memo.clear();
    }
    let id = this.memo.get(category, name);
    if (id === undefined) id = this.memo.set(category, name, blockingList(matcher, name, category) ?? null); // null: remembered as none
    return id ?? undefined;
  }
}

function blockingList(matcher: DomainMatcher, name: string, category: string): string | undefined {
  const find = (n: string) => matcher.explain(n).find((e) => e.effect === 'block' && e.category === category)?.listId;
  const found = find(name);
  if (found !== undefined || nameKind(name) !== INTERNATIONAL_NAME) return found;
  const skeleton = asciiSkeleton(name);
  return skeleton !== null && skeleton !== name ? find(skeleton) : undefined;
}
