// The categories of the config as bits: bit i is config.categories[i], the
// same numbering the list matcher uses for its masks. Masks make the per-query
// checks one AND each.
import type { CategoryConfig } from '../config.js';

const SEVERITY_RANK = { none: 0, low: 1, medium: 2, high: 3, critical: 4 } as const;

export class CategoryTable {
  readonly ids: readonly string[];
  readonly names: readonly string[];
  /** IWF, CTIRU and the like: blocked for everyone, never excepted. */
  readonly illegalMask: number;
  /** VPN, proxy and DoH categories: their blocks are flagged for the alerts. */
  readonly circumventionMask: number;
  private readonly rank: readonly number[];
  private readonly bitOf: ReadonlyMap<string, number>;

  constructor(categories: readonly CategoryConfig[]) {
    if (categories.length > 32) throw new Error('at most 32 categories are supported');
    this.ids = categories.map((c) => c.id);
    this.names = categories.map((c) => c.name);
    this.rank = categories.map((c) => SEVERITY_RANK[c.severity]);
    this.bitOf = new Map(categories.map((c, i) => [c.id, i]));
    this.illegalMask = maskWhere(categories, (c) => c.illegal);
    this.circumventionMask = maskWhere(categories, (c) => c.circumvention);
  }

  /** The mask of the named categories; unknown ids are an error (the config checks them first). */
  maskOf(ids: readonly string[]): number {
    let mask = 0;
    for (const id of ids) {
      const bit = this.bitOf.get(id);
      if (bit === undefined) throw new Error(`unknown category "${id}"`);
      mask |= 1 << bit;
    }
    return mask >>> 0;
  }

  /** The category a block is reported under: the most severe of `mask`, then the first in config order. */
  pick(mask: number): number {
    let best = -1;
    for (let bit = 0; bit < this.ids.length; bit++) {
      if ((mask & (1 << bit)) !== 0 && (best < 0 || this.rank[bit] > this.rank[best])) best = bit;
    }
    return best;
  }

  isIllegal(bit: number): boolean {
    return (this.illegalMask & (1 << bit)) !== 0;
  }
}

function maskWhere(categories: readonly CategoryConfig[], test: (c: CategoryConfig) => boolean): number {
  let mask = 0;
  categories.forEach((c, i) => {
    if (test(c)) mask |= 1 << i;
  });
  return mask >>> 0;
}

/**
 * Categories the service itself gives decisions that no list makes: they are
 * not bits (no list feeds them), only ids for the query log, the dashboard and
 * /metrics, so that blocked lookups always add up by category. Config
 * categories may not use these ids.
 */
export const CANARY_CATEGORY = 'circumvention-canary';
export const HELP_SERVICES_CATEGORY = 'help-services';
export const BUILT_IN_CATEGORIES: readonly { id: string; name: string }[] = [
  { id: CANARY_CATEGORY, name: 'Browser DoH canary / Private Relay' },
  { id: HELP_SERVICES_CATEGORY, name: 'Help and support services' },
];

/** Every category id a decision can carry, in the order the query log numbers them: the config's, then the built-in ones. */
export function loggedCategoryIds(categories: readonly { id: string }[]): string[] {
  return [...categories.map((c) => c.id), ...BUILT_IN_CATEGORIES.map((c) => c.id)];
}
