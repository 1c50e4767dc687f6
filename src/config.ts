// Config file loading and validation. The file is YAML; every error names the
// key path and the line it is on, so a technician can fix it without guessing.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { z } from 'zod';
import cron from 'node-cron';
import { adminConfigSchema } from './admin/config.js';
import { alertsSchema, checkAlertsConfig, resolveAlertPaths } from './alerts/config.js';
import { BUILT_IN_CATEGORIES } from './resolver/categories.js';
import { normaliseDomain } from './lists/names.js';
import { BUILT_IN_HELP_SERVICES } from './resolver/help-services.js';
import { identitySchema, checkIdentityConfig, resolveIdentityPaths } from './identity/config.js';
import { checkEncryptedConfig, dohSchema, dotSchema, tlsSchema } from './resolver/encrypted-config.js';
import { changeControlSchema, checkChangeControlConfig } from './changes/config.js';
import { checkReportsConfig, reportsSchema, resolveReportPaths } from './reports/config.js';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/, 'expected IP:PORT, for example 127.0.0.1:5353 or [::1]:5353');

const upstreamUrl = z
  .string()
  .regex(
    /^(?:(udp|tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}|system)$/,
    'expected udp://IP:PORT, tcp://IP:PORT, tls://IP:PORT or system (the nameservers of /etc/resolv.conf)',
  );

const cidr = z.string().refine((n) => isCidr(n), 'expected a network in CIDR notation, for example 10.0.0.0/8 or fd00::/8');

/** Per-client query rate limit (token buckets), see src/resolver/admission.ts. */
const rateLimitSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Sustained queries per second from one client address, and the burst it may send at once. */
  qps: z.number().int().min(1).default(1000),
  burst: z.number().int().min(1).default(4000),
  /** The same for a whole network (IPv4 /networkPrefix4, IPv6 /networkPrefix6): bounds spoofed-source floods. */
  networkQps: z.number().int().min(1).default(5000),
  networkBurst: z.number().int().min(1).default(20_000),
  networkPrefix4: z.number().int().min(8).max(32).default(24),
  networkPrefix6: z.number().int().min(16).max(128).default(56),
  /** Sources never limited: a DNS server or NAT gateway that forwards a whole site's queries. */
  exempt: z.array(cidr).default([]),
  /** How often excess queries are summarised (service log, IT alert). */
  reportSeconds: z.number().int().min(1).max(3600).default(60),
  /** Client addresses (and networks) tracked at once; beyond it new ones share one bucket. */
  maxTracked: z.number().int().min(100).default(100_000),
});

const ipAddress = z.string().regex(/^[0-9a-fA-F:.]+$/, 'expected an IP address');

const severity = z.enum(['none', 'low', 'medium', 'high', 'critical']);

const linkSchema = z.strictObject({
  name: z.string().min(1),
  upstreams: z.array(upstreamUrl).min(1),
  /** Per-query timeout for this link; a satellite link needs about 1500 ms. */
  timeoutMs: z.number().int().min(50).max(30_000).default(1500),
  /** Source address to send from, so traffic leaves through this link's interface. */
  sourceAddress: ipAddress.optional(),
  /** Name to verify in the certificate of tls:// upstreams. */
  tlsServerName: z.string().optional(),
  /** Extra CA file (PEM) for tls:// upstreams; the system store is used otherwise. */
  tlsCaFile: z.string().optional(),
});

export const scheduleSchema = z.strictObject({
  /** Categories this window blocks in addition to the group's always-blocked ones. */
  block: z.array(z.string()).min(1),
  days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).min(1),
  /** Windows like "08:30-12:00", local time in `timezone`. */
  /** A window ending at or before its start runs past midnight ("22:00-06:00"); 24:00 is the end of the day. */
  times: z
    .array(z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d-(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/, 'expected HH:MM-HH:MM (00:00 to 24:00)'))
    .min(1),
  timezone: z.string().default('Europe/London'),
});

/** One group of the filtering policy; the governed policy (src/changes/) takes its groups in this shape too. */
export const groupSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_-]+$/, 'use lower-case letters, digits, - and _'),
  /** Client networks in CIDR notation; the most specific network across all groups wins. */
  networks: z.array(z.string()).default([]),
  /** The group for clients no network matches. Exactly one group has it. */
  default: z.boolean().default(false),
  block: z.array(z.string()).default([]),
  schedules: z.array(scheduleSchema).default([]),
  safeSearch: z
    .strictObject({
      google: z.boolean().default(false),
      bing: z.boolean().default(false),
      duckduckgo: z.boolean().default(false),
      youtube: z.enum(['off', 'moderate', 'strict']).default('off'),
    })
    .default({ google: false, bing: false, duckduckgo: false, youtube: 'off' }),
});

const categorySchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9_-]+$/, 'use lower-case letters, digits, - and _'),
  name: z.string().min(1),
  /** Illegal content (IWF, CTIRU): blocked for everyone, never excepted, entries never shown. */
  illegal: z.boolean().default(false),
  severity: severity.default('none'),
  /** Circumvention categories (VPN, proxy, DoH) mark decisions for the alerts. */
  circumvention: z.boolean().default(false),
  /** Keyword rules matched after folding punycode, homoglyphs and leetspeak. */
  keywords: z
    .array(
      z
        .string()
        .min(3)
        .regex(/^\*?[\p{L}\p{N}@$]+\*?$/u, 'expected one word of letters and digits, with an optional * at either end'),
    )
    .default([]),
});

const listSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9_.-]+$/, 'use lower-case letters, digits, ., - and _'),
  category: z.string(),
  /** `file:relative/or/absolute/path` or an https:// URL. */
  source: z.string().regex(/^(file:|https:\/\/|http:\/\/)/, 'expected file:PATH or https://URL'),
  format: z.enum(['domains', 'hosts', 'adblock', 'wildcard', 'rpz', 'urls']),
  /** node-cron expression; lists from files are re-read on this schedule too. */
  refresh: z
    .string()
    .refine((expr) => cron.validate(expr), 'expected a cron expression, for example "17 3 * * *"')
    .default('17 3 * * *'),
  maxBytes: z
    .number()
    .int()
    .positive()
    .default(200 * 1024 * 1024),
  timeoutMs: z.number().int().positive().default(60_000),
});

/** The filtering self-test (`gatehouse check`, src/checks/): what to test and how. */
const checksSchema = z.strictObject({
  /** Category id → names its lists block, queried from each group that can be tested. */
  names: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
  /** Names no group should have blocked (a working, harmless site). */
  allowed: z.array(z.string().min(1)).default([]),
  /** Address to query; default: the first `dns.listen` address (a wildcard becomes loopback). */
  server: hostPort.optional(),
  /** Group name → address to send that group's queries from, when the automatic choice does not fit. */
  sources: z.record(z.string(), ipAddress).default({}),
  timeoutMs: z.number().int().min(100).max(30_000).default(2000),
  /** node-cron expression for the scheduled run inside `serve`; "" turns it off. */
  schedule: z.string().default('40 7 * * *'),
});

/** Help and support services, never blocked but by the illegal lists (src/resolver/help-services.ts). */
const helpServicesSchema = z.strictObject({
  /** The school's own help domains (a local CAMHS, the council's youth service), with their subdomains. */
  extra: z.array(z.string()).default([]),
  /** Built-in entries to leave out (a domain that no longer belongs to the service). */
  exclude: z.array(z.string()).default([]),
});

const configSchema = z.strictObject({
  dns: z
    .strictObject({
      listen: z.array(hostPort).min(1).default(['127.0.0.1:5353']),
      /** Largest UDP answer we send, whatever the client advertises (RFC 9715 suggests 1232). */
      udpSize: z.number().int().min(512).max(4096).default(1232),
      tcpIdleTimeoutMs: z.number().int().min(1000).default(10_000),
      tcpMaxConnections: z.number().int().min(1).default(1000),
      /** Open TCP connections one client address may hold; past it, its least recently used idle one is closed. */
      tcpMaxPerClient: z.number().int().min(1).default(32),
      /**
       * Who may ask. Default (omitted): loopback, link-local, RFC 1918, ULA and
       * every group's networks. Others get REFUSED.
       */
      allowNetworks: z.array(cidr).optional(),
      rateLimit: rateLimitSchema.prefault({}),
      /** Remove private, loopback and link-local addresses from upstream answers for public names. */
      rebindProtection: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Names (and their subdomains) whose answers may hold private addresses, e.g. the school's AD domain. */
          allowDomains: z.array(z.string().min(1)).default([]),
        })
        .prefault({}),
      /** How long SIGTERM waits for in-flight queries. */
      drainTimeoutMs: z.number().int().min(0).default(5000),
      block: z
        .strictObject({
          // YAML reads an unquoted `null` as no value: take it as the mode it names.
          mode: z.preprocess((v) => (v === null ? 'null' : v), z.enum(['address', 'nxdomain', 'null'])).default('address'),
          ttl: z.number().int().min(0).max(86_400).default(60),
          /** The block page server's addresses (mode `address`). */
          a: ipAddress.default('127.0.0.1'),
          aaaa: ipAddress.default('::1'),
        })
        .default({ mode: 'address', ttl: 60, a: '127.0.0.1', aaaa: '::1' }),
    })
    .prefault({}),
  cache: z
    .strictObject({
      maxEntries: z.number().int().min(0).default(100_000),
      minTtl: z.number().int().min(0).default(0),
      maxTtl: z.number().int().min(1).default(86_400),
      /** Cap on negative (NXDOMAIN / NODATA) caching, RFC 2308. */
      negativeMaxTtl: z.number().int().min(0).default(900),
      prefetch: z.boolean().default(true),
      /** An entry hit this many times is refreshed before it expires. */
      prefetchMinHits: z.number().int().min(1).default(3),
      /** Serve expired answers for this long when every link is down (RFC 8767). */
      serveStaleSeconds: z.number().int().min(0).default(86_400),
      staleTtl: z.number().int().min(1).default(30),
      /** With a stale answer in hand, wait no longer than this for the links (RFC 8767 suggests 1.8 s). */
      staleAnswerAfterMs: z.number().int().min(0).default(1800),
    })
    .prefault({}),
  links: z.array(linkSchema).min(1),
  health: z
    .strictObject({
      /** Consecutive failures that take a link down. */
      failAfter: z.number().int().min(1).default(3),
      /** The primary must be healthy this long before we fail back to it. */
      failbackAfterMs: z.number().int().min(0).default(60_000),
      probeIntervalMs: z.number().int().min(100).default(2000),
      probeName: z.string().default('.'),
      probeType: z.string().default('NS'),
    })
    .prefault({}),
  categories: z.array(categorySchema).default([]),
  lists: z.array(listSchema).default([]),
  /**
   * The groups the governed policy is seeded from at the first start (src/changes/). After
   * that the database's policy is the one in force, changed by change requests; these are
   * only compared with it (and `gatehouse policy import` requests the difference).
   */
  groups: z.array(groupSchema).default([]),
  helpServices: helpServicesSchema.prefault({}),
  store: z
    .strictObject({
      path: z.string().default('./data/gatehouse.db'),
      retentionDays: z.number().int().min(1).default(365),
      /** Query-log rows queued for the writer before new ones are dropped (and counted). */
      queueMax: z.number().int().min(1000).default(200_000),
      /** Log every query (the default, and what schools must do). Off only for benchmarks. */
      queryLog: z.boolean().default(true),
      /**
       * Cap on the database file in MiB (none by default). Reaching it behaves as
       * a full disk: DNS goes on, new query-log rows are dropped, counted and alerted.
       */
      maxSizeMiB: z.number().int().min(1).optional(),
    })
    .prefault({}),
  alerts: alertsSchema.prefault({}),
  admin: adminConfigSchema.prefault({}),
  checks: checksSchema.prefault({}),
  /** Who and what is behind each client address (src/identity/). Every source is off by default. */
  identity: identitySchema.prefault({}),
  /** DNS over HTTPS, DNS over TLS and their certificate (src/resolver/encrypted-config.ts). Off unless configured. */
  doh: dohSchema.optional(),
  dot: dotSchema.optional(),
  tls: tlsSchema.optional(),
  /** Change control of the filtering policy (src/changes/): emergencies, switch-offs, who is told. */
  changeControl: changeControlSchema.prefault({}),
  /** Weekly, board and annual reports: pages, PDF/CSV, and their schedules (src/reports/). */
  reports: reportsSchema.prefault({}),
  logging: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type LinkConfig = z.infer<typeof linkSchema>;
export type GroupConfig = z.infer<typeof groupSchema>;
export type CategoryConfig = z.infer<typeof categorySchema>;
export type ListConfig = z.infer<typeof listSchema>;
export type ChecksConfig = z.infer<typeof checksSchema>;

export class ConfigError extends Error {
  readonly code = 'GH_ERR_CONFIG';
  constructor(
    readonly file: string,
    readonly problems: { path: string; line?: number; message: string }[],
  ) {
    super(
      `invalid config ${file}:\n` +
        problems.map((p) => `  ${p.path || '(top level)'}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`).join('\n'),
    );
  }
}

/** Load, validate and cross-check a config file. Throws ConfigError. */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read: ${(err as Error).message}` }]);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file = '<config>'): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: '', line: lineCounter.linePos(e.pos[0]).line, message: e.message.split('\n')[0] })),
    );
  }
  const lineOf = (path: (string | number)[]): number | undefined => {
    // Walk down as far as the path exists; a missing key is reported at its parent.
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const parsed = configSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    throw new ConfigError(
      file,
      parsed.error.issues.map((i) => {
        const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
        const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
        return { path: formatPath(path), line: lineOf(path), message: i.message + keys };
      }),
    );
  }
  const config = parsed.data;
  const problems = crossCheck(config).map((p) => ({ ...p, line: lineOf(p.at), path: formatPath(p.at) }));
  if (problems.length > 0) throw new ConfigError(file, problems);
  resolvePaths(config, dirname(resolve(file)));
  return config;
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Checks that span several parts of the file (references between sections). */
function crossCheck(config: Config): { at: (string | number)[]; message: string }[] {
  const problems: { at: (string | number)[]; message: string }[] = [];
  const categoryIds = new Set<string>();
  config.categories.forEach((c, i) => {
    if (categoryIds.has(c.id)) problems.push({ at: ['categories', i, 'id'], message: `duplicate category id "${c.id}"` });
    if (BUILT_IN_CATEGORIES.some((b) => b.id === c.id))
      problems.push({ at: ['categories', i, 'id'], message: `"${c.id}" is the id of a built-in category; choose another` });
    categoryIds.add(c.id);
  });
  if (categoryIds.size > 32) problems.push({ at: ['categories'], message: 'at most 32 categories are supported' });
  const listIds = new Set<string>();
  config.lists.forEach((l, i) => {
    if (listIds.has(l.id)) problems.push({ at: ['lists', i, 'id'], message: `duplicate list id "${l.id}"` });
    listIds.add(l.id);
    if (!categoryIds.has(l.category)) problems.push({ at: ['lists', i, 'category'], message: `unknown category "${l.category}"` });
  });
  const linkNames = new Set<string>();
  config.links.forEach((l, i) => {
    if (linkNames.has(l.name)) problems.push({ at: ['links', i, 'name'], message: `duplicate link name "${l.name}"` });
    linkNames.add(l.name);
  });
  // Without groups (a file whose groups now live in the governed policy), names of groups are checked against that policy at start.
  const groupNames = new Set(config.groups.map((g) => g.name));
  if (config.groups.length > 0) {
    problems.push(...groupProblems(config.groups, categoryIds));
    problems.push(...checkAlertsConfig(config.alerts, config.groups, config.categories));
    for (const name of Object.keys(config.checks.sources)) {
      if (!groupNames.has(name)) problems.push({ at: ['checks', 'sources', name], message: `unknown group "${name}"` });
    }
  } else {
    problems.push(...checkAlertsConfig(config.alerts, null, config.categories));
  }
  config.helpServices.extra.forEach((d, i) => {
    if (normaliseDomain(d) === null || !d.includes('.'))
      problems.push({ at: ['helpServices', 'extra', i], message: `"${d}" is not a domain name (write it as childline.org.uk)` });
  });
  config.helpServices.exclude.forEach((d, i) => {
    const domain = normaliseDomain(d);
    if (!BUILT_IN_HELP_SERVICES.some((s) => s.domain === domain))
      problems.push({ at: ['helpServices', 'exclude', i], message: `"${d}" is not on the built-in list of help services` });
  });
  if (!isTimeZone(config.admin.timezone))
    problems.push({ at: ['admin', 'timezone'], message: `unknown time zone "${config.admin.timezone}"` });
  problems.push(...checkIdentityConfig(config.identity, config.groups.length > 0 ? config.groups : null));
  problems.push(...checkEncryptedConfig(config));
  problems.push(...checkReportsConfig(config.reports, config.alerts.channels));
  for (const id of Object.keys(config.checks.names)) {
    if (!categoryIds.has(id)) problems.push({ at: ['checks', 'names', id], message: `unknown category "${id}"` });
  }
  problems.push(...checkChangeControlConfig(config.changeControl, config.alerts));
  return problems;
}

/**
 * What is wrong with a list of groups (names, the one default group, networks,
 * categories, time zones). The config file's groups and the governed policy's
 * (src/changes/) are checked by this one function. `at` is where the list is.
 */
export function groupProblems(
  groups: readonly GroupConfig[],
  categoryIds: ReadonlySet<string>,
  at: (string | number)[] = ['groups'],
): { at: (string | number)[]; message: string }[] {
  const problems: { at: (string | number)[]; message: string }[] = [];
  const groupNames = new Set<string>();
  let defaults = 0;
  groups.forEach((g, i) => {
    if (groupNames.has(g.name)) problems.push({ at: [...at, i, 'name'], message: `duplicate group name "${g.name}"` });
    groupNames.add(g.name);
    if (g.default) defaults++;
    g.networks.forEach((n, j) => {
      if (!isCidr(n)) problems.push({ at: [...at, i, 'networks', j], message: `"${n}" is not a network in CIDR notation` });
    });
    g.block.forEach((c, j) => {
      if (!categoryIds.has(c)) problems.push({ at: [...at, i, 'block', j], message: `unknown category "${c}"` });
    });
    g.schedules.forEach((s, j) => {
      s.block.forEach((c, k) => {
        if (!categoryIds.has(c)) problems.push({ at: [...at, i, 'schedules', j, 'block', k], message: `unknown category "${c}"` });
      });
      if (!isTimeZone(s.timezone))
        problems.push({ at: [...at, i, 'schedules', j, 'timezone'], message: `unknown time zone "${s.timezone}"` });
    });
  });
  if (defaults !== 1) problems.push({ at, message: `exactly one group must have "default: true" (found ${defaults})` });
  return problems;
}

/** A network in CIDR notation (10.0.0.0/8, fd00::/8). */
export function isCidr(text: string): boolean {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(text);
  if (!m) return false;
  const bits = Number(m[2]);
  return m[1].includes(':') ? bits <= 128 : bits <= 32 && /^\d+\.\d+\.\d+\.\d+$/.test(m[1]);
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Relative paths in the config are relative to the config file, not the working directory. */
function resolvePaths(config: Config, base: string): void {
  for (const list of config.lists) {
    if (list.source.startsWith('file:')) list.source = 'file:' + resolve(base, list.source.slice(5));
  }
  config.store.path = resolve(base, config.store.path);
  for (const link of config.links) if (link.tlsCaFile) link.tlsCaFile = resolve(base, link.tlsCaFile);
  const tls = config.admin.tls;
  if (tls?.certFile) tls.certFile = resolve(base, tls.certFile);
  if (tls?.keyFile) tls.keyFile = resolve(base, tls.keyFile);
  resolveAlertPaths(config.alerts, base);
  resolveIdentityPaths(config.identity, base);
  if (config.tls) {
    config.tls.certFile = resolve(base, config.tls.certFile);
    config.tls.keyFile = resolve(base, config.tls.keyFile);
  }
  resolveReportPaths(config.reports, base);
}
