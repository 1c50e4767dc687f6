// The test of a change ("where appropriate, test that the allow or deny is now
// in place"): when a change applies, the names it touches are asked of the
// running resolver from an address in each affected group (or in the network
// it switched off), and each answer must be what the governed policy now
// says. The expectation is worked out here from the policy document, the
// config's categories and the lists' categories for the name, never from the
// resolver's compiled policy, so a fault in compiling shows as a failure.
import type { Config, GroupConfig } from '../config.js';
import { chooseSources, expectedBlocks, loopbackAddressIn, type CheckPlan, type SkippedGroup } from '../checks/self-test.js';
import { GroupIdentifier } from '../resolver/identify.js';
import { effectiveConfig, illegalIds, inNetwork, isSwitchedOff, type PolicyDocument } from './document.js';
import type { ChangeOp } from './operations.js';
import { mappingTarget } from './describe.js';
import { mappingOf } from '../identity/groups.js';

export interface VerifyInput {
  ops: readonly ChangeOp[];
  before: PolicyDocument;
  after: PolicyDocument;
  /** The config file (categories, checks.names, checks.sources). */
  config: Config;
  /** The categories the lists (and keyword rules) put a name in. */
  categoriesOf: (name: string) => string[];
  now: number;
  /** Addresses of this machine the queries can come from. */
  localAddresses: readonly string[];
  family: 'ipv4' | 'ipv6';
}

export interface ChangeTestPlan {
  plans: CheckPlan[];
  skipped: SkippedGroup[];
  /** Parts that cannot be tested by a DNS query (safe search, a person, a roster mapping), said plainly. */
  untestable: string[];
}

function loopbackOf(network: string): string | undefined {
  try {
    return loopbackAddressIn(network);
  } catch {
    return undefined;
  }
}

/** What the policy says a name gets from a source in a group, and why. */
export function expectFor(
  doc: PolicyDocument,
  config: Config,
  group: string,
  source: string,
  name: string,
  categories: readonly string[],
  now: number,
): { expected: 'blocked' | 'allowed'; why: string } {
  const illegal = illegalIds(config.categories);
  if (categories.some((c) => illegal.has(c))) return { expected: 'blocked', why: 'illegal: blocked for everyone' };
  if (isSwitchedOff(doc, group, source)) return { expected: 'allowed', why: 'filtering is switched off here for now' };
  const covers = (d: string) => name === d || name.endsWith('.' + d);
  const mine = doc.exceptions.filter((e) => e.groups.includes(group) && covers(e.domain));
  if (mine.some((e) => e.action === 'deny')) return { expected: 'blocked', why: 'a deny exception' };
  if (mine.some((e) => e.action === 'allow')) return { expected: 'allowed', why: 'an allow exception' };
  const blocked = expectedBlocks(effectiveConfig(config, doc), group, now);
  const hit = categories.find((c) => blocked.has(c));
  return hit ? { expected: 'blocked', why: `${hit}: ${blocked.get(hit)}` } : { expected: 'allowed', why: 'not blocked for this group' };
}

/** Test names of a category (a few: the self-test has them all). */
function namesOf(config: Config, category: string): string[] {
  return (config.checks.names[category] ?? []).slice(0, 3);
}

/** Categories whose blocking (always or in a window) differs between two versions of a group. */
function changedCategories(b: GroupConfig | undefined, a: GroupConfig | undefined): string[] {
  const of = (g: GroupConfig | undefined) => new Set(g ? [...g.block, ...g.schedules.flatMap((s) => s.block)] : []);
  const x = of(b);
  const y = of(a);
  return [...new Set([...x, ...y])].filter((c) => x.has(c) !== y.has(c) || JSON.stringify(b?.schedules) !== JSON.stringify(a?.schedules));
}

/** The queries that test a change, from each affected group (and switched-off network). */
export function planChangeTest(input: VerifyInput): ChangeTestPlan {
  const { config, after, before } = input;
  const effective = effectiveConfig(config, after);
  const sources = chooseSources(effective, input.family, input.localAddresses);
  const identify = new GroupIdentifier(effective);
  const wanted = new Map<string, { source?: string; group: string; names: Map<string, string> }>();
  const skipped: SkippedGroup[] = [];
  const untestable: string[] = [];
  const allCategories = Object.keys(config.checks.names);

  const add = (group: string, name: string, label: string, source?: string) => {
    const key = source ? `${group}@${source}` : group;
    let entry = wanted.get(key);
    if (!entry) wanted.set(key, (entry = { group, names: new Map(), ...(source ? { source } : {}) }));
    entry.names.set(name, label);
  };
  const known = (g: string) => after.groups.some((x) => x.name === g);

  for (const op of input.ops) {
    switch (op.op) {
      case 'exception-add':
      case 'exception-remove':
      case 'exception-groups': {
        const was = before.exceptions.find((e) => e.domain === op.domain && e.action === op.action)?.groups ?? [];
        const now = after.exceptions.find((e) => e.domain === op.domain && e.action === op.action)?.groups ?? [];
        for (const g of new Set([...was, ...now, ...('groups' in op ? op.groups : [])])) if (known(g)) add(g, op.domain, 'exception');
        break;
      }
      case 'category-block':
      case 'category-unblock':
        if (namesOf(config, op.category).length === 0) untestable.push(`${op.category}: no test name in checks.names`);
        for (const n of namesOf(config, op.category)) add(op.group, n, op.category);
        break;
      case 'group-set': {
        const b = before.groups.find((g) => g.name === op.name);
        const a = after.groups.find((g) => g.name === op.name);
        if (!a) break;
        for (const c of changedCategories(b, a)) for (const n of namesOf(config, c)) add(op.name, n, c);
        break;
      }
      case 'safe-search':
        untestable.push(`${op.group}: safe search is not tested by this check`);
        break;
      case 'filtering-off':
      case 'filtering-on': {
        const t = op.target;
        if (t.kind === 'person') {
          untestable.push(`person ${t.person}: a person’s switch-off cannot be tested from this machine`);
          break;
        }
        let group: string;
        let source: string | undefined;
        if (t.kind === 'group') group = t.group;
        else {
          source = loopbackOf(t.network) ?? input.localAddresses.find((a) => inNetwork(a, t.network));
          if (!source) {
            skipped.push({ group: `network ${t.network}`, reason: 'no address of this machine is in that network' });
            break;
          }
          group = identify.groupOf(source).name;
        }
        for (const c of allCategories) for (const n of namesOf(config, c).slice(0, 1)) add(group, n, c, source);
        break;
      }
      case 'mapping-set':
        // The queries would have to come from the people's own devices; what each group blocks is unchanged.
        untestable.push(
          `${mappingTarget(mappingOf(op.attribute, op.value, ''))}: the group a person is filtered as is not tested from this machine`,
        );
        break;
    }
  }

  const plans: CheckPlan[] = [];
  for (const entry of wanted.values()) {
    const source = entry.source ?? sources.get(entry.group);
    if (!source) {
      skipped.push({ group: entry.group, reason: `no local ${input.family} address the resolver puts in this group` });
      continue;
    }
    for (const [name, category] of entry.names) {
      const e = expectFor(after, config, entry.group, source, name, input.categoriesOf(name), input.now);
      plans.push({ group: entry.group, source, category, name, expected: e.expected, why: e.why });
    }
  }
  return { plans, skipped, untestable };
}
