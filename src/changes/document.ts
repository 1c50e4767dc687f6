// The governed filtering policy as one document: the groups (networks, blocked
// categories, schedules, safe search), the roster group mappings (which group
// a person the roster knows is filtered as), the allow/deny exceptions and the
// temporary switch-offs. It lives in SQLite (store.ts, one row per version)
// and changes only through change requests; the live policy is compiled from
// it. Illegal categories are outside it: they are blocked for every group by
// the config file's categories, and no document can name them.
import ipaddr from 'ipaddr.js';
import type { Config, GroupConfig } from '../config.js';
import type { GroupMapping } from '../identity/config.js';
import { distinctMappings, mappingKey } from '../identity/groups.js';

/** An allow or deny exception, with the record of the change that made it. */
export interface GovernedException {
  /** Stable id (the query log's "deny exception #12"). */
  id: number;
  domain: string;
  action: 'allow' | 'deny';
  groups: string[];
  requester: string;
  subjectArea: string;
  reason: string;
  /** The account that approved the change that made it. */
  approver: string;
  changeId: number;
  createdAt: number;
  /** Set when the change that made it is temporary: it goes when that change ends. */
  until?: number;
}

/** What a switch-off is for: a whole group, a network (an exam room, one device's /32), or a person. */
export type SwitchTarget = { kind: 'group'; group: string } | { kind: 'network'; network: string } | { kind: 'person'; person: string };

/** Filtering off for a target until a time (illegal content stays blocked). Always from a temporary, approved change. */
export interface SwitchOff {
  target: SwitchTarget;
  changeId: number;
  until: number;
}

export interface PolicyDocument {
  groups: GroupConfig[];
  /**
   * Roster attribute → group (identity/groups.ts), one per key. Versions
   * written before the mappings were governed have none: the first start of
   * this version takes the config file's identity.groups (seed.ts).
   */
  identityGroups: GroupMapping[];
  exceptions: GovernedException[];
  switchOffs: SwitchOff[];
  /** The id the next new exception gets. */
  nextExceptionId: number;
}

export interface PolicyVersion {
  version: number;
  at: number;
  changeId: number;
  doc: PolicyDocument;
}

export function emptyDocument(): PolicyDocument {
  return { groups: [], identityGroups: [], exceptions: [], switchOffs: [], nextExceptionId: 1 };
}

/** The illegal category ids of a config (outside the governed policy). */
export function illegalIds(categories: Config['categories']): Set<string> {
  return new Set(categories.filter((c) => c.illegal).map((c) => c.id));
}

/**
 * A group as the governed policy keeps it: every field present, illegal
 * categories left out of its block lists (they are always blocked anyway).
 */
export function governedGroup(g: GroupConfig, illegal: ReadonlySet<string>): GroupConfig {
  return {
    name: g.name,
    networks: [...g.networks],
    default: g.default,
    block: g.block.filter((c) => !illegal.has(c)),
    schedules: g.schedules
      .map((s) => ({ ...s, block: s.block.filter((c) => !illegal.has(c)), days: [...s.days], times: [...s.times] }))
      .filter((s) => s.block.length > 0),
    safeSearch: { ...g.safeSearch },
  };
}

/** Whether the config file's groups say something other than the governed ones (illegal categories aside). */
export function fileGroupsDiffer(file: readonly GroupConfig[], doc: PolicyDocument, categories: Config['categories']): boolean {
  if (file.length === 0) return false;
  const illegal = illegalIds(categories);
  return file.length !== doc.groups.length || file.some((g, i) => !sameGroup(governedGroup(g, illegal), doc.groups[i]));
}

/** The parts of the config file the governed policy took over (seeded from them, then compared, never applied). */
export type FilePart = 'groups' | 'identity.groups';

/** "the groups", "the roster group mappings (identity.groups)", or both. */
export function fileDifferenceWords(parts: readonly FilePart[]): string {
  return parts.map((p) => (p === 'groups' ? 'the groups' : 'the roster group mappings (identity.groups)')).join(' and ');
}

/** Whether the config file's identity.groups say something other than the governed mappings (none in the file: nothing to say). */
export function fileMappingsDiffer(file: readonly GroupMapping[], doc: PolicyDocument): boolean {
  if (file.length === 0) return false;
  return !sameMappings(distinctMappings(file).kept, doc.identityGroups);
}

/** Whether two lists of mappings map the same keys to the same groups (their order and spelling aside). */
export function sameMappings(a: readonly GroupMapping[], b: readonly GroupMapping[]): boolean {
  const canonical = (ms: readonly GroupMapping[]) =>
    JSON.stringify(ms.map((m) => `${mappingKey(m)} ${m.group}`).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  return canonical(a) === canonical(b);
}

/** Whether two governed groups say the same (the order of a block list means nothing; that of schedules is kept). */
export function sameGroup(a: GroupConfig, b: GroupConfig): boolean {
  const canonical = (g: GroupConfig) => JSON.stringify({ ...g, block: [...g.block].sort() });
  return canonical(a) === canonical(b);
}

/** The config the resolver runs with: the file's technical settings, the governed groups and roster group mappings. */
export function effectiveConfig(file: Config, doc: PolicyDocument): Config {
  return { ...file, groups: doc.groups, identity: { ...file.identity, groups: doc.identityGroups } };
}

/** Group names whose filtering is switched off as a whole. */
export function unfilteredGroups(doc: PolicyDocument): string[] {
  return doc.switchOffs.flatMap((s) => (s.target.kind === 'group' ? [s.target.group] : []));
}

/** Networks whose clients have filtering switched off. */
export function unfilteredNetworks(doc: PolicyDocument): string[] {
  return doc.switchOffs.flatMap((s) => (s.target.kind === 'network' ? [s.target.network] : []));
}

/** People whose filtering is switched off (wherever identity knows them). */
export function unfilteredPeople(doc: PolicyDocument): string[] {
  return doc.switchOffs.flatMap((s) => (s.target.kind === 'person' ? [s.target.person] : []));
}

export function sameTarget(a: SwitchTarget, b: SwitchTarget): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A target in words: "group pupils", "network 10.1.5.0/24", "person jsmith". */
export function targetName(t: SwitchTarget): string {
  return t.kind === 'group' ? `group ${t.group}` : t.kind === 'network' ? `network ${t.network}` : `person ${t.person}`;
}

/** Whether an address is in a network (CIDR); false for anything unreadable. */
export function inNetwork(address: string, network: string): boolean {
  try {
    const ip = ipaddr.process(address);
    const range = ipaddr.parseCIDR(network);
    return ip.kind() === range[0].kind() && ip.match(range);
  } catch {
    return false;
  }
}

/** Whether filtering is switched off for a client of a group at an address (its group, or its network). */
export function isSwitchedOff(doc: PolicyDocument, group: string, address: string): boolean {
  return doc.switchOffs.some(
    (s) => (s.target.kind === 'group' && s.target.group === group) || (s.target.kind === 'network' && inNetwork(address, s.target.network)),
  );
}
