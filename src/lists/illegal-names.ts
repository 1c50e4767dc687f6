// Whether the lists in use now put a name in an illegal category, for a thread
// that has no matcher of its own: the store's reader thread, which must leave
// such names out of every name search even when they were logged before they
// were listed (store/search.ts). The main thread cuts the matcher down to the
// illegal categories' entries after every list swap (matcher.ts restrictedTo)
// and sends the arrays; this turns them back into a test. As the policy does,
// an international name's look-alike skeleton is asked too.
import { INTERNATIONAL_NAME, asciiSkeleton, nameKind } from './fold.js';
import { CompactMatcher, type DomainMatcher, type MatcherData } from './matcher.js';

/** The illegal categories' part of the matcher in use, or null when no list is loaded. */
export function illegalPart(matcher: DomainMatcher, illegalMask: number): MatcherData | null {
  return matcher instanceof CompactMatcher ? matcher.restrictedTo(illegalMask) : null;
}

export function illegalNameTest(data: MatcherData): (name: string) => boolean {
  const matcher = new CompactMatcher(data, []);
  return (name) => {
    if (matcher.lookup(name) !== 0) return true;
    if (nameKind(name) !== INTERNATIONAL_NAME) return false;
    const skeleton = asciiSkeleton(name);
    return skeleton !== null && skeleton !== name && matcher.lookup(skeleton) !== 0;
  };
}
