// The `reports` part of the config file: the school's zone and name on the
// reports, where links in messages point, the PDF font, and per report its
// schedule (cron, local time), recipients and channels. Channels must be
// configured under alerts.channels: reports go out through the alert outbox.
import { resolve } from 'node:path';
import { z } from 'zod';
import { validate as isCronExpression } from 'node-cron';

const channel = z.enum(['email', 'webhook']);
const cronExpression = z.string().refine((s) => isCronExpression(s), 'not a valid cron expression (minute hour day month weekday)');
const recipients = z.array(z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/, 'expected an e-mail address')).default([]);

const sending = {
  /** When it is sent (cron, local time in reports.timezone); omitted: only made on demand. */
  schedule: cronExpression.optional(),
  /** E-mail addresses; empty: the e-mail channel's own recipients (alerts.channels.email.to). */
  recipients,
  channels: z.array(channel).min(1).default(['email']),
};

export const reportsSchema = z.strictObject({
  /** The zone of the reports' days and times; default admin.timezone. */
  timezone: z.string().optional(),
  /** The school's name on every report. */
  site: z.string().min(1).max(200).default('Gatehouse'),
  /** The admin UI's address as people open it (links in webhook messages and e-mails), e.g. https://gatehouse.school.example. */
  url: z
    .string()
    .regex(/^https?:\/\/[^\s/]+/, 'expected an http:// or https:// URL')
    .optional(),
  /** A TrueType font with the accents of pupils' names; default DejaVu Sans (Debian: fonts-dejavu-core). */
  fontFile: z.string().optional(),
  weekly: z
    .strictObject({
      ...sending,
      /** Help-and-support lookups in the weekly report: off, counts by day and group, or also who looked them up. */
      helpLookups: z.enum(['off', 'counts', 'people']).default('off'),
      /** An alert still not closed this many hours after it was raised is overdue. */
      alertOverdueHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 60)
        .default(48),
    })
    .prefault({}),
  board: z
    .strictObject({
      ...sending,
      /** Months each extract covers. */
      months: z.number().int().min(1).max(12).default(2),
    })
    .prefault({}),
  annual: z.strictObject(sending).prefault({}),
});

export type ReportsConfig = z.infer<typeof reportsSchema>;

/** Checks against the rest of the config: the zone, and channels that exist. */
export function checkReportsConfig(
  reports: ReportsConfig,
  channels: { email?: unknown; webhook?: unknown },
): { at: (string | number)[]; message: string }[] {
  const problems: { at: (string | number)[]; message: string }[] = [];
  if (reports.timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-GB', { timeZone: reports.timezone });
    } catch {
      problems.push({ at: ['reports', 'timezone'], message: `unknown time zone "${reports.timezone}"` });
    }
  }
  for (const kind of ['weekly', 'board', 'annual'] as const) {
    const r = reports[kind];
    if (r.schedule === undefined) continue;
    r.channels.forEach((c, i) => {
      if (channels[c] === undefined)
        problems.push({ at: ['reports', kind, 'channels', i], message: `channel "${c}" is not configured under alerts.channels` });
    });
    if (r.channels.includes('webhook') && reports.url === undefined)
      problems.push({ at: ['reports', 'url'], message: `reports.${kind} goes to a webhook, which sends a link: set reports.url` });
  }
  return problems;
}

export function resolveReportPaths(reports: ReportsConfig, base: string): void {
  if (reports.fontFile) reports.fontFile = resolve(base, reports.fontFile);
}
