// Turns stored alerts into the words and fields that leave the building.
// An illegal category's domain is never stored, and is withheld here again in
// case a row ever carries one.
import type { AlertingSeverity } from './config.js';
import type { Alert, OutgoingMessage, PublicAlert } from './types.js';
import { deviceLabel, NOBODY, personLabel, type WhoView } from '../store/who.js';

export type CategoryNames = ReadonlyMap<string, string>;
/** Who an alert's person and device are now (store/who.ts describeIds). */
export type WhoOf = (a: Alert) => WhoView;

const severityRank: Record<AlertingSeverity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

const operationalTitles: Record<string, string> = {
  'link-failover': 'Failed over to a backup internet link',
  'link-failback': 'Back on the primary internet link',
  'list-refresh-failed': 'A filter list failed to refresh',
  'querylog-dropped': 'Query-log rows were dropped',
  'disk-nearly-full': 'The disk is nearly full',
  'check-failed': 'A filtering check failed',
  'client-rate-limited': 'A device went over the DNS rate limit',
  'system-resolvers-missing': 'No usable nameserver in /etc/resolv.conf',
  'account-locked': 'An admin UI account was locked',
  'change-test-failed': 'A filtering change did not pass its test',
  'emergency-change': 'An emergency filtering change was applied',
  'emergency-review-overdue': 'An emergency change is overdue for review',
};

export function toPublic(a: Alert, names: CategoryNames, whoOf: WhoOf = () => NOBODY): PublicAlert {
  const w = a.personId !== null || a.deviceId !== null ? whoOf(a) : NOBODY;
  return {
    id: a.id,
    kind: a.kind,
    time: new Date(a.createdAt).toISOString(),
    lastTime: new Date(a.lastAt).toISOString(),
    client: a.client,
    clientName: a.clientName,
    user: w.user,
    personName: w.personName,
    device: w.device,
    mac: w.mac,
    group: a.group,
    category: a.category,
    categoryName: a.kind === 'operational' ? (operationalTitles[a.category] ?? a.category) : (names.get(a.category) ?? a.category),
    severity: a.severity,
    domain: a.illegal ? null : a.domain,
    circumvention: a.circumvention,
    count: a.count,
    message: a.message,
    details: a.details,
  };
}

export function renderAlert(a: Alert, key: string, names: CategoryNames, whoOf?: WhoOf): OutgoingMessage {
  const p = toPublic(a, names, whoOf);
  return a.kind === 'operational' ? renderOperational(p, key) : renderSafeguarding(p, a.illegal, key);
}

/** The person, else the device, beside the address: "Jo Smith (jsmith) at 10.0.1.5". */
export function who(p: PublicAlert): string {
  const address = p.clientName ? `${p.client} (${p.clientName})` : (p.client ?? 'unknown client');
  const person = personLabel({ user: p.user, personName: p.personName, erased: false });
  const device = deviceLabel(p);
  return person ? `${person} at ${address}` : device ? `${device} at ${address}` : address;
}

function renderSafeguarding(p: PublicAlert, illegal: boolean, key: string): OutgoingMessage {
  const what = p.circumvention ? `Circumvention attempt: ${p.categoryName}` : p.categoryName;
  const lines = [
    'Gatehouse safeguarding alert',
    '',
    `Severity:  ${p.severity}`,
    `Category:  ${p.categoryName} (${p.category})`,
    `Client:    ${p.clientName ? `${p.client} (${p.clientName})` : (p.client ?? '-')}`,
    `Person:    ${personLabel({ user: p.user, personName: p.personName, erased: false }) || 'not known'}`,
    `Device:    ${deviceLabel(p) || 'not known'}`,
    `Group:     ${p.group ?? '-'}`,
    illegal ? 'Domain:    withheld (illegal content category)' : `Domain:    ${p.domain ?? '-'}`,
    `First:     ${p.time}`,
    `Latest:    ${p.lastTime}`,
    `Lookups:   ${p.count} so far (the inbox keeps the running count)`,
    `Alert id:  ${p.id}`,
    '',
    'Review it and record an outcome in the Gatehouse admin inbox.',
  ];
  return {
    key,
    kind: 'alert',
    severity: p.severity,
    subject: `[Gatehouse] ${p.severity.toUpperCase()}: ${what} from ${who(p)}`,
    text: lines.join('\n') + '\n',
    alerts: [p],
  };
}

function renderOperational(p: PublicAlert, key: string): OutgoingMessage {
  const lines = ['Gatehouse operational alert', '', `What:      ${p.categoryName} (${p.category})`, `Message:   ${p.message ?? '-'}`];
  for (const [k, v] of Object.entries(p.details ?? {}))
    lines.push(`${(k + ':').padEnd(10)} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  lines.push(`First:     ${p.time}`, `Latest:    ${p.lastTime}`, `Times:     ${p.count}`, `Alert id:  ${p.id}`);
  return {
    key,
    kind: 'operational',
    severity: p.severity,
    subject: `[Gatehouse] IT ${p.severity.toUpperCase()}: ${p.categoryName}: ${p.message ?? ''}`.trimEnd(),
    text: lines.join('\n') + '\n',
    alerts: [p],
  };
}

/** One message listing many alerts (the daily digest of low severities). */
export function renderDigest(alerts: Alert[], key: string, names: CategoryNames, whoOf?: WhoOf): OutgoingMessage {
  const items = alerts.map((a) => toPublic(a, names, whoOf));
  const top = items.reduce<AlertingSeverity>((s, p) => (severityRank[p.severity] > severityRank[s] ? p.severity : s), 'low');
  const lines = [`Gatehouse daily digest: ${items.length} alert${items.length === 1 ? '' : 's'}`, ''];
  for (const [i, p] of items.entries()) {
    const domain = alerts[i].illegal ? 'domain withheld' : (p.domain ?? '-');
    lines.push(
      `${p.time}  ${p.severity.padEnd(8)} ${p.categoryName}  ${who(p)}  group ${p.group ?? '-'}  ${domain}  x${p.count}  (alert ${p.id})`,
    );
  }
  lines.push('', 'Review them and record outcomes in the Gatehouse admin inbox.');
  return {
    key,
    kind: 'digest',
    severity: top,
    subject: `[Gatehouse] Daily digest: ${items.length} alert${items.length === 1 ? '' : 's'}`,
    text: lines.join('\n') + '\n',
    alerts: items,
  };
}
