// Which severity and threshold apply to a lookup, by group and category. The
// most specific rule wins (group+category, then category, then group, then
// the defaults); answers are cached per pair so the hot path does two Map gets.
import { PairMemo } from '../util/pair-memo.js';
import type { AlertsConfig, Severity, Threshold } from './config.js';

export interface Rule {
  /** Replaces the category's severity; undefined keeps it. */
  severity: Severity | undefined;
  threshold: Threshold;
  /** The threshold window in ms, precomputed. */
  withinMs: number;
}

export class Rules {
  /** Bounded: groups and categories come from the config, so the pairs are few. */
  private readonly cache = new PairMemo<Rule>(10_000);

  constructor(private readonly config: Pick<AlertsConfig, 'rules' | 'threshold'>) {}

  for(group: string, category: string): Rule {
    return this.cache.get(group, category) ?? this.cache.set(group, category, this.resolve(group, category));
  }

  private resolve(group: string, category: string): Rule {
    const rules = this.config.rules;
    const tiers = [
      rules.filter((r) => r.group === group && r.category === category),
      rules.filter((r) => r.group === undefined && r.category === category),
      rules.filter((r) => r.group === group && r.category === undefined),
    ];
    let severity: Severity | undefined;
    let threshold: Threshold | undefined;
    // Each field is taken from the most specific rule that sets it.
    for (const tier of tiers) {
      for (const r of tier) {
        severity ??= r.severity;
        threshold ??= r.threshold;
      }
    }
    threshold ??= this.config.threshold;
    return { severity, threshold, withinMs: threshold.withinMinutes * 60_000 };
  }
}
