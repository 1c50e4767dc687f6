// Roster attribute → Gatehouse group (the governed policy's roster group
// mappings, seeded from identity.groups). An orgUnit entry matches that unit
// and every unit below it, and the longest matching path wins (so
// "/Students/Year 9/Sixth Form Taster" can differ from "/Students"); with no
// orgUnit match, the first role entry, then the first yearGroup entry, that
// matches (case-insensitively) decides. No match: the network's group.
// mappingKey is the same comparison, so two mappings with one key are the
// same rule (only the first would ever count), and the policy keeps one.
import type { GroupMapping } from './config.js';
import type { Person } from './types.js';

export const MAPPING_ATTRIBUTES = ['orgUnit', 'role', 'yearGroup'] as const;
export type MappingAttribute = (typeof MAPPING_ATTRIBUTES)[number];

/** An org unit path as matching compares it: case aside, without trailing slashes. */
const unitPath = (path: string) => path.toLowerCase().replace(/\/+$/, '');

export function groupFor(person: Pick<Person, 'orgUnit' | 'role' | 'yearGroup'>, mappings: readonly GroupMapping[]): string | undefined {
  let best: { length: number; group: string } | undefined;
  const unit = person.orgUnit === undefined ? undefined : unitPath(person.orgUnit);
  if (unit !== undefined) {
    for (const m of mappings) {
      if (m.orgUnit === undefined) continue;
      const path = unitPath(m.orgUnit);
      const covers = path === '' || unit === path || unit.startsWith(path + '/');
      if (covers && (!best || path.length > best.length)) best = { length: path.length, group: m.group };
    }
  }
  if (best) return best.group;
  const role = person.role?.toLowerCase();
  const year = person.yearGroup?.toLowerCase();
  return (
    mappings.find((m) => m.role !== undefined && m.role.toLowerCase() === role)?.group ??
    mappings.find((m) => m.yearGroup !== undefined && m.yearGroup.toLowerCase() === year)?.group
  );
}

/** The roster attribute a mapping matches on, and its value. */
export function mappingMatch(m: Omit<GroupMapping, 'group'>): { attribute: MappingAttribute; value: string } {
  const attribute = MAPPING_ATTRIBUTES.find((a) => m[a] !== undefined) ?? 'orgUnit';
  return { attribute, value: m[attribute] ?? '' };
}

/** What a mapping matches, as groupFor compares it: mappings with one key match the same people. */
export function mappingKey(m: Omit<GroupMapping, 'group'>): string {
  const { attribute, value } = mappingMatch(m);
  return `${attribute}:${attribute === 'orgUnit' ? unitPath(value) : value.toLowerCase()}`;
}

const ATTRIBUTE_WORDS: Record<MappingAttribute, string> = { orgUnit: 'org unit', role: 'role', yearGroup: 'year group' };

/** "org unit /Students/Year 9", "role Teacher", "year group 9". */
export function mappingWords(m: Omit<GroupMapping, 'group'>): string {
  const { attribute, value } = mappingMatch(m);
  return `${ATTRIBUTE_WORDS[attribute]} ${value}`;
}

/** A mapping from its parts (the shape identity.groups and the policy keep). */
export function mappingOf(attribute: MappingAttribute, value: string, group: string): GroupMapping {
  return { [attribute]: value, group } as GroupMapping;
}

/** The mappings without the later ones of a key already given (they never counted); returns those dropped too. */
export function distinctMappings(mappings: readonly GroupMapping[]): { kept: GroupMapping[]; dropped: GroupMapping[] } {
  const seen = new Set<string>();
  const kept: GroupMapping[] = [];
  const dropped: GroupMapping[] = [];
  for (const m of mappings) {
    const key = mappingKey(m);
    (seen.has(key) ? dropped : kept).push({ ...m });
    seen.add(key);
  }
  return { kept, dropped };
}
