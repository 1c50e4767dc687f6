// From a form or a JSON body to a change request: the operations the form asks
// for ("allow this site for these groups", "unblock this category", "filtering
// off for this network for two hours", "people in org unit /Students/Year 9
// are filtered as year9") and the record fields. Every value is
// checked again by src/changes/ (validate.ts); this only reads the fields.
import type { FastifyRequest } from 'fastify';
import { normaliseDomain } from '../lists/names.js';
import { field, fieldList } from './security.js';
import { parseLocalInput } from './views/time.js';
import type { Actor, RequestFields } from '../changes/requests.js';
import { ChangeError } from '../changes/errors.js';
import { parseOps, type ChangeOp, type SwitchTarget } from '../changes/operations.js';
import { MAPPING_ATTRIBUTES, type MappingAttribute } from '../identity/groups.js';

/** The acting account as change control sees it (MFA: the session passed its second step). */
export function actorFrom(request: FastifyRequest): Actor {
  const auth = request.auth!;
  // mfa_done is also set for a login that needed no second step: the account must have MFA on, and this session must have passed it.
  return { name: auth.user.name, id: auth.user.id, role: auth.user.role, mfa: auth.user.totp_enabled === 1 && auth.session.mfa_done === 1 };
}

/** What a form asks for. */
export const FORM_KINDS = [
  'exception',
  'exception-remove',
  'exception-groups',
  'category',
  'safe-search',
  'switch-off',
  'mapping',
] as const;
export type FormKind = (typeof FORM_KINDS)[number];

const HOUR = 3_600_000;

/** The start and end of a form: local times in the school's zone (admin.timezone), or an end given as a number of hours. */
export function timesFrom(body: unknown, now: number, zone: string): Pick<RequestFields, 'startsAt' | 'endsAt'> {
  const startsAt = parseLocalInput(field(body, 'startsAt'), zone) ?? null;
  const hours = Number(field(body, 'endsInHours'));
  const endsAt = parseLocalInput(field(body, 'endsAt'), zone) ?? (hours > 0 ? (startsAt ?? now) + Math.round(hours * HOUR) : null);
  return { startsAt, endsAt };
}

export function recordFrom(body: unknown): Omit<RequestFields, 'startsAt' | 'endsAt'> {
  return {
    requester: field(body, 'requester'),
    subjectArea: field(body, 'subjectArea'),
    reason: field(body, 'reason'),
    risk: field(body, 'risk'),
    backout: field(body, 'backout'),
  };
}

function domainOf(body: unknown): string {
  const raw = field(body, 'domain');
  const d = normaliseDomain(raw);
  if (!d)
    throw new ChangeError('GH_ERR_CHANGE_INVALID', 'Domain: enter a domain name such as www.example.org (no http://, paths or wildcards).');
  return d;
}

function actionOf(body: unknown): 'allow' | 'deny' {
  const a = field(body, 'action');
  if (a !== 'allow' && a !== 'deny') throw new ChangeError('GH_ERR_CHANGE_INVALID', 'Action: choose allow or deny.');
  return a;
}

function groupsOf(body: unknown): string[] {
  const groups = [...new Set(fieldList(body, 'groups'))];
  if (groups.length === 0) throw new ChangeError('GH_ERR_CHANGE_INVALID', 'Groups: choose at least one group.');
  return groups;
}

function targetOf(body: unknown): SwitchTarget {
  switch (field(body, 'target')) {
    case 'group':
      return { kind: 'group', group: field(body, 'group') };
    case 'network': {
      const network = field(body, 'network').trim();
      return { kind: 'network', network: network.includes('/') ? network : `${network}/${network.includes(':') ? 128 : 32}` };
    }
    case 'person':
      return { kind: 'person', person: field(body, 'person').trim() };
    default:
      throw new ChangeError('GH_ERR_CHANGE_INVALID', 'Switch off for: choose a group, a network or a person.');
  }
}

/** The operations a form asks for; throws ChangeError on a field that cannot be read. */
export function opsFromForm(body: unknown): ChangeOp[] {
  const kind = field(body, 'what') as FormKind;
  switch (kind) {
    case 'exception':
      return [{ op: 'exception-add', domain: domainOf(body), action: actionOf(body), groups: groupsOf(body) }];
    case 'exception-remove':
      return [{ op: 'exception-remove', domain: domainOf(body), action: actionOf(body) }];
    case 'exception-groups':
      return [{ op: 'exception-groups', domain: domainOf(body), action: actionOf(body), groups: groupsOf(body) }];
    case 'category': {
      const category = field(body, 'category');
      const op = field(body, 'change') === 'unblock' ? 'category-unblock' : 'category-block';
      return groupsOf(body).map((group) => ({ op, group, category }));
    }
    case 'safe-search': {
      const youtube = field(body, 'youtube');
      return [
        {
          op: 'safe-search',
          group: field(body, 'group'),
          safeSearch: {
            google: field(body, 'google') === 'on',
            bing: field(body, 'bing') === 'on',
            duckduckgo: field(body, 'duckduckgo') === 'on',
            youtube: youtube === 'strict' || youtube === 'moderate' ? youtube : 'off',
          },
        },
      ];
    }
    case 'switch-off':
      return [{ op: 'filtering-off', target: targetOf(body) }];
    case 'mapping': {
      const attribute = field(body, 'attribute');
      if (!(MAPPING_ATTRIBUTES as readonly string[]).includes(attribute))
        throw new ChangeError('GH_ERR_CHANGE_INVALID', 'Roster attribute: choose org unit, role or year group.');
      const value = field(body, 'value').trim();
      if (!value) throw new ChangeError('GH_ERR_CHANGE_INVALID', 'Value: give the org unit, role or year group as the roster has it.');
      const group = field(body, 'group');
      return [{ op: 'mapping-set', attribute: attribute as MappingAttribute, value, group: group === '' ? null : group }];
    }
    default:
      throw new ChangeError('GH_ERR_CHANGE_INVALID', 'Choose what to change.');
  }
}

/** A JSON body's operations, with their domains in the matcher's form. */
export function opsFromJson(value: unknown): ChangeOp[] {
  return parseOps(value).map((op) => {
    if (op.op !== 'exception-add' && op.op !== 'exception-remove' && op.op !== 'exception-groups') return op;
    const domain = normaliseDomain(op.domain);
    if (!domain) throw new ChangeError('GH_ERR_CHANGE_INVALID', `Domain: "${op.domain}" is not a domain name such as www.example.org.`);
    return { ...op, domain };
  });
}

/** A time in a JSON body: ISO 8601 text or milliseconds; null or absent for none. */
export function timeFromJson(value: unknown, name: string): number | null {
  if (value === undefined || value === null || value === '') return null;
  const ms = typeof value === 'number' ? value : Date.parse(String(value));
  if (!Number.isFinite(ms)) throw new ChangeError('GH_ERR_CHANGE_INVALID', `${name}: expected a time such as 2026-03-02T15:30:00Z.`);
  return ms;
}
