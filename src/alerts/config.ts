// The `alerts` part of the config file: channels, routing by severity, rules
// (per-group severity overrides, thresholds), throttling, the daily digest and
// operational alerts for IT. Cross-references to groups and categories are
// checked by checkAlertsConfig, called from the config loader.
import { resolve } from 'node:path';
import { z } from 'zod';
import { validate as isCronExpression } from 'node-cron';

export const severities = ['none', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];
/** Severities that can alert (`none` never does). */
export const alertingSeverities = ['low', 'medium', 'high', 'critical'] as const;
export type AlertingSeverity = (typeof alertingSeverities)[number];

export const channelNames = ['email', 'webhook', 'syslog'] as const;
export type ChannelName = (typeof channelNames)[number];

const severity = z.enum(severities);
const channelName = z.enum(channelNames);

const emailSchema = z
  .strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(587),
    /** Implicit TLS from the first byte (port 465). */
    secure: z.boolean().default(false),
    /** Upgrade with STARTTLS when the server offers it. */
    starttls: z.boolean().default(true),
    /** Refuse to send unless STARTTLS succeeds (recommended off-site). */
    requireTLS: z.boolean().default(false),
    tls: z
      .strictObject({
        rejectUnauthorized: z.boolean().default(true),
        /** PEM file with the CA that signed the server's certificate. */
        ca: z.string().optional(),
        servername: z.string().optional(),
      })
      .default({ rejectUnauthorized: true }),
    auth: z
      .strictObject({
        user: z.string().min(1),
        password: z.string().optional(),
        /** File holding the password, so the config file need not. */
        passwordFile: z.string().optional(),
      })
      .refine((a) => (a.password === undefined) !== (a.passwordFile === undefined), 'give exactly one of password and passwordFile')
      .optional(),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
    timeoutMs: z.number().int().min(500).max(120_000).default(15_000),
  })
  .refine((e) => !(e.secure && e.requireTLS), {
    message: 'secure (implicit TLS) and requireTLS (STARTTLS) exclude each other',
    path: ['requireTLS'],
  })
  .refine((e) => !(e.requireTLS && !e.starttls), { message: 'requireTLS needs starttls', path: ['requireTLS'] });

const webhookSchema = z
  .strictObject({
    url: z.string().regex(/^https?:\/\//, 'expected an http:// or https:// URL'),
    /** Key for the X-Gatehouse-Signature HMAC-SHA256 header. */
    secret: z.string().min(16, 'use at least 16 characters').optional(),
    secretFile: z.string().optional(),
    format: z.enum(['generic', 'teams', 'slack']).default('generic'),
    timeoutMs: z.number().int().min(500).max(120_000).default(10_000),
  })
  .refine((w) => !(w.secret !== undefined && w.secretFile !== undefined), {
    message: 'give at most one of secret and secretFile',
    path: ['secret'],
  });

export const syslogFacilities = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;

const syslogSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535).default(514),
  /** UDP is fire-and-forget (RFC 5426); TCP (RFC 6587, octet counting) reports a down collector. */
  protocol: z.enum(['udp', 'tcp']).default('udp'),
  facility: z.enum(Object.keys(syslogFacilities) as [keyof typeof syslogFacilities]).default('local0'),
  appName: z
    .string()
    .regex(/^[!-~]{1,48}$/, 'printable ASCII without spaces, at most 48 characters')
    .default('gatehouse'),
  timeoutMs: z.number().int().min(500).max(120_000).default(10_000),
});

const thresholdSchema = z.strictObject({
  /** Blocked lookups from one client in one category... */
  count: z.number().int().min(1).max(10_000),
  /** ...within this many minutes before an alert is raised. */
  withinMinutes: z.number().min(0.1).max(1440),
});

const ruleSchema = z
  .strictObject({
    /** Group name; omitted = every group. */
    group: z.string().optional(),
    /** Category id; omitted = every category. */
    category: z.string().optional(),
    /** Replaces the category's severity for matching lookups. */
    severity: severity.optional(),
    threshold: thresholdSchema.optional(),
  })
  .refine((r) => r.group !== undefined || r.category !== undefined, 'a rule needs a group, a category or both')
  .refine((r) => r.severity !== undefined || r.threshold !== undefined, 'a rule needs a severity, a threshold or both');

const routesSchema = z.strictObject({
  critical: z.array(channelName).optional(),
  high: z.array(channelName).optional(),
  medium: z.array(channelName).optional(),
  low: z.array(channelName).optional(),
});

export const operationalKinds = [
  'link-failover',
  'link-failback',
  'list-refresh-failed',
  'querylog-dropped',
  'disk-nearly-full',
  'check-failed',
  'client-rate-limited',
  'system-resolvers-missing',
  'account-locked',
  'config-rejected',
  'certificate-expiring',
  'certificate-expired',
  'certificate-reload-failed',
  'change-test-failed',
  'emergency-change',
  'emergency-review-overdue',
] as const;
export type OperationalKind = (typeof operationalKinds)[number];

export const alertsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    channels: z
      .strictObject({ email: emailSchema.optional(), webhook: webhookSchema.optional(), syslog: syslogSchema.optional() })
      .default({}),
    /** Severity → channels for immediate alerts. An omitted severity goes to every configured channel, unless it is a digest severity. */
    routes: routesSchema.default({}),
    digest: z
      .strictObject({
        severities: z.array(z.enum(alertingSeverities)).default(['low']),
        /** node-cron expression (minute hour day month weekday). */
        schedule: z
          .string()
          .refine((s) => isCronExpression(s), 'not a valid cron expression')
          .default('0 7 * * *'),
        timezone: z.string().default('Europe/London'),
        /** Omitted = email when configured, else every configured channel. */
        channels: z.array(channelName).optional(),
      })
      .default({ severities: ['low'], schedule: '0 7 * * *', timezone: 'Europe/London' }),
    /** One alert per client and category per window; repeats within it add to its count. */
    throttle: z.strictObject({ windowMinutes: z.number().min(0.01).max(10_080).default(60) }).default({ windowMinutes: 60 }),
    /** Default threshold; 1 lookup = alert on the first one. */
    threshold: thresholdSchema.default({ count: 1, withinMinutes: 10 }),
    /** The most specific matching rule wins: group+category, then category, then group. */
    rules: z.array(ruleSchema).default([]),
    operational: z
      .strictObject({
        /** Omitted = every configured channel. */
        channels: z.array(channelName).optional(),
        kinds: z.array(z.enum(operationalKinds)).default([...operationalKinds]),
        /** One alert per kind per window; repeats add to its count. */
        throttleMinutes: z.number().min(0).max(1440).default(15),
        /** disk-nearly-full fires when the database's filesystem is this full (percent, as df reports it). */
        diskUsedPercent: z.number().min(1).max(100).default(90),
        diskCheckMinutes: z.number().min(0.01).max(1440).default(5),
      })
      .prefault({}),
    delivery: z
      .strictObject({
        /** Pending alerts and counts are written to SQLite this often (ms). */
        flushMs: z.number().int().min(10).max(5000).default(250),
        retryBaseMs: z.number().int().min(10).default(2000),
        retryMaxMs: z.number().int().min(10).default(300_000),
        /** Distinct client+category pairs tracked in memory for throttling and thresholds. */
        maxTracked: z.number().int().min(100).default(100_000),
      })
      .default({ flushMs: 250, retryBaseMs: 2000, retryMaxMs: 300_000, maxTracked: 100_000 }),
  })
  .superRefine((a, ctx) => {
    const configured = new Set(channelNames.filter((c) => a.channels[c] !== undefined));
    const check = (list: ChannelName[] | undefined, path: (string | number)[]) =>
      list?.forEach((c, i) => {
        if (!configured.has(c))
          ctx.addIssue({ code: 'custom', message: `channel "${c}" is not configured under alerts.channels`, path: [...path, i] });
      });
    for (const s of alertingSeverities) check(a.routes[s], ['routes', s]);
    check(a.digest.channels, ['digest', 'channels']);
    check(a.operational.channels, ['operational', 'channels']);
    if (a.delivery.retryMaxMs < a.delivery.retryBaseMs) {
      ctx.addIssue({ code: 'custom', message: 'retryMaxMs must be at least retryBaseMs', path: ['delivery', 'retryMaxMs'] });
    }
  });

export type AlertsConfig = z.infer<typeof alertsSchema>;
export type EmailConfig = z.infer<typeof emailSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
export type SyslogConfig = z.infer<typeof syslogSchema>;
export type AlertRuleConfig = z.infer<typeof ruleSchema>;
export type Threshold = z.infer<typeof thresholdSchema>;

/** Checks against the rest of the config (group names, category ids, time zone); `groups` null: not checked here (the governed policy's). */
export function checkAlertsConfig(
  alerts: AlertsConfig,
  groups: readonly { name: string }[] | null,
  categories: readonly { id: string }[],
): { at: (string | number)[]; message: string }[] {
  const problems: { at: (string | number)[]; message: string }[] = [];
  const groupNames = groups && new Set(groups.map((g) => g.name));
  const categoryIds = new Set(categories.map((c) => c.id));
  alerts.rules.forEach((r, i) => {
    if (r.group !== undefined && groupNames && !groupNames.has(r.group))
      problems.push({ at: ['alerts', 'rules', i, 'group'], message: `unknown group "${r.group}"` });
    if (r.category !== undefined && !categoryIds.has(r.category)) {
      problems.push({ at: ['alerts', 'rules', i, 'category'], message: `unknown category "${r.category}"` });
    }
  });
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: alerts.digest.timezone });
  } catch {
    problems.push({ at: ['alerts', 'digest', 'timezone'], message: `unknown time zone "${alerts.digest.timezone}"` });
  }
  return problems;
}

/** File paths in the alerts config are relative to the config file. */
export function resolveAlertPaths(alerts: AlertsConfig, base: string): void {
  const email = alerts.channels.email;
  if (email?.tls.ca) email.tls.ca = resolve(base, email.tls.ca);
  if (email?.auth?.passwordFile) email.auth.passwordFile = resolve(base, email.auth.passwordFile);
  const webhook = alerts.channels.webhook;
  if (webhook?.secretFile) webhook.secretFile = resolve(base, webhook.secretFile);
}

/** Channels that receive immediate alerts of a severity. */
export function routeFor(alerts: AlertsConfig, s: AlertingSeverity): ChannelName[] {
  const explicit = alerts.routes[s];
  if (explicit) return explicit;
  if (alerts.digest.severities.includes(s)) return [];
  return configuredChannels(alerts);
}

export function digestChannels(alerts: AlertsConfig): ChannelName[] {
  if (alerts.digest.channels) return alerts.digest.channels;
  return alerts.channels.email ? ['email'] : configuredChannels(alerts);
}

export function operationalChannels(alerts: AlertsConfig): ChannelName[] {
  return alerts.operational.channels ?? configuredChannels(alerts);
}

export function configuredChannels(alerts: AlertsConfig): ChannelName[] {
  return channelNames.filter((c) => alerts.channels[c] !== undefined);
}
