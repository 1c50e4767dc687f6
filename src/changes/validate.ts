// What makes a change request, and the policy it leads to, acceptable: known
// groups and categories, domains in the matcher's form, one default group,
// roster group mappings that name a group of the policy (one per key),
// switch-offs that end, and nothing that touches illegal content. One set of
// rules for the admin UI, the API, the CLI and the policy import.
import { groupProblems, isCidr, type Config } from '../config.js';
import { mappingKey, mappingWords } from '../identity/groups.js';
import { normaliseDomain } from '../lists/names.js';
import { illegalIds, type PolicyDocument } from './document.js';
import { ChangeError } from './errors.js';
import { applyOps, type ApplyContext, type ChangeOp } from './operations.js';

export interface PolicyEnv {
  /** The config file's categories (illegal ones included). */
  categories: Config['categories'];
  /** Whether the lists in use put a name in an illegal category. */
  isIllegal?: (name: string) => boolean;
  /** Longest switch-off allowed (changeControl.maxSwitchOffHours). */
  maxSwitchOffHours: number;
  /** Whether a person can be recognised (identity sources), so a person can be switched off. */
  people?: boolean;
  /** Whether a name is a help and support service (helpServices): never blocked, so never denied. */
  isHelpService?: (name: string) => boolean;
}

export const ILLEGAL_CHANGE =
  'This name is in a category of illegal content (for example the IWF or CTIRU lists). It is blocked for everyone and no change can touch it.';

export const HELP_SERVICE_MESSAGE =
  'This name is a help and support service (such as Childline or Samaritans). Help services are never blocked, so it cannot be denied; see helpServices in the README.';

/** Problems with a whole document (after a change), as sentences. */
export function documentProblems(doc: PolicyDocument, env: PolicyEnv): string[] {
  const ids = new Set(env.categories.map((c) => c.id));
  const illegal = illegalIds(env.categories);
  const problems = groupProblems(doc.groups, ids).map((p) => `${formatAt(p.at)}: ${p.message}`);
  if (doc.groups.length === 0) problems.push('the policy needs at least one group');
  doc.groups.forEach((g) => {
    for (const c of [...g.block, ...g.schedules.flatMap((s) => s.block)])
      if (illegal.has(c)) problems.push(`group ${g.name}: ${c} is an illegal category, outside the policy (always blocked)`);
  });
  const names = new Set(doc.groups.map((g) => g.name));
  for (const e of doc.exceptions) {
    for (const g of e.groups) if (!names.has(g)) problems.push(`${e.action} exception for ${e.domain}: unknown group "${g}"`);
  }
  for (const s of doc.switchOffs) {
    if (s.target.kind === 'group' && !names.has(s.target.group)) problems.push(`filtering off: unknown group "${s.target.group}"`);
  }
  const keys = new Set<string>();
  for (const m of doc.identityGroups) {
    if (!names.has(m.group))
      problems.push(
        `roster mapping for ${mappingWords(m)}: there is no group "${m.group}" in the policy ` +
          '(a group a roster mapping uses cannot be removed: move or remove the mapping first, or in the same change)',
      );
    if (keys.has(mappingKey(m))) problems.push(`roster mapping for ${mappingWords(m)}: given twice`);
    keys.add(mappingKey(m));
  }
  return problems;
}

/** A roster value a mapping can match: no surrounding spaces or control characters; an org unit is a path. */
export function mappingValueProblems(attribute: string, value: string): string[] {
  if (value.trim() !== value || value === '' || /[\p{Cc}]/u.test(value))
    return ['Roster value: give the value as the roster has it, without spaces around it.'];
  if (attribute === 'orgUnit' && !value.startsWith('/')) return [`Org unit: "${value}" is not an org unit path such as /Students/Year 9.`];
  return [];
}

function formatAt(at: (string | number)[]): string {
  return at.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

export interface RequestShape {
  ops: readonly ChangeOp[];
  startsAt: number | null;
  endsAt: number | null;
}

/**
 * Check a request's operations against the policy in force; throws a
 * ChangeError listing every problem. Returns the document it would lead to.
 */
export function checkRequest(r: RequestShape, doc: PolicyDocument, env: PolicyEnv, ctx: ApplyContext): PolicyDocument {
  const problems: string[] = [];
  const ids = new Set(env.categories.map((c) => c.id));
  const illegal = illegalIds(env.categories);
  let touchesIllegal = false;
  const start = r.startsAt ?? ctx.now;
  if (r.endsAt !== null && r.endsAt <= start) problems.push('End: the end must be after the start.');
  for (const op of r.ops) {
    if (op.op === 'exception-add' || op.op === 'exception-remove' || op.op === 'exception-groups') {
      if (normaliseDomain(op.domain) !== op.domain) problems.push(`Domain: "${op.domain}" is not a domain name such as www.example.org.`);
      // A name on an illegal list is never excepted, and never stored: the message never says which list.
      else if (op.op !== 'exception-remove' && env.isIllegal?.(op.domain)) touchesIllegal = true;
      // The policy lets help services through whatever a deny exception says: refuse one that would do nothing.
      else if (op.op === 'exception-add' && op.action === 'deny' && env.isHelpService?.(op.domain)) problems.push(HELP_SERVICE_MESSAGE);
    }
    if (op.op === 'category-block' || op.op === 'category-unblock') {
      if (illegal.has(op.category)) touchesIllegal = true;
      else if (!ids.has(op.category)) problems.push(`Category: unknown category "${op.category}".`);
    }
    if (op.op === 'filtering-off' && !op.restore) {
      if (r.endsAt === null) problems.push('End: switching filtering off is always temporary; give the time it ends.');
      else if (r.endsAt - start > env.maxSwitchOffHours * 3_600_000)
        problems.push(`End: filtering can be off for at most ${env.maxSwitchOffHours} hours (changeControl.maxSwitchOffHours).`);
      if (op.target.kind === 'network' && !isCidr(op.target.network))
        problems.push(`Network: "${op.target.network}" is not a network such as 10.1.5.0/24 (one device: 10.1.5.20/32).`);
      if (op.target.kind === 'person' && !env.people)
        problems.push('Person: people are recognised only with identity sources; switch off the device’s address (a /32 network) instead.');
    }
    if (op.op === 'mapping-set') problems.push(...mappingValueProblems(op.attribute, op.value));
  }
  if (touchesIllegal) throw new ChangeError('GH_ERR_CHANGE_ILLEGAL', ILLEGAL_CHANGE);
  if (problems.length > 0) throw new ChangeError('GH_ERR_CHANGE_INVALID', problems[0], problems);
  const applied = applyOps(doc, r.ops, ctx, 'strict');
  // Judged on what it brings: a problem the policy in force has already (a category the file has since made illegal) is not this change's.
  const already = new Set(documentProblems(doc, env));
  const after = documentProblems(applied.doc, env).filter((p) => !already.has(p));
  if (after.length > 0) throw new ChangeError('GH_ERR_CHANGE_INVALID', after[0], after);
  if (applied.notes.length === r.ops.length)
    throw new ChangeError('GH_ERR_CHANGE_NOTHING', `This changes nothing: ${applied.notes.join('; ')}.`, applied.notes);
  return applied.doc;
}
