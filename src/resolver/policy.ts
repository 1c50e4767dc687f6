// The policy link of the chain: decides, per client group, whether a name is
// blocked, rewritten (safe search) or resolved. It sits after identify (which
// sets q.client.group) and before the cache, so blocks are never cached and a
// change of policy or exceptions applies to the very next query.
//
// Order of decision, first match wins:
//   1. illegal categories (IWF, CTIRU): every group, no exception, no switch
//   2. help and support services (help-services.ts): allowed, whatever follows
//   3. the group's deny exceptions, 4. its allow exceptions
//   5. categories the group blocks, 6. categories its open schedule windows block
//   7. keyword rules of those categories
//   8. safe search, 9. circumvention canaries
//   10. resolve, then CNAME inspection of the answer with steps 1-7
//
// Help services come before the deny exceptions on purpose: help must never
// be blocked, and a deny exception is one click in the admin UI (and covers
// every subdomain), so a broad or mistaken one must not cut a pupil off from
// Childline. A school that must stop a built-in entry (its domain changed
// hands) takes it out in the config file (`helpServices.exclude`), which is
// reviewed and change-logged like any other filtering change.
import type { Config } from '../config.js';
import type { DomainMatcher } from '../lists/matcher.js';
import { normaliseDomain } from '../lists/names.js';
import type { Logger } from '../log.js';
import { canaryFor } from './circumvention.js';
import { EXCEPTION_ALLOW, EXCEPTION_DENY, compileExceptions, type Exception } from './exceptions.js';
import { HELP_SERVICES_CATEGORY } from './categories.js';
import { HELP_SERVICE } from './help-services.js';
import { SuffixMap } from './suffix-map.js';
import { isPromise } from './maybe-async.js';
import { NameFactsMemo } from './name-facts.js';
import { PolicyState, type GroupPolicy, type StateOptions } from './policy-state.js';
import { safeSearchAnswer } from './safe-search.js';
import type { Answer, Decision, Handler, Next, Query } from './types.js';

export type { Exception } from './exceptions.js';

/** What the policy needs of the category lists (src/lists/matcher.ts): bit i = config.categories[i]. */
export type PolicyMatcher = Pick<DomainMatcher, 'lookup'>;

export interface PolicyOptions {
  config: Config;
  /** The current matcher; the lists manager swaps it after a rebuild. */
  matcher: () => PolicyMatcher;
  /** Clock for schedules; tests inject one. */
  now?: () => Date;
  logger: Logger;
}

/** The policy's view of one name for one group (see explain()). */
export interface PolicyExplanation {
  group: string;
  /** Blocked now (by a list, a schedule, a keyword rule or a deny exception). */
  blocked: boolean;
  /** A help and support service: never blocked but for the illegal lists. */
  helpService?: boolean;
  reason?: string;
  /** Category id and display name; absent for a deny exception. */
  category?: string;
  categoryName?: string;
  /** Illegal content (IWF, CTIRU): show only the generic wording. */
  illegal: boolean;
}

type BlockReason = 'illegal' | 'deny-exception' | 'category' | 'schedule' | 'keyword';

/** A block found by judge(): the reason, the categories that block (0 for none) and the one reported (-1 for none). */
interface Verdict {
  reason: BlockReason;
  mask: number;
  bit: number;
}

/** judge() result for a name an allow exception covers. */
const EXCEPTED = Symbol('allow-exception');
/** judge() result for a help and support service. */
const HELP = Symbol('help-service');

// Shared by every answer they are on: frozen so no reader can change them for the others.
const ALLOWED_BY_EXCEPTION: Decision = Object.freeze({ action: 'allow', reason: 'allow-exception' });
// A category of its own, so the query log and the dashboard can count help lookups.
const ALLOWED_AS_HELP: Decision = Object.freeze({ action: 'allow', reason: 'help-service', category: HELP_SERVICES_CATEGORY });

export class PolicyHandler implements Handler {
  private state: PolicyState;
  private exceptions: readonly Exception[] = [];
  private stateOptions: StateOptions = {};
  private readonly matcher: () => PolicyMatcher;
  private readonly nowMs: () => number;
  private readonly logger: Logger;
  /** What the lists and keyword rules say per name, for the current matcher and state. */
  private readonly facts = new NameFactsMemo();

  constructor(opts: PolicyOptions) {
    this.matcher = opts.matcher;
    const now = opts.now;
    this.nowMs = now ? () => now().getTime() : Date.now;
    this.logger = opts.logger.child({ part: 'policy' });
    this.state = new PolicyState(opts.config);
    this.applyExceptions(this.state, []);
  }

  /** A new config (SIGHUP), with the governed exceptions and switch-offs kept. Throws, keeping the old policy, if it cannot be compiled. */
  configure(config: Config): void {
    const state = new PolicyState(config, this.stateOptions);
    this.applyExceptions(state, this.exceptions);
    this.state = state;
    this.logger.info({ groups: state.groups.length, categories: config.categories.length }, 'policy reloaded');
  }

  /**
   * A new governed policy (src/changes/): its groups (in `config`), its
   * exceptions and the groups switched off, compiled aside and swapped in one
   * assignment, so the next query sees all of it or none. Throws, keeping the
   * old policy, if it cannot be compiled (`check` first does the same dry).
   */
  setPolicy(config: Config, exceptions: readonly Exception[], options: StateOptions): void {
    const state = PolicyHandler.compile(config, exceptions, options, this.logger);
    this.exceptions = exceptions.slice();
    this.stateOptions = { ...options };
    this.state = state;
    this.logger.info({ groups: state.groups.length, exceptions: exceptions.length, off: options.unfilteredGroups ?? [] }, 'policy applied');
  }

  /** Compile without using it: throws what setPolicy would. */
  static compile(config: Config, exceptions: readonly Exception[], options: StateOptions, logger?: Logger): PolicyState {
    const state = new PolicyState(config, options);
    PolicyHandler.attachExceptions(state, exceptions, logger);
    return state;
  }

  /** The categories the lists (or keyword rules) put a name in, whatever any group does with them. */
  categoriesOf(name: string): string[] {
    const state = this.state;
    const host = normaliseDomain(name) ?? name.toLowerCase();
    const facts = this.facts.of(host, this.matcher(), state.keywords);
    const mask = facts.lists | facts.keywords;
    return state.categories.ids.filter((_, bit) => (mask & (1 << bit)) !== 0);
  }

  /** Replace every exception at once; takes effect on the next query. */
  setExceptions(list: readonly Exception[]): void {
    this.exceptions = list.slice();
    this.applyExceptions(this.state, this.exceptions);
  }

  private applyExceptions(state: PolicyState, list: readonly Exception[]): void {
    PolicyHandler.attachExceptions(state, list, this.logger);
  }

  private static attachExceptions(state: PolicyState, list: readonly Exception[], logger?: Logger): void {
    const { byGroup, skipped } = compileExceptions(
      list,
      state.groups.map((g) => g.name),
    );
    // Help services in every group's map; a group with filtering off has no exceptions besides:
    // there is nothing to allow, and nothing but illegal content to deny.
    const help = new SuffixMap();
    for (const d of state.helpDomains) help.add(d, HELP_SERVICE);
    for (const g of state.groups) {
      if (g.unfiltered) continue;
      const names = byGroup.get(g.name) ?? new SuffixMap();
      for (const d of state.helpDomains) names.add(d, HELP_SERVICE);
      g.exceptions = names;
    }
    for (const g of state.unfilteredGroups) g.exceptions = help;
    for (const s of skipped) logger?.warn({ id: s.exception.id, domain: s.exception.domain, problem: s.problem }, 'exception ignored');
    logger?.info({ exceptions: list.length - skipped.length }, 'exceptions applied');
  }

  /**
   * Why `name` is blocked for a group right now, for the block page: the
   * category, never a list entry. An unknown group is taken as the default group.
   */
  explain(name: string, groupName: string): PolicyExplanation {
    const state = this.state;
    const group = state.groupFor({ index: -1, name: groupName });
    const host = normaliseDomain(name) ?? name.toLowerCase();
    const verdict = this.judge(state, group, host);
    if (verdict === HELP) return { group: group.name, blocked: false, illegal: false, helpService: true };
    if (verdict === undefined || verdict === EXCEPTED) return { group: group.name, blocked: false, illegal: false };
    const { categories } = state;
    const explanation: PolicyExplanation = { group: group.name, blocked: true, reason: verdict.reason, illegal: false };
    if (verdict.bit >= 0) {
      explanation.category = categories.ids[verdict.bit];
      explanation.categoryName = categories.names[verdict.bit];
      explanation.illegal = categories.isIllegal(verdict.bit);
    }
    return explanation;
  }

  resolve(q: Query, next: Next): Answer | Promise<Answer> {
    const state = this.state;
    const group = state.groupFor(q.client.group);
    const name = q.name;
    const verdict = this.judge(state, group, name);
    if (verdict === EXCEPTED) return this.forward(q, next, state, group, ALLOWED_BY_EXCEPTION);
    if (verdict === HELP) return this.forward(q, next, state, group, ALLOWED_AS_HELP);
    if (verdict !== undefined) return this.block(state, q, verdict, verdict.reason);
    if (group.safeSearch !== null) {
      const target = group.safeSearch.target(name);
      if (target !== undefined) return safeSearchAnswer(q, target, next, state.answers, state.udpSize);
    }
    const canary = canaryFor(name);
    if (canary !== undefined) {
      const built = canary.answer === 'nxdomain' ? state.answers.nxdomain(q, canary.ede) : state.answers.nodata(q, canary.ede);
      return { ...built, source: 'policy', decision: canary.decision };
    }
    return this.forward(q, next, state, group, undefined);
  }

  /** Steps 1-7 for one name: a block, EXCEPTED, HELP, or undefined to carry on. */
  private judge(state: PolicyState, group: GroupPolicy, name: string): Verdict | typeof EXCEPTED | typeof HELP | undefined {
    const { categories } = state;
    const facts = this.facts.of(name, this.matcher(), state.keywords);
    const mask = facts.lists;
    const illegal = mask & categories.illegalMask;
    if (illegal !== 0) return { reason: 'illegal', mask: illegal, bit: categories.pick(illegal) };
    if (group.exceptions !== null) {
      const flags = group.exceptions.lookup(name);
      if ((flags & HELP_SERVICE) !== 0) return HELP;
      if ((flags & EXCEPTION_DENY) !== 0) return { reason: 'deny-exception', mask: 0, bit: -1 };
      if ((flags & EXCEPTION_ALLOW) !== 0) return EXCEPTED;
    }
    const blocked = mask & group.block;
    if (blocked !== 0) return { reason: 'category', mask: blocked, bit: categories.pick(blocked) };
    let open = -1; // schedule mask, read from the clock only when a name needs it
    if ((mask & group.scheduled) !== 0) {
      open = group.schedules.active(this.nowMs());
      const now = mask & group.scheduled & open;
      if (now !== 0) return { reason: 'schedule', mask: now, bit: categories.pick(now) };
    }
    if (group.keywords !== 0) {
      let hit = facts.keywords & group.keywords;
      if ((hit & group.scheduled) !== 0) {
        if (open === -1) open = group.schedules.active(this.nowMs());
        hit &= group.block | open;
      }
      if (hit !== 0) return { reason: 'keyword', mask: hit, bit: categories.pick(hit) };
    }
    return undefined;
  }

  /** `allowed`: the decision of an allow exception or a help service, which covers the CNAME chain too; undefined otherwise. */
  private forward(q: Query, next: Next, state: PolicyState, group: GroupPolicy, allowed: Decision | undefined): Answer | Promise<Answer> {
    const answer = next(q);
    if (isPromise(answer)) return answer.then((a) => this.inspect(q, a, state, group, allowed));
    return this.inspect(q, answer, state, group, allowed);
  }

  /** CNAME inspection: an answer whose chain reaches a blocked name is blocked too. */
  private inspect(q: Query, answer: Answer, state: PolicyState, group: GroupPolicy, allowed: Decision | undefined): Answer {
    const cnames = answer.cnames;
    if (cnames !== undefined) {
      for (let i = 0; i < cnames.length; i++) {
        // An allow exception or a help service covers the chain it names, except illegal targets.
        const verdict = allowed !== undefined ? this.illegalOnly(state, cnames[i]) : this.judge(state, group, cnames[i]);
        if (verdict !== undefined && verdict !== EXCEPTED && verdict !== HELP) return this.block(state, q, verdict, 'cname', cnames[i]);
      }
    }
    if (allowed !== undefined && answer.decision === undefined) return { ...answer, decision: allowed };
    return answer;
  }

  private illegalOnly(state: PolicyState, name: string): Verdict | undefined {
    const illegal = this.facts.of(name, this.matcher(), state.keywords).lists & state.categories.illegalMask;
    return illegal !== 0 ? { reason: 'illegal', mask: illegal, bit: state.categories.pick(illegal) } : undefined;
  }

  private block(state: PolicyState, q: Query, verdict: Verdict, reason: string, target?: string): Answer {
    const { categories } = state;
    const bit = verdict.bit;
    const decision: Decision = { action: 'block', reason };
    if (bit >= 0) decision.category = categories.ids[bit];
    if (target !== undefined) decision.target = target;
    // Flagged when any blocking category is a circumvention one, even if another is reported.
    if ((verdict.mask & categories.circumventionMask) !== 0) decision.circumvention = true;
    // The original reason picks the text: a CNAME block reads like a block of the target's category.
    const built = state.answers.block(q, state.texts.for(verdict.reason, bit));
    return { wire: built.wire, rcode: built.rcode, source: 'policy', decision };
  }
}
