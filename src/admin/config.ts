// The `admin:` part of the config file: where the UI listens, who may reach it,
// TLS, and the account-security knobs (all with safe defaults).
import { z } from 'zod';
import { ROLES } from './roles.js';

const cidr = z
  .string()
  .regex(/^([0-9.]+\/\d{1,2}|[0-9a-fA-F:.]+\/\d{1,3})$/, 'expected a network in CIDR notation, for example 10.0.0.0/8 or ::1/128');

export const adminConfigSchema = z.strictObject({
  /** IP:PORT the admin UI listens on. */
  listen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/, 'expected IP:PORT, for example 127.0.0.1:8080')
    .default('127.0.0.1:8080'),
  /**
   * Host names the UI answers to (the Host header, without the port, any case), besides the
   * listen address itself (and `localhost` when it listens on loopback or on every address).
   * Any other Host gets 421: a DNS-rebinding page or a forged Host header reaches nothing.
   */
  hostnames: z
    .array(
      z
        .string()
        .regex(
          /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/,
          'expected a host name, for example gatehouse.school.example',
        ),
    )
    .default([]),
  /** Client networks allowed to reach the UI; everyone else gets 403. */
  allowedNetworks: z.array(cidr).min(1).default(['127.0.0.0/8', '::1/128']),
  /** HTTPS: a configured certificate, or `generate: true` for a self-signed one in the data directory. */
  tls: z
    .strictObject({
      certFile: z.string().optional(),
      keyFile: z.string().optional(),
      generate: z.boolean().default(false),
    })
    .refine((t) => t.generate || (t.certFile && t.keyFile), 'set certFile and keyFile, or generate: true')
    .optional(),
  /** A session ends after this long without a request. */
  sessionIdleMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
  /** A session ends this long after login, whatever the activity. */
  sessionAbsoluteHours: z.number().int().min(1).max(72).default(8),
  /** Roles that must use MFA (TOTP); an account of one of them without it enrols at its next login. */
  mfaRoles: z.array(z.enum(ROLES)).default(['admin', 'dsl', 'approver']),
  /** A locked account unlocks by itself after this long (0: only an admin unlocks it). */
  unlockAfterMinutes: z.number().int().min(0).default(30),
  /** Passwords must be changed after this many days (0: never). */
  passwordExpiryDays: z.number().int().min(0).default(90),
  /** Login attempts allowed per window, per client address and per user name. */
  loginRateLimit: z
    .strictObject({
      perAddress: z.number().int().min(1).default(20),
      perUser: z.number().int().min(1).default(10),
      windowSeconds: z.number().int().min(1).default(300),
    })
    .prefault({}),
  /** Prometheus /metrics: a bearer token, and/or client networks that may scrape without one. */
  metrics: z
    .strictObject({
      token: z.string().min(16).optional(),
      networks: z.array(cidr).default([]),
    })
    .prefault({}),
  /**
   * The block page: an HTTP server on the block address (dns.block.a) that answers any host name
   * with why it is blocked and a form to ask for a review. In production listen on port 80 of that address.
   */
  blockPage: z
    .strictObject({
      enabled: z.boolean().default(true),
      listen: z
        .string()
        .regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/, 'expected IP:PORT, for example 10.0.0.53:80')
        .default('127.0.0.1:8081'),
      /** Who to contact, shown on the page. */
      contact: z.string().min(1).max(200).default('the school IT team'),
      /** Review requests accepted per client address per hour. */
      requestsPerHour: z.number().int().min(1).max(100).default(5),
    })
    .prefault({}),
  /** Behind a reverse proxy only: trust X-Forwarded-For / -Proto. */
  trustProxy: z.boolean().default(false),
  /** The school's time zone: every page shows times in it (schedules have their own `timezone`). */
  timezone: z.string().default('Europe/London'),
});

export type AdminConfig = z.infer<typeof adminConfigSchema>;
