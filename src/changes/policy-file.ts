// The governed policy as a YAML file (`gatehouse policy export`: backup,
// review, copying it to another school) and back (`gatehouse policy import`:
// the differences between a file and the policy in force become the
// operations of one change request). A file is either such an export
// (groups and exceptions) or a config file (its groups only). Temporary
// things (switch-offs, exceptions that end) are not part of a file: they end
// by themselves.
import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { groupSchema, parseConfig, type GroupConfig } from '../config.js';
import { groupMapSchema, type GroupMapping } from '../identity/config.js';
import { distinctMappings, mappingKey, mappingMatch, mappingWords } from '../identity/groups.js';
import { normaliseDomain } from '../lists/names.js';
import { governedGroup, illegalIds, sameGroup, type PolicyDocument, type PolicyVersion } from './document.js';
import { ChangeError } from './errors.js';
import type { ChangeOp } from './operations.js';
import type { ChangeRequest } from './store.js';

export const POLICY_KIND = 'gatehouse-policy';

const fileSchema = z.strictObject({
  kind: z.literal(POLICY_KIND),
  /** The version it was exported from (for the reader; import compares with the policy in force). */
  version: z.number().int().optional(),
  groups: z.array(groupSchema).min(1),
  /** Roster attribute → group, as identity.groups in a config file. Absent (a file exported before they were governed): left as they are. */
  identityGroups: z.array(groupMapSchema).optional(),
  exceptions: z
    .array(
      z.strictObject({
        domain: z.string().min(1),
        action: z.enum(['allow', 'deny']),
        groups: z.array(z.string().min(1)).min(1),
        /** Who asked, why, who approved: shown for review, ignored by an import. */
        record: z.string().optional(),
      }),
    )
    .default([]),
});

/** The policy in force as a policy file. */
export function exportPolicy(v: PolicyVersion, temporary: readonly ChangeRequest[], from: string, now: number): string {
  const lines = [
    `# Gatehouse filtering policy: the governed policy, version ${v.version}, exported ${new Date(now).toISOString()} from ${from}.`,
    '# Edit it and run `gatehouse policy import FILE` to ask for the differences as one change request;',
    '# nothing changes until an approver approves it. Illegal categories are outside the policy (always blocked).',
  ];
  if (temporary.length > 0) {
    lines.push('# Temporary changes in force now (they end by themselves and are left out of this file where they can be):');
    for (const c of temporary) lines.push(`#   #${c.id} until ${new Date(c.endsAt!).toISOString()}: ${c.summary}`);
  }
  const body = {
    kind: POLICY_KIND,
    version: v.version,
    groups: v.doc.groups,
    identityGroups: v.doc.identityGroups,
    exceptions: v.doc.exceptions
      .filter((e) => e.until === undefined)
      .map((e) => ({
        domain: e.domain,
        action: e.action,
        groups: e.groups,
        record: `asked for by ${e.requester} (${e.subjectArea}): ${e.reason}; approved by ${e.approver}; change #${e.changeId}`,
      })),
  };
  return lines.join('\n') + '\n' + stringify(body, { lineWidth: 0 });
}

export interface ImportedPolicy {
  groups: GroupConfig[];
  /** Undefined when the file does not say (an older export, a config file without identity.groups): the policy's stay. */
  identityGroups?: GroupMapping[];
  /** Undefined for a config file: its exceptions (it has none) leave the policy's alone. */
  exceptions?: { domain: string; action: 'allow' | 'deny'; groups: string[] }[];
  /** What was left out (illegal categories in block lists). */
  notes: string[];
}

/** Read a policy file or a config file; throws GH_ERR_POLICY_FILE naming the problem. */
export function readPolicyFile(text: string, file: string, categories: Parameters<typeof illegalIds>[0]): ImportedPolicy {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) throw new ChangeError('GH_ERR_POLICY_FILE', `${file}: ${doc.errors[0].message.split('\n')[0]}`);
  const value = doc.toJS() as Record<string, unknown> | null;
  const illegal = illegalIds(categories);
  const notes: string[] = [];
  const govern = (groups: GroupConfig[]) =>
    groups.map((g) => {
      const out = governedGroup(g, illegal);
      const dropped = [...g.block, ...g.schedules.flatMap((s) => s.block)].filter((c) => illegal.has(c));
      if (dropped.length > 0)
        notes.push(
          `group ${g.name}: ${[...new Set(dropped)].join(', ')} left out: illegal categories are always blocked, outside the policy`,
        );
      return out;
    });
  if (value?.kind === POLICY_KIND) {
    const parsed = fileSchema.safeParse(value);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new ChangeError('GH_ERR_POLICY_FILE', `${file}: ${i.path.join('.') || '(top level)'}: ${i.message}`);
    }
    const exceptions = parsed.data.exceptions.map((e, i) => {
      const domain = normaliseDomain(e.domain);
      if (!domain) throw new ChangeError('GH_ERR_POLICY_FILE', `${file}: exceptions[${i}].domain: "${e.domain}" is not a domain name`);
      return { domain, action: e.action, groups: e.groups };
    });
    return { groups: govern(parsed.data.groups), ...fileMappings(parsed.data.identityGroups, notes), exceptions, notes };
  }
  // A config file: validated as one (its errors name the key and the line); only its groups (and identity.groups, if given) count.
  const config = parseConfig(text, file);
  if (config.groups.length === 0) throw new ChangeError('GH_ERR_POLICY_FILE', `${file}: the config file has no groups to import`);
  const identity = value?.identity as Record<string, unknown> | null | undefined;
  const given = typeof identity === 'object' && identity !== null && 'groups' in identity;
  return { groups: govern(config.groups), ...fileMappings(given ? config.identity.groups : undefined, notes), notes };
}

/** A file's mappings, one per key (a later one of a key never counted: noted and left out). */
function fileMappings(list: GroupMapping[] | undefined, notes: string[]): Pick<ImportedPolicy, 'identityGroups'> {
  if (!list) return {};
  const { kept, dropped } = distinctMappings(list);
  for (const m of dropped)
    notes.push(`roster mapping for ${mappingWords(m)}: given more than once; only the first counts, and only it is kept`);
  return { identityGroups: kept };
}

/**
 * The operations that turn the policy in force into the file's: new and
 * changed groups first, then the exceptions and the roster group mappings,
 * then groups the file no longer has (after the exceptions and mappings that
 * name them are moved off them).
 */
export function importOps(doc: PolicyDocument, file: ImportedPolicy): ChangeOp[] {
  const ops: ChangeOp[] = [];
  const wanted = new Set(file.groups.map((g) => g.name));
  for (const g of file.groups) {
    const now = doc.groups.find((x) => x.name === g.name);
    if (!now || !sameGroup(now, g)) ops.push({ op: 'group-set', name: g.name, group: g });
  }
  const permanent = doc.exceptions.filter((e) => e.until === undefined);
  const key = (e: { domain: string; action: string }) => `${e.action} ${e.domain}`;
  if (file.exceptions) {
    const inFile = new Map(file.exceptions.map((e) => [key(e), e]));
    for (const e of file.exceptions) {
      const now = permanent.find((x) => key(x) === key(e));
      if (!now) ops.push({ op: 'exception-add', domain: e.domain, action: e.action, groups: e.groups });
      else if (JSON.stringify(now.groups) !== JSON.stringify(e.groups))
        ops.push({ op: 'exception-groups', domain: e.domain, action: e.action, groups: e.groups });
    }
    for (const e of permanent) if (!inFile.has(key(e))) ops.push({ op: 'exception-remove', domain: e.domain, action: e.action });
  } else {
    // A config file says nothing of exceptions: only those naming a group it drops change.
    for (const e of permanent) {
      const kept = e.groups.filter((g) => wanted.has(g));
      if (kept.length === e.groups.length) continue;
      ops.push(
        kept.length === 0
          ? { op: 'exception-remove', domain: e.domain, action: e.action }
          : { op: 'exception-groups', domain: e.domain, action: e.action, groups: kept },
      );
    }
  }
  if (file.identityGroups) {
    const now = new Map(doc.identityGroups.map((m) => [mappingKey(m), m]));
    const inFile = new Set(file.identityGroups.map(mappingKey));
    for (const m of file.identityGroups)
      if (now.get(mappingKey(m))?.group !== m.group) ops.push({ op: 'mapping-set', ...mappingMatch(m), group: m.group });
    for (const m of doc.identityGroups) if (!inFile.has(mappingKey(m))) ops.push({ op: 'mapping-set', ...mappingMatch(m), group: null });
  }
  for (const g of doc.groups) if (!wanted.has(g.name)) ops.push({ op: 'group-set', name: g.name, group: null });
  return ops;
}
