// Who is told about a change, and in what words: approvers get each request
// waiting for them; approvers and the DSL get every emergency change; the
// configured recipients (the trust's ICT director) get each change to which
// categories a group blocks as it applies. The texts say what changes in
// plain words and where to act; they never hold a list entry.
import type { ChannelName } from '../alerts/config.js';
import type { Notice } from '../alerts/types.js';
import type { Config } from '../config.js';
import type { Recipients } from './config.js';
import { sentences } from './describe.js';
import type { ChangeRequest } from './store.js';

/** Where a notice goes: the e-mail addresses and channels of a recipients entry. */
function route(r: Recipients | undefined, config: Config, fallbackToDsl: boolean): Pick<Notice, 'email' | 'channels'> | null {
  if (!r) {
    if (!fallbackToDsl) return null;
    // The DSL by default: where safeguarding alerts go (the e-mail channel's own recipients, the webhook).
    const channels: ChannelName[] = [];
    if (config.alerts.channels.email) channels.push('email');
    if (config.alerts.channels.webhook) channels.push('webhook');
    return channels.length ? { channels } : null;
  }
  const channels: ChannelName[] = [];
  if (r.email.length > 0) channels.push('email');
  if (r.webhook) channels.push('webhook');
  return channels.length ? { channels, email: r.email } : null;
}

function when(ms: number | null, none: string): string {
  return ms === null
    ? none
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/:\d{2}\.\d{3}Z$/, ' UTC');
}

/** Where the admin UI is, for the link in a message. */
export function adminLink(config: Config, path: string): string {
  const scheme = config.admin.tls ? 'https' : 'http';
  const host = config.admin.hostnames[0] ?? config.admin.listen;
  return `${scheme}://${host}${path}`;
}

function body(c: ChangeRequest, config: Config, intro: string): string {
  const lines = [
    intro,
    '',
    `Change request #${c.id}: ${c.summary}`,
    `Asked for by: ${c.requester ?? '-'} (entered by ${c.submittedBy ?? c.createdBy})`,
    `Subject area:  ${c.subjectArea ?? '-'}`,
    `Reason:        ${c.reason ?? '-'}`,
    `Groups:        ${c.groups.join(', ') || '-'}`,
    `Risk:          ${c.risk ?? '-'}`,
    `Backout plan:  ${c.backout ?? '-'}`,
    `Applies:       ${when(c.startsAt, 'once approved')}`,
    `Ends:          ${when(c.endsAt, 'no end (it stays)')}`,
    '',
    'What changes:',
    ...sentences(c.described).map((s) => `  - ${s}`),
    '',
    adminLink(config, `/changes/${c.id}`),
  ];
  return lines.join('\n') + '\n';
}

export function waitingNotice(c: ChangeRequest, config: Config): Notice | null {
  const to = route(config.changeControl.notify.approvers, config, false);
  return (
    to && {
      kind: 'change-waiting',
      subject: `Change request #${c.id} waits for your approval: ${c.summary}`,
      text: body(
        c,
        config,
        'A filtering change waits for an approver. Approve or refuse it in Gatehouse (you cannot approve a change you asked for).',
      ),
      changeId: c.id,
      ...to,
    }
  );
}

/** An emergency change: to the approvers and to the DSL (two notices when they are different people). */
export function emergencyNotices(c: ChangeRequest, config: Config): Notice[] {
  const intro = `An emergency filtering change was applied at once by ${c.appliedBy}. An approver must review it by ${when(c.reviewDueAt, '-')}, else it shows as overdue.`;
  const out: Notice[] = [];
  for (const to of [route(config.changeControl.notify.approvers, config, false), route(config.changeControl.notify.dsl, config, true)]) {
    if (to)
      out.push({
        kind: 'emergency-change',
        subject: `EMERGENCY change #${c.id} applied: ${c.summary}`,
        text: body(c, config, intro),
        changeId: c.id,
        ...to,
      });
  }
  return out;
}

export function overdueNotice(c: ChangeRequest, config: Config): Notice | null {
  const to = route(config.changeControl.notify.approvers, config, false);
  return (
    to && {
      kind: 'emergency-overdue',
      subject: `Emergency change #${c.id} is overdue for review`,
      text: body(c, config, `This emergency change was due for review by ${when(c.reviewDueAt, '-')} and no approver has reviewed it.`),
      changeId: c.id,
      ...to,
    }
  );
}

/** A change to which categories a group blocks, as it applies (or ends, or is reverted). */
export function categoryNotice(c: ChangeRequest, config: Config, what: 'applied' | 'ended' | 'reverted'): Notice | null {
  const to = route(config.changeControl.notify.categoryChanges, config, false);
  const intro =
    what === 'applied'
      ? `A change to what is filtered has been applied (approved by ${c.decidedBy ?? 'no one yet: an emergency change'}).`
      : what === 'ended'
        ? 'A temporary change to what is filtered has ended: what it did is undone.'
        : 'A change to what is filtered has been reverted.';
  return (
    to && {
      kind: 'category-change',
      subject: `Filtering change #${c.id} ${what}: ${c.summary}`,
      text: body(c, config, intro),
      changeId: c.id,
      ...to,
    }
  );
}
