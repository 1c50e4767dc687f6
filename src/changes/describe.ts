// A change in plain words: for each group (or network, or person, or roster
// group mapping) it touches, what was so before and what is so after
// ("Blocked categories: Adult content → Adult content, Social media"; "People
// in org unit /Students: Filtered as: pupils → year9"), worked out by
// comparing the policy before and after, so every kind of operation reads the
// same way. Shown on the
// change request, in the change log and in the safeguarding board extract.
import type { Config, GroupConfig } from '../config.js';
import type { GroupMapping } from '../identity/config.js';
import { mappingKey, mappingMatch, mappingWords } from '../identity/groups.js';
import { targetName, type GovernedException, type PolicyDocument, type SwitchOff } from './document.js';

export interface Aspect {
  aspect: string;
  before: string;
  after: string;
}

export interface Described {
  /** "pupils", "network 10.1.5.0/24", "person jsmith". */
  target: string;
  /** Group names this entry is about (empty for a network or person). */
  groups: string[];
  aspects: Aspect[];
}

type Names = ReadonlyMap<string, string>;

const list = (items: string[], none: string) => (items.length ? items.join(', ') : none);

function blocks(g: GroupConfig, names: Names): string {
  return list(
    g.block.map((c) => names.get(c) ?? c),
    'none (illegal content is always blocked)',
  );
}

function schedules(g: GroupConfig, names: Names): string {
  return list(
    g.schedules.map(
      (s) => `${s.block.map((c) => names.get(c) ?? c).join(', ')} on ${s.days.join(' ')} ${s.times.join(' ')} (${s.timezone})`,
    ),
    'none',
  );
}

function safeSearch(g: GroupConfig): string {
  const s = g.safeSearch;
  const on = [s.google && 'Google', s.bing && 'Bing', s.duckduckgo && 'DuckDuckGo', s.youtube !== 'off' && `YouTube ${s.youtube}`];
  return list(
    on.filter((x): x is string => typeof x === 'string'),
    'off',
  );
}

function networks(g: GroupConfig): string {
  return list(g.networks, 'none') + (g.default ? '; the default group (everyone no other group’s networks match)' : '');
}

function exceptionWords(e: GovernedException | undefined): string {
  if (!e) return 'no exception';
  return `${e.action === 'allow' ? 'allowed' : 'blocked'} (with its subdomains)${e.until !== undefined ? ' while the change lasts' : ''}`;
}

function filtering(off: SwitchOff[]): string {
  return off.length === 0 ? 'on' : 'off while the change lasts (illegal content still blocked)';
}

function push(out: Aspect[], aspect: string, before: string, after: string): void {
  if (before !== after) out.push({ aspect, before, after });
}

/** Who a mapping is about: "People in org unit /Students", "People with role Teacher", "People in year group 9". */
export function mappingTarget(m: Omit<GroupMapping, 'group'>): string {
  return `People ${mappingMatch(m).attribute === 'role' ? 'with' : 'in'} ${mappingWords(m)}`;
}

const MAPPED = 'Filtered as';
const NO_MAPPING = 'the group of their network (no roster mapping)';

/** Every difference between two policies, per group, then per network and person switched off or on, then per roster mapping. */
export function describeChange(before: PolicyDocument, after: PolicyDocument, categories: Config['categories']): Described[] {
  const names: Names = new Map(categories.map((c) => [c.id, c.name]));
  const out: Described[] = [];
  const groupNames = [...new Set([...before.groups.map((g) => g.name), ...after.groups.map((g) => g.name)])];
  for (const name of groupNames) {
    const b = before.groups.find((g) => g.name === name);
    const a = after.groups.find((g) => g.name === name);
    const aspects: Aspect[] = [];
    if (!b || !a) {
      const shown = (a ?? b)!;
      const whole = `networks ${networks(shown)}; blocks ${blocks(shown, names)}; schedules ${schedules(shown, names)}; safe search ${safeSearch(shown)}`;
      aspects.push({ aspect: 'Group', before: b ? whole : 'no such group', after: a ? whole : 'removed' });
    } else {
      push(aspects, 'Networks', networks(b), networks(a));
      push(aspects, 'Blocked categories', blocks(b, names), blocks(a, names));
      push(aspects, 'Schedules', schedules(b, names), schedules(a, names));
      push(aspects, 'Safe search', safeSearch(b), safeSearch(a));
    }
    const key = (e: GovernedException) => `${e.action} ${e.domain}`;
    const mine = (doc: PolicyDocument) => new Map(doc.exceptions.filter((e) => e.groups.includes(name)).map((e) => [key(e), e]));
    const eb = mine(before);
    const ea = mine(after);
    for (const k of [...new Set([...eb.keys(), ...ea.keys()])].sort()) {
      const e = (ea.get(k) ?? eb.get(k))!;
      push(aspects, `Exception for ${e.domain}`, exceptionWords(eb.get(k)), exceptionWords(ea.get(k)));
    }
    const offs = (doc: PolicyDocument) => doc.switchOffs.filter((s) => s.target.kind === 'group' && s.target.group === name);
    push(aspects, 'Filtering', filtering(offs(before)), filtering(offs(after)));
    if (aspects.length > 0) out.push({ target: name, groups: [name], aspects });
  }
  const others = (doc: PolicyDocument) => doc.switchOffs.filter((s) => s.target.kind !== 'group');
  const targets = [...new Set([...others(before), ...others(after)].map((s) => targetName(s.target)))];
  for (const t of targets) {
    const of = (doc: PolicyDocument) => others(doc).filter((s) => targetName(s.target) === t);
    const aspects: Aspect[] = [];
    push(aspects, 'Filtering', filtering(of(before)), filtering(of(after)));
    if (aspects.length > 0) out.push({ target: t, groups: [], aspects });
  }
  const mappings = (doc: PolicyDocument) => new Map(doc.identityGroups.map((m) => [mappingKey(m), m]));
  const mb = mappings(before);
  const ma = mappings(after);
  for (const key of new Set([...mb.keys(), ...ma.keys()])) {
    const b = mb.get(key);
    const a = ma.get(key);
    if (b?.group === a?.group) continue;
    const groups = [...new Set([b?.group, a?.group].filter((g): g is string => g !== undefined))];
    out.push({
      target: mappingTarget((a ?? b)!),
      groups,
      aspects: [{ aspect: MAPPED, before: b?.group ?? NO_MAPPING, after: a?.group ?? NO_MAPPING }],
    });
  }
  return out;
}

/** One sentence per difference: "pupils: Blocked categories: Adult content → Adult content, Social media". */
export function sentences(described: readonly Described[]): string[] {
  return described.flatMap((d) => d.aspects.map((a) => `${d.target}: ${a.aspect}: ${a.before} → ${a.after}`));
}

/** The groups a description touches. */
export function describedGroups(described: readonly Described[]): string[] {
  return [...new Set(described.flatMap((d) => d.groups))];
}

/**
 * Whether the change alters which categories a group blocks, or which group's
 * blocking people get (a roster mapping): reported to changeControl.notify.categoryChanges.
 */
export function changesCategories(described: readonly Described[]): boolean {
  return described.some((d) =>
    d.aspects.some((a) => a.aspect === 'Blocked categories' || a.aspect === 'Schedules' || a.aspect === 'Group' || a.aspect === MAPPED),
  );
}

/** A short title: the first difference, and how many more. */
export function summaryOf(described: readonly Described[]): string {
  const all = sentences(described);
  if (all.length === 0) return 'No change to the policy';
  const first = all[0].length > 160 ? all[0].slice(0, 157) + '…' : all[0];
  return all.length === 1 ? first : `${first} (and ${all.length - 1} more)`;
}
