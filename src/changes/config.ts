// The `changeControl` part of the config file: who may apply an emergency
// change, how soon an approver must review it, how long filtering may be off,
// and who is told about changes. Messages go through the alert channels
// (e-mail, webhook) and their outbox, so a mail server that is down delays
// them and loses none.
import { z } from 'zod';
import type { AlertsConfig } from '../alerts/config.js';

const recipients = z.strictObject({
  /** E-mail addresses (through alerts.channels.email's server). */
  email: z.array(z.string().regex(/^[^\s@]+@[^\s@]+$/, 'expected an e-mail address')).default([]),
  /** Also post to alerts.channels.webhook (a Teams or Slack channel). */
  webhook: z.boolean().default(false),
});

export const changeControlSchema = z.strictObject({
  /** Admin accounts that may apply a change at once as an emergency (flagged, reviewed afterwards). */
  emergencyAdmins: z.array(z.string().min(1)).default([]),
  /** An emergency change must be approved by an approver within this many hours, else it shows as overdue. */
  emergencyReviewHours: z
    .number()
    .min(1)
    .max(24 * 31)
    .default(72),
  /** The longest a switch-off (filtering off for a group, network or person) may last. */
  maxSwitchOffHours: z
    .number()
    .min(0.25)
    .max(24 * 14)
    .default(24),
  notify: z
    .strictObject({
      /** Each request waiting for approval (the menu counts them too). */
      approvers: recipients.prefault({}),
      /** Emergency changes; omitted: where the DSL's alerts go (the e-mail channel's own recipients, and the webhook). */
      dsl: recipients.optional(),
      /** Changes to which categories a group blocks, as they apply (the trust's ICT director). */
      categoryChanges: recipients.prefault({}),
    })
    .prefault({}),
});

export type ChangeControlConfig = z.infer<typeof changeControlSchema>;
export type Recipients = z.infer<typeof recipients>;

/** Recipients naming a channel alerts.channels does not configure. */
export function checkChangeControlConfig(cc: ChangeControlConfig, alerts: AlertsConfig): { at: (string | number)[]; message: string }[] {
  const problems: { at: (string | number)[]; message: string }[] = [];
  for (const key of ['approvers', 'dsl', 'categoryChanges'] as const) {
    const r = cc.notify[key];
    if (!r) continue;
    if (r.email.length > 0 && !alerts.channels.email)
      problems.push({
        at: ['changeControl', 'notify', key, 'email'],
        message: 'e-mail needs alerts.channels.email (its server sends these)',
      });
    if (r.webhook && !alerts.channels.webhook)
      problems.push({ at: ['changeControl', 'notify', key, 'webhook'], message: 'alerts.channels.webhook is not configured' });
  }
  return problems;
}
