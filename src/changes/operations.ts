// What a change request changes: a list of operations against the governed
// policy document ("allow a domain for some groups", "block a category for a
// group", "filtering off for a network until 11:00", "replace a group",
// "people in org unit /Students/Year 9 are filtered as year9"). Each
// operation applies to a copy of the document and yields the operation that
// undoes it, so a change can be ended or reverted with one action.
import { z } from 'zod';
import { groupSchema, type GroupConfig } from '../config.js';
import { MAPPING_ATTRIBUTES, mappingKey, mappingMatch, mappingOf, mappingWords } from '../identity/groups.js';
import type { GovernedException, PolicyDocument, SwitchOff, SwitchTarget } from './document.js';
import { sameTarget, targetName } from './document.js';
import { ChangeError } from './errors.js';

const action = z.enum(['allow', 'deny']);
const domain = z.string().min(1).max(253);
const name = z.string().min(1).max(100);
const groupNames = z.array(name).min(1).max(100);

export const targetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('group'), group: name }),
  z.strictObject({ kind: z.literal('network'), network: z.string().min(3).max(64) }),
  z.strictObject({ kind: z.literal('person'), person: z.string().min(1).max(200) }),
]);

const exceptionRecord = z.strictObject({
  id: z.number().int().min(1),
  domain,
  action,
  groups: groupNames,
  requester: z.string(),
  subjectArea: z.string(),
  reason: z.string(),
  approver: z.string(),
  changeId: z.number().int(),
  createdAt: z.number(),
  until: z.number().optional(),
});

const switchRecord = z.strictObject({ target: targetSchema, changeId: z.number().int(), until: z.number() });

export const opSchema = z.discriminatedUnion('op', [
  // `restore` is set only on the operations that undo a removal: the exception comes back as it was.
  z.strictObject({ op: z.literal('exception-add'), domain, action, groups: groupNames, restore: exceptionRecord.optional() }),
  z.strictObject({ op: z.literal('exception-remove'), domain, action }),
  z.strictObject({ op: z.literal('exception-groups'), domain, action, groups: groupNames }),
  z.strictObject({ op: z.literal('category-block'), group: name, category: name }),
  z.strictObject({ op: z.literal('category-unblock'), group: name, category: name }),
  z.strictObject({ op: z.literal('safe-search'), group: name, safeSearch: groupSchema.shape.safeSearch.unwrap() }),
  z.strictObject({ op: z.literal('group-set'), name, group: groupSchema.nullable() }),
  z.strictObject({ op: z.literal('filtering-off'), target: targetSchema, restore: switchRecord.optional() }),
  // Only as the undoing of a switch-off: the one that change made goes.
  z.strictObject({ op: z.literal('filtering-on'), target: targetSchema, changeId: z.number().int() }),
  // A roster group mapping: people whose attribute has this value are filtered as `group`; null removes the mapping.
  z.strictObject({
    op: z.literal('mapping-set'),
    attribute: z.enum(MAPPING_ATTRIBUTES),
    value: z.string().min(1).max(256),
    group: name.nullable(),
  }),
]);

export type ChangeOp = z.infer<typeof opSchema>;

/** Parse operations from untrusted JSON (the API, the CLI, the database); throws ChangeError naming the problem. */
export function parseOps(value: unknown, opts: { allowEmpty?: boolean } = {}): ChangeOp[] {
  const parsed = z
    .array(opSchema)
    .min(opts.allowEmpty ? 0 : 1)
    .max(5000)
    .safeParse(value);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const where = first.path.length ? first.path.join('.') + ': ' : '';
  throw new ChangeError('GH_ERR_CHANGE_INVALID', `operations: ${where}${first.message}`);
}

/** The record a new exception gets from the change that makes it. */
export interface ApplyContext {
  changeId: number;
  requester: string;
  subjectArea: string;
  reason: string;
  approver: string;
  /** The change's end: exceptions and switch-offs it makes go then. */
  until?: number;
  now: number;
}

export interface Applied {
  doc: PolicyDocument;
  /** The operations that undo what was applied, in the order to apply them. */
  inverse: ChangeOp[];
  /** Operations that found nothing to do ("pupils already blocks games"). */
  notes: string[];
}

/**
 * Apply operations to a copy of the document. `strict` (a change applying):
 * an operation on something that is not there (a group, an exception) throws
 * GH_ERR_CHANGE_CONFLICT. `lenient` (ending or reverting): it is noted and
 * skipped, so a temporary change always ends.
 */
export function applyOps(doc: PolicyDocument, ops: readonly ChangeOp[], ctx: ApplyContext, mode: 'strict' | 'lenient'): Applied {
  const next: PolicyDocument = structuredClone(doc);
  const inverse: ChangeOp[] = [];
  const notes: string[] = [];
  const missing = (what: string) => {
    if (mode === 'strict') throw new ChangeError('GH_ERR_CHANGE_CONFLICT', `${what}: it is not in the policy now`);
    notes.push(`${what}: nothing to undo (no longer in the policy)`);
  };
  for (const op of ops) {
    const undo = applyOne(next, op, ctx, notes, missing);
    if (undo) inverse.unshift(undo);
  }
  return { doc: next, inverse, notes };
}

function findException(doc: PolicyDocument, d: string, a: 'allow' | 'deny'): number {
  return doc.exceptions.findIndex((e) => e.domain === d && e.action === a);
}

function findGroup(doc: PolicyDocument, g: string): GroupConfig | undefined {
  return doc.groups.find((x) => x.name === g);
}

function applyOne(
  doc: PolicyDocument,
  op: ChangeOp,
  ctx: ApplyContext,
  notes: string[],
  missing: (what: string) => void,
): ChangeOp | undefined {
  switch (op.op) {
    case 'exception-add': {
      if (findException(doc, op.domain, op.action) >= 0) {
        notes.push(`${op.action} ${op.domain}: there is already such an exception`);
        return undefined;
      }
      const e: GovernedException = op.restore
        ? { ...op.restore, groups: [...op.groups] }
        : {
            id: doc.nextExceptionId,
            domain: op.domain,
            action: op.action,
            groups: [...op.groups],
            requester: ctx.requester,
            subjectArea: ctx.subjectArea,
            reason: ctx.reason,
            approver: ctx.approver,
            changeId: ctx.changeId,
            createdAt: ctx.now,
            ...(ctx.until !== undefined ? { until: ctx.until } : {}),
          };
      doc.nextExceptionId = Math.max(doc.nextExceptionId, e.id + 1);
      doc.exceptions.push(e);
      return { op: 'exception-remove', domain: op.domain, action: op.action };
    }
    case 'exception-remove': {
      const i = findException(doc, op.domain, op.action);
      if (i < 0) return void missing(`${op.action} exception for ${op.domain}`);
      const [gone] = doc.exceptions.splice(i, 1);
      return { op: 'exception-add', domain: gone.domain, action: gone.action, groups: [...gone.groups], restore: gone };
    }
    case 'exception-groups': {
      const i = findException(doc, op.domain, op.action);
      if (i < 0) return void missing(`${op.action} exception for ${op.domain}`);
      const before = doc.exceptions[i].groups;
      if (JSON.stringify(before) === JSON.stringify(op.groups)) {
        notes.push(`${op.action} ${op.domain}: already for ${op.groups.join(', ')}`);
        return undefined;
      }
      doc.exceptions[i].groups = [...op.groups];
      return { op: 'exception-groups', domain: op.domain, action: op.action, groups: [...before] };
    }
    case 'category-block':
    case 'category-unblock': {
      const g = findGroup(doc, op.group);
      if (!g) return void missing(`group ${op.group}`);
      const blocked = g.block.includes(op.category);
      const want = op.op === 'category-block';
      if (blocked === want) {
        notes.push(`${op.group}: ${op.category} is already ${want ? 'blocked' : 'not blocked'}`);
        return undefined;
      }
      g.block = want ? [...g.block, op.category] : g.block.filter((c) => c !== op.category);
      return { op: want ? 'category-unblock' : 'category-block', group: op.group, category: op.category };
    }
    case 'safe-search': {
      const g = findGroup(doc, op.group);
      if (!g) return void missing(`group ${op.group}`);
      const before = g.safeSearch;
      if (JSON.stringify(before) === JSON.stringify(op.safeSearch)) {
        notes.push(`${op.group}: safe search is already so`);
        return undefined;
      }
      g.safeSearch = { ...op.safeSearch };
      return { op: 'safe-search', group: op.group, safeSearch: { ...before } };
    }
    case 'group-set': {
      const i = doc.groups.findIndex((x) => x.name === op.name);
      const before = i >= 0 ? doc.groups[i] : null;
      if (JSON.stringify(before) === JSON.stringify(op.group)) {
        notes.push(`group ${op.name}: already so`);
        return undefined;
      }
      if (op.group && op.group.name !== op.name)
        throw new ChangeError('GH_ERR_CHANGE_INVALID', `group-set ${op.name}: the group is named ${op.group.name}`);
      if (i >= 0 && op.group) doc.groups[i] = structuredClone(op.group);
      else if (i >= 0) doc.groups.splice(i, 1);
      else if (op.group) doc.groups.push(structuredClone(op.group));
      else return void missing(`group ${op.name}`);
      return { op: 'group-set', name: op.name, group: before };
    }
    case 'filtering-off': {
      const until = op.restore?.until ?? ctx.until;
      if (until === undefined) throw new ChangeError('GH_ERR_CHANGE_INVALID', 'switching filtering off needs an end time');
      const record: SwitchOff = op.restore ?? { target: op.target, changeId: ctx.changeId, until };
      doc.switchOffs.push(structuredClone(record));
      return { op: 'filtering-on', target: op.target, changeId: record.changeId };
    }
    case 'filtering-on': {
      const i = doc.switchOffs.findIndex((s) => s.changeId === op.changeId && sameTarget(s.target, op.target));
      if (i < 0) return void missing(`filtering off for ${targetName(op.target)}`);
      const [gone] = doc.switchOffs.splice(i, 1);
      return { op: 'filtering-off', target: gone.target, restore: gone };
    }
    case 'mapping-set': {
      const wanted = mappingOf(op.attribute, op.value, op.group ?? '');
      const i = doc.identityGroups.findIndex((m) => mappingKey(m) === mappingKey(wanted));
      const before = i >= 0 ? doc.identityGroups[i] : undefined;
      if ((before?.group ?? null) === op.group) {
        notes.push(
          `roster mapping for ${mappingWords(wanted)}: ${op.group === null ? 'there is none to remove' : `already filtered as ${op.group}`}`,
        );
        return undefined;
      }
      if (op.group === null) doc.identityGroups.splice(i, 1);
      else if (before) doc.identityGroups[i] = wanted;
      else doc.identityGroups.push(wanted);
      const undone = before ? mappingMatch(before).value : op.value;
      return { op: 'mapping-set', attribute: op.attribute, value: undone, group: before?.group ?? null };
    }
  }
}

/** The groups an operation is about (for "groups affected"), before or after it. */
export function opGroups(op: ChangeOp, doc: PolicyDocument): string[] {
  switch (op.op) {
    case 'exception-add':
    case 'exception-groups':
    case 'exception-remove': {
      const now = doc.exceptions.find((e) => e.domain === op.domain && e.action === op.action)?.groups ?? [];
      return [...new Set([...now, ...('groups' in op ? op.groups : [])])];
    }
    case 'category-block':
    case 'category-unblock':
    case 'safe-search':
      return [op.group];
    case 'group-set':
      return [op.name];
    case 'filtering-off':
    case 'filtering-on':
      return op.target.kind === 'group' ? [op.target.group] : [];
    case 'mapping-set': {
      const had = doc.identityGroups.find((m) => mappingKey(m) === mappingKey(mappingOf(op.attribute, op.value, '')))?.group;
      return [...new Set([had, op.group].filter((g): g is string => !!g))];
    }
  }
}

/** Whether any operation switches filtering off (always temporary, always approved, never an emergency). */
export function switchesOff(ops: readonly ChangeOp[]): boolean {
  return ops.some((o) => o.op === 'filtering-off' && !o.restore);
}

export type { SwitchTarget };
