// Whether a name is on an illegal list (IWF, CTIRU), for a process that is not
// the running service (the command line importing a policy file): the illegal
// categories' lists are built from their files and last good copies, as the
// service builds them, so an exception for such a name is refused before it
// is written anywhere. Look-alike spellings count, as they do for queries.
import { dirname } from 'node:path';
import type { Config } from '../config.js';
import { buildMatcher, type BuildListInput } from './build-job.js';
import { asciiSkeleton, INTERNATIONAL_NAME, nameKind } from './fold.js';
import { CompactMatcher } from './matcher.js';
import { LastGoodStore } from './store.js';

export interface IllegalCheck {
  isIllegal(name: string): boolean;
  /** Illegal lists with no copy to read: names on them cannot be recognised. */
  missing: string[];
}

export function illegalCheck(config: Config): IllegalCheck {
  const bits = new Map(config.categories.map((c, i) => [c.id, i]));
  const illegal = config.categories.filter((c) => c.illegal).map((c) => c.id);
  const store = new LastGoodStore(dirname(config.store.path));
  const lists = config.lists.filter((l) => illegal.includes(l.category));
  const inputs: BuildListInput[] = lists.map((l) => ({
    id: l.id,
    category: l.category,
    bit: bits.get(l.category)!,
    format: l.format,
    ...(l.source.startsWith('file:') ? { candidate: l.source.slice(5) } : {}),
    ...(store.has(l.id) ? { fallback: store.path(l.id) } : {}),
  }));
  const built = buildMatcher(inputs);
  const matcher = new CompactMatcher(
    built.data,
    lists.map((l) => ({ id: l.id, category: l.category, bit: bits.get(l.category)! })),
  );
  const mask = illegal.reduce((m, id) => m | (1 << bits.get(id)!), 0);
  const lookup = (name: string) => {
    const found = matcher.lookup(name);
    if (nameKind(name) !== INTERNATIONAL_NAME) return found;
    const folded = asciiSkeleton(name);
    return folded !== null && folded !== name ? found | matcher.lookup(folded) : found;
  };
  return {
    isIllegal: (name) => (lookup(name.toLowerCase()) & mask) !== 0,
    missing: built.lists.filter((l) => l.used === 'none').map((l) => l.id),
  };
}
