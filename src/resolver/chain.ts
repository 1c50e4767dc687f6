// The query path, read top to bottom. Assembled once at start-up (and again on
// SIGHUP); each position says why it sits there.
import type { Answer, Handler, Next, Query } from './types.js';

export interface ChainParts {
  /** 1. identify: client address → group. Everything after depends on the group. */
  identify: Handler;
  /** 2. policy: block, allow or rewrite for the group, before any cache or network
   *  work, so a blocked name never reaches an upstream. It also inspects the
   *  CNAME chain of answers coming back. */
  policy?: Handler;
  /** 3. cache: answers shared by every group (policy already decided), so one
   *  cache serves all; misses, prefetches and stale answers are decided here. */
  cache: Handler;
  /** 3b. rebinding: strips private addresses from upstream answers for public
   *  names. Below the cache, so it sees only upstream answers and the cache
   *  keeps them filtered (a hit costs nothing); block answers never pass here. */
  rebinding?: Handler;
  /** 4. forward: the internet links, in order, with failover. */
  forward: Handler;
}

export function buildChain(parts: ChainParts): Next {
  const handlers = [parts.identify, parts.policy, parts.cache, parts.rebinding, parts.forward].filter((h): h is Handler => h !== undefined);
  let next: Next = () => {
    throw new Error('the chain ended without an answer');
  };
  for (let i = handlers.length - 1; i >= 0; i--) {
    const handler = handlers[i];
    const after = next;
    next = (q: Query): Answer | Promise<Answer> => handler.resolve(q, after);
  }
  return next;
}
