// The policy compiled from a config: category masks per group, schedules,
// keyword rules, safe search and the block answers. Built once per config (and
// exceptions once per change) so a query costs a few ANDs and map lookups.
// Every group also has an unfiltered form, used while a temporary change
// switches filtering off for the group, or for a client's network or person:
// it blocks the illegal categories (and their keywords) and nothing else.
import type { Config, GroupConfig } from '../config.js';
import { KeywordMatcher } from '../lists/keywords.js';
import { AnswerBuilder } from './block-answer.js';
import { BlockTexts } from './block-texts.js';
import { CategoryTable } from './categories.js';
import { helpServiceDomains } from './help-services.js';
import { SafeSearchRules } from './safe-search.js';
import { Schedules } from './schedules.js';
import type { SuffixMap } from './suffix-map.js';
import type { Group } from './types.js';

export interface GroupPolicy {
  name: string;
  /** Categories blocked at all times, the illegal ones included. */
  block: number;
  /** Categories only some windows block (and `block` does not). */
  scheduled: number;
  schedules: Schedules;
  /** Categories with keywords that this group blocks at some time. */
  keywords: number;
  /** Null when the group has no safe search. */
  safeSearch: SafeSearchRules | null;
  /**
   * The help services (HELP_SERVICE) and the group's exceptions (EXCEPTION_DENY,
   * EXCEPTION_ALLOW) in one map, so a query walks its name once for all of them.
   * Built by the policy's applyExceptions; null until then. An unfiltered group
   * has the help services only.
   */
  exceptions: SuffixMap | null;
  /** The unfiltered form: illegal categories only. */
  unfiltered: boolean;
}

export interface StateOptions {
  /** Groups whose filtering is switched off as a whole for now. */
  unfilteredGroups?: readonly string[];
}

export class PolicyState {
  readonly categories: CategoryTable;
  readonly keywords: KeywordMatcher;
  /** Help and support services: allowed whatever the lists, keywords or exceptions say (not the illegal lists). */
  readonly helpDomains: readonly string[];
  readonly answers: AnswerBuilder;
  readonly texts: BlockTexts;
  readonly groups: readonly GroupPolicy[];
  /** Each group's unfiltered form, in the same order. */
  readonly unfilteredGroups: readonly GroupPolicy[];
  readonly udpSize: number;
  private readonly byName: ReadonlyMap<string, GroupPolicy>;
  private readonly offByName: ReadonlyMap<string, GroupPolicy>;
  private readonly fallback: GroupPolicy;
  private readonly offFallback: GroupPolicy;

  /** Throws (with the group or keyword named) on what the config schema cannot check. */
  constructor(config: Config, options: StateOptions = {}) {
    this.categories = new CategoryTable(config.categories);
    this.keywords = new KeywordMatcher(config.categories.map((c) => c.keywords));
    this.helpDomains = helpServiceDomains(config.helpServices);
    this.answers = new AnswerBuilder(config.dns);
    this.texts = new BlockTexts(this.categories);
    this.udpSize = config.dns.udpSize;
    const off = new Set(options.unfilteredGroups ?? []);
    this.unfilteredGroups = config.groups.map((g) => this.compileUnfiltered(g));
    this.groups = config.groups.map((g, i) => (off.has(g.name) ? this.unfilteredGroups[i] : this.compileGroup(g)));
    this.byName = new Map(this.groups.map((g) => [g.name, g]));
    this.offByName = new Map(this.unfilteredGroups.map((g) => [g.name, g]));
    const fallbackIndex = Math.max(
      config.groups.findIndex((g) => g.default),
      0,
    );
    this.fallback = this.groups[fallbackIndex];
    this.offFallback = this.unfilteredGroups[fallbackIndex];
  }

  /** A group with filtering off: the illegal categories, their keywords, nothing else (no exceptions, safe search or schedules). */
  private compileUnfiltered(g: GroupConfig): GroupPolicy {
    const block = this.categories.illegalMask;
    return {
      name: g.name,
      block,
      scheduled: 0,
      schedules: new Schedules([], () => 0),
      keywords: this.keywords.mask & block,
      safeSearch: null,
      exceptions: null,
      unfiltered: true,
    };
  }

  private compileGroup(g: GroupConfig): GroupPolicy {
    const { categories } = this;
    try {
      const block = categories.maskOf(g.block) | categories.illegalMask;
      const schedules = new Schedules(g.schedules, (ids) => categories.maskOf(ids));
      const scheduled = schedules.mask & ~block;
      const safeSearch = new SafeSearchRules(g.safeSearch, this.answers.blockTtl);
      return {
        name: g.name,
        block,
        scheduled,
        schedules,
        keywords: this.keywords.mask & (block | scheduled),
        safeSearch: safeSearch.enabled ? safeSearch : null,
        exceptions: null,
        unfiltered: false,
      };
    } catch (err) {
      throw new Error(`group "${g.name}": ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * The policy for a client's group. Identify numbers groups in config order,
   * so the index usually hits; the name check guards a stale index after a
   * reload, and an unknown group gets the default group's policy.
   */
  groupFor(group: Group): GroupPolicy {
    if (group.unfiltered === true) {
      const off = this.unfilteredGroups[group.index];
      return off !== undefined && off.name === group.name ? off : (this.offByName.get(group.name) ?? this.offFallback);
    }
    const byIndex = this.groups[group.index];
    if (byIndex !== undefined && byIndex.name === group.name) return byIndex;
    return this.byName.get(group.name) ?? this.fallback;
  }
}
