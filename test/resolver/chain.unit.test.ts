// The chain alone, with stub handlers: order, short-circuits, and a sync
// fast path that stays sync (no promise for a cache hit or a block).
import { describe, expect, it } from 'vitest';
import { buildChain } from '../../src/resolver/chain.js';
import type { Answer, Handler, Query } from '../../src/resolver/types.js';
import { labels, wireQuery } from './wire-fixtures.js';

const answer = (source: Answer['source']): Answer => ({ wire: Buffer.alloc(12), rcode: 0, source });

/** A handler that records its name and passes on, or answers (sync or async) itself. */
function step(name: string, trail: string[], answers?: 'sync' | 'async'): Handler {
  return {
    resolve(q, next) {
      trail.push(name);
      if (answers === 'sync') return answer('cache');
      if (answers === 'async') return Promise.resolve(answer('upstream'));
      return next(q);
    },
  };
}

describe('buildChain', () => {
  const q: Query = wireQuery({ labels: labels('www.school.test') });

  // [the handler that answers, the optional links configured, the handlers run, answered synchronously]
  it.each<['policy' | 'cache' | 'forward', ('policy' | 'rebinding')[], string[], boolean]>([
    ['cache', ['policy', 'rebinding'], ['identify', 'policy', 'cache'], true], // a hit
    ['policy', ['policy', 'rebinding'], ['identify', 'policy'], true], // a block
    ['forward', ['policy', 'rebinding'], ['identify', 'policy', 'cache', 'rebinding', 'forward'], false], // a miss
    ['forward', [], ['identify', 'cache', 'forward'], false], // neither policy nor rebinding protection
  ])('runs identify → policy → cache → rebinding → forward until %s answers (with %j)', async (who, optional, expected, sync) => {
    const trail: string[] = [];
    const answers = (name: string) => (name === who ? (name === 'forward' ? 'async' : 'sync') : undefined);
    const chain = buildChain({
      identify: step('identify', trail),
      policy: optional.includes('policy') ? step('policy', trail, answers('policy')) : undefined,
      cache: step('cache', trail, answers('cache')),
      rebinding: optional.includes('rebinding') ? step('rebinding', trail) : undefined,
      forward: step('forward', trail, 'async'),
    });
    const result = chain(q);
    expect(result instanceof Promise).toBe(!sync);
    await result;
    expect(trail).toEqual(expected);
  });

  it('lets a handler error through to the server, which answers SERVFAIL', () => {
    const chain = buildChain({
      identify: step('identify', []),
      cache: {
        resolve() {
          throw new Error('boom');
        },
      },
      forward: step('forward', []),
    });
    expect(() => chain(q)).toThrow('boom');
  });
});
