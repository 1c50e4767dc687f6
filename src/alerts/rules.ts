// Which severity and threshold apply to a lookup, by group and category. The
// most specific rule wins (group+category, then category, then group, then
// the defaults); answers are cached per pair so the hot path does two Map gets.
import type { AlertsConfig, Severity, Threshold } from './config.js';

export interface Rule {
  /** Replaces the category's severity; undefined keeps it. */
  severity: Severity | undefined;
  threshold: Threshold;
  /** The threshold window in ms, precomputed. */
  withinMs: number;
}

export class Rules {
  /** Group, then category (no key joined per lookup: two gets of strings whose hashes V8 keeps). */
  private readonly cache = new Map<string, Map<string, Rule>>();
  private pairs = 0;

  constructor(private readonly config: Pick<AlertsConfig, 'rules' | 'threshold'>) {}

  for(group: string, category: string): Rule {
    let byCategory = this.cache.get(group);
    let rule = byCategory?.get(category);
    if (rule === undefined) {
      rule = this.resolve(group, category);
      // Bounded: groups and categories come from the config, so the pairs are few.
      if (this.pairs < 10_000) {
        if (byCategory === undefined) this.cache.set(group, (byCategory = new Map()));
        byCategory.set(category, rule);
        this.pairs++;
      }
    }
    return rule;
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
