// The `identity` part of the config file: where Gatehouse learns who and what
// is behind a client address (DHCP lease files, RADIUS accounting, reverse DNS,
// the roster) and how a roster attribute maps to a group. Every source is off
// unless configured. Cross-references (groups) are checked by
// checkIdentityConfig, called from the config loader; relative paths are
// resolved from the config file's directory by resolveIdentityPaths.
import { resolve } from 'node:path';
import { z } from 'zod';
import { validate as isCronExpression } from 'node-cron';
import ipaddr from 'ipaddr.js';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/, 'expected IP:PORT, for example 0.0.0.0:1813 or [::]:1813');
const cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'expected a network in CIDR notation, for example 10.0.0.0/8');

export const leaseFormats = ['kea', 'dhcpd', 'dnsmasq', 'windows-csv'] as const;
export type LeaseFormat = (typeof leaseFormats)[number];

const dhcpSchema = z.strictObject({
  format: z.enum(leaseFormats),
  /** The lease file the DHCP server writes (or the CSV a scheduled task exports); re-read when it changes. */
  path: z.string().min(1),
  /** windows-csv only: how the export writes dates ("dmy" for en-GB servers, "mdy" for en-US). */
  dateOrder: z.enum(['dmy', 'mdy']).default('dmy'),
  /** windows-csv only: the time zone the export's local times are in. */
  timezone: z.string().default('Europe/London'),
  /** How often the file's size and time are checked, besides change notifications. */
  pollSeconds: z.number().int().min(1).max(3600).default(5),
});

const radiusClientSchema = z
  .strictObject({
    /** Addresses the accounting requests come from (the Wi-Fi controller, NPS, FreeRADIUS). */
    network: cidr,
    secret: z.string().min(1).optional(),
    /** File holding the shared secret (first line), so the config file need not. */
    secretFile: z.string().min(1).optional(),
  })
  .refine((c) => (c.secret === undefined) !== (c.secretFile === undefined), 'give exactly one of secret and secretFile');

const radiusSchema = z.strictObject({
  /** Where the accounting server listens (RFC 2866's port is 1813). */
  listen: hostPort,
  clients: z.array(radiusClientSchema).min(1),
  /**
   * A session with no Stop is forgotten this long after its last Start or
   * Interim-Update (a lost Stop must not leave a person on an address that
   * DHCP gives to someone else). Set it to at least twice the controller's
   * interim interval.
   */
  sessionTimeoutSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .default(3600),
});

const reverseDnsSchema = z.strictObject({
  /** The school's own DNS server (the domain controller), which holds the PTR records. */
  server: hostPort,
  /** Client networks whose addresses are looked up; others never are. */
  networks: z.array(cidr).min(1),
  timeoutMs: z.number().int().min(100).max(10_000).default(2000),
  /** Bounds on how long a name (or the lack of one) is kept, whatever the record's TTL. */
  minTtlSeconds: z.number().int().min(0).default(300),
  maxTtlSeconds: z.number().int().min(1).default(86_400),
  negativeTtlSeconds: z.number().int().min(1).default(900),
  /** Look-ups in flight at once. */
  concurrency: z.number().int().min(1).max(64).default(4),
});

export const rosterFormats = ['google', 'generic'] as const;
export type RosterFormat = (typeof rosterFormats)[number];

const rosterSchema = z.strictObject({
  /** `file:PATH` of a CSV file: Google Workspace's user export, or the generic format (README). */
  source: z.string().regex(/^file:./, 'expected file:PATH'),
  format: z.enum(rosterFormats),
  /** node-cron expression; the file is read again only when its size or time changed. */
  refresh: z
    .string()
    .refine((expr) => isCronExpression(expr), 'expected a cron expression, for example "*/15 * * * *"')
    .default('*/15 * * * *'),
  /** An import that would remove more than this share of the people this source holds is refused (a cut-short export). */
  maxRemovedPercent: z.number().int().min(0).max(100).default(50),
});

export const groupMapSchema = z
  .strictObject({
    /** An org unit path; it matches the unit and the units below it, the longest path winning. */
    orgUnit: z.string().regex(/^\//, 'expected an org unit path such as /Students/Year 9').optional(),
    /** A role (generic format's `role` column), compared case-insensitively. */
    role: z.string().min(1).optional(),
    /** A year group (generic format's `year_group` column), compared case-insensitively. */
    yearGroup: z.string().min(1).optional(),
    group: z.string().min(1),
  })
  .refine(
    (m) => [m.orgUnit, m.role, m.yearGroup].filter((v) => v !== undefined).length === 1,
    'give exactly one of orgUnit, role and yearGroup',
  );

export const identitySchema = z.strictObject({
  /** Which wins when the roster's group for a person and the network's group disagree. */
  precedence: z.enum(['person', 'network']).default('person'),
  /**
   * The school's own user-name domains (e.g. school.example): `jsmith@school.example`
   * is then the roster's `jsmith`. Names in other domains are only ever themselves.
   */
  domains: z.array(z.string().regex(/^[a-z0-9.-]+$/i, 'expected a domain such as school.example')).default([]),
  dhcp: z.array(dhcpSchema).default([]),
  radius: radiusSchema.optional(),
  reverseDns: reverseDnsSchema.optional(),
  roster: z.array(rosterSchema).default([]),
  /**
   * Roster attribute → group. Seeds the governed policy (src/changes/) at its first start, or
   * the first start of a version that governs them; after that the policy's mappings apply.
   */
  groups: z.array(groupMapSchema).default([]),
});

export type IdentityConfig = z.infer<typeof identitySchema>;
export type DhcpSourceConfig = z.infer<typeof dhcpSchema>;
export type RadiusConfig = z.infer<typeof radiusSchema>;
export type ReverseDnsConfig = z.infer<typeof reverseDnsSchema>;
export type RosterConfig = z.infer<typeof rosterSchema>;
export type GroupMapping = z.infer<typeof groupMapSchema>;

/** References from `identity` to the rest of the config; `groups` null: group names not checked here (the governed policy's). */
export function checkIdentityConfig(
  identity: IdentityConfig,
  groups: readonly { name: string }[] | null,
): { at: (string | number)[]; message: string }[] {
  const problems: { at: (string | number)[]; message: string }[] = [];
  const names = groups && new Set(groups.map((g) => g.name));
  identity.groups.forEach((m, i) => {
    if (names && !names.has(m.group)) problems.push({ at: ['identity', 'groups', i, 'group'], message: `unknown group "${m.group}"` });
  });
  identity.dhcp.forEach((d, i) => {
    try {
      new Intl.DateTimeFormat('en-GB', { timeZone: d.timezone });
    } catch {
      problems.push({ at: ['identity', 'dhcp', i, 'timezone'], message: `unknown time zone "${d.timezone}"` });
    }
  });
  const badNetwork = (at: (string | number)[], n: string) => {
    try {
      ipaddr.parseCIDR(n);
    } catch {
      problems.push({ at, message: `"${n}" is not a network in CIDR notation` });
    }
  };
  identity.radius?.clients.forEach((c, i) => badNetwork(['identity', 'radius', 'clients', i, 'network'], c.network));
  identity.reverseDns?.networks.forEach((n, i) => badNetwork(['identity', 'reverseDns', 'networks', i], n));
  const sources = new Set<string>();
  identity.roster.forEach((r, i) => {
    if (sources.has(r.source)) problems.push({ at: ['identity', 'roster', i, 'source'], message: `duplicate roster source "${r.source}"` });
    sources.add(r.source);
  });
  return problems;
}

export function resolveIdentityPaths(identity: IdentityConfig, base: string): void {
  for (const d of identity.dhcp) d.path = resolve(base, d.path);
  for (const r of identity.roster) r.source = 'file:' + resolve(base, r.source.slice('file:'.length));
  for (const c of identity.radius?.clients ?? []) if (c.secretFile) c.secretFile = resolve(base, c.secretFile);
}
