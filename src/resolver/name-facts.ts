// What the category lists and the keyword rules say about one name, memoised
// per name. Both depend on the name alone (not on the group, the clock or the
// exceptions, which the policy applies after), and a school asks the same few
// thousand names again and again: profiled under a cache-hit load, the list
// look-up and the keyword scan were the policy's largest costs (about 0.9 µs
// of CPU a query here), a memo hit is one Map look-up. As the cache, it holds
// the answer of a pure function and is thrown away whole when what it was
// computed from changes: a new matcher (the lists manager replaces it whole on
// each rebuild) or a new policy state (config reload: new keyword rules).
import { INTERNATIONAL_NAME, asciiSkeleton, nameKind } from '../lists/fold.js';
import type { KeywordMatcher } from '../lists/keywords.js';
import type { DomainMatcher } from '../lists/matcher.js';

/** Category bits (bit i = config.categories[i]) of a name. */
export interface NameFacts {
  /** From the lists, with an IDN look-alike's skeleton counted as the name. */
  readonly lists: number;
  /** From the keyword rules. */
  readonly keywords: number;
}

/** Names remembered before the memo starts again (bounded memory: ~100 bytes a name). */
const MEMO_LIMIT = 32_768;

export class NameFactsMemo {
  private memo = new Map<string, NameFacts>();
  private matcher: Pick<DomainMatcher, 'lookup'> | undefined;
  private keywords: KeywordMatcher | undefined;

  /** The facts of `name` under this matcher and these keyword rules. */
  of(name: string, matcher: Pick<DomainMatcher, 'lookup'>, keywords: KeywordMatcher): NameFacts {
    if (matcher !== this.matcher || keywords !== this.keywords) {
      this.matcher = matcher;
      this.keywords = keywords;
      this.memo = new Map();
    }
    let facts = this.memo.get(name);
    if (facts === undefined) {
      const kind = nameKind(name);
      facts = { lists: listMask(matcher, name, kind), keywords: keywords.match(name, kind) };
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(name, facts);
    }
    return facts;
  }
}

/** The name's categories from the lists. An IDN look-alike of a listed name ("gооgle" with Cyrillic о) counts as the name. */
function listMask(matcher: Pick<DomainMatcher, 'lookup'>, name: string, kind: number): number {
  const mask = matcher.lookup(name);
  if (kind !== INTERNATIONAL_NAME) return mask;
  const folded = asciiSkeleton(name);
  return folded !== null && folded !== name ? mask | matcher.lookup(folded) : mask;
}
