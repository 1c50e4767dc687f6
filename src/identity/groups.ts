// Roster attribute → Gatehouse group (identity.groups). An orgUnit entry
// matches that unit and every unit below it, and the longest matching path
// wins (so "/Students/Year 9/Sixth Form Taster" can differ from "/Students");
// with no orgUnit match, the first role entry, then the first yearGroup entry,
// that matches (case-insensitively) decides. No match: the network's group.
import type { GroupMapping } from './config.js';
import type { Person } from './types.js';

export function groupFor(person: Pick<Person, 'orgUnit' | 'role' | 'yearGroup'>, mappings: readonly GroupMapping[]): string | undefined {
  let best: { length: number; group: string } | undefined;
  const unit = person.orgUnit?.toLowerCase().replace(/\/+$/, '');
  if (unit !== undefined) {
    for (const m of mappings) {
      if (m.orgUnit === undefined) continue;
      const path = m.orgUnit.toLowerCase().replace(/\/+$/, '');
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
