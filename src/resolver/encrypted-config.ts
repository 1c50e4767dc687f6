// The config sections of the encrypted DNS servers: `doh` (DNS over HTTPS,
// RFC 8484), `dot` (DNS over TLS, RFC 7858) and `tls` (their certificate and
// the name devices reach them by). All three are off unless configured; a
// `doh` or `dot` section needs a `tls` section, and a certificate that cannot
// be loaded stops the start (never a fallback to plain text).
import { z } from 'zod';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/, 'expected IP:PORT, for example 0.0.0.0:443 or [::]:443');

/** Limits shared by both servers' connection slots (as dns.tcp* for plain TCP). */
const connectionLimits = {
  /** A connection with no query in flight is closed this long after its last query. */
  idleTimeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
  /** Open connections in all; at the cap the least recently active idle one is closed to make room. */
  maxConnections: z.number().int().min(1).default(2000),
  /** Open connections one client address may hold (past it, its own idle ones are closed first). */
  maxPerClient: z.number().int().min(1).default(32),
};

export const dohSchema = z.strictObject({
  /** Addresses to listen on, e.g. 0.0.0.0:443. HTTP/2 and HTTP/1.1 over TLS; paths /dns-query and /dns-query/{identifier…}. */
  listen: z.array(hostPort).min(1),
  /**
   * The salt set in Google Admin (DnsOverHttpsSalt): Chromebooks send
   * SHA-256(salt + value) of the identifiers in DnsOverHttpsTemplatesWithIdentifiers,
   * which Gatehouse matches against its roster's e-mails and its devices' ids.
   * ChromeOS takes 8 to 32 characters.
   */
  chromeSalt: z.string().min(8).max(32).optional(),
  /** HTTP/2 streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: z.number().int().min(1).max(1000).default(100),
  /** New HTTP/2 streams per second one connection may open (burst: twice this); past it the connection is closed (ENHANCE_YOUR_CALM). */
  streamsPerSecond: z.number().int().min(1).default(2000),
  /** A request (headers and body) must arrive within this time. */
  requestTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
  ...connectionLimits,
});

export const dotSchema = z.strictObject({
  /** Addresses to listen on, e.g. 0.0.0.0:853. */
  listen: z.array(hostPort).min(1),
  ...connectionLimits,
});

export const tlsSchema = z.strictObject({
  /** PEM certificate (with its chain) and key for DoH and DoT; re-read on SIGHUP, so a renewal needs no restart. */
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  /**
   * The name devices reach Gatehouse by, e.g. dns.school.example: in the
   * certificate, in the DoH URL, and as the suffix of DoT names that carry a
   * device token (<token>.dns.school.example, so the certificate must also
   * cover *.dns.school.example).
   */
  hostname: z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/,
      'expected a lower-case host name such as dns.school.example',
    ),
  /** A TLS handshake must finish within this time (a slow one holds a slot). */
  handshakeTimeoutMs: z.number().int().min(500).max(60_000).default(10_000),
  /** Raise an IT alert this many days before the certificate expires (checked daily and on every load). */
  expiryWarningDays: z.number().int().min(1).max(90).default(21),
});

export type DohConfig = z.infer<typeof dohSchema>;
export type DotConfig = z.infer<typeof dotSchema>;
export type TlsConfig = z.infer<typeof tlsSchema>;

/** The pseudo-link the query log records for requests from outside the school's networks. */
export const REMOTE_LINK = 'remote';

interface EncryptedParts {
  doh?: DohConfig;
  dot?: DotConfig;
  tls?: TlsConfig;
  links: { name: string }[];
}

export function checkEncryptedConfig(c: EncryptedParts): { at: (string | number)[]; message: string }[] {
  const problems: { at: (string | number)[]; message: string }[] = [];
  if (!c.doh && !c.dot) return problems;
  if (!c.tls)
    problems.push({
      at: [c.doh ? 'doh' : 'dot'],
      message: 'DNS over HTTPS and DNS over TLS need a tls section (certFile, keyFile, hostname)',
    });
  c.links.forEach((l, i) => {
    if (l.name === REMOTE_LINK)
      problems.push({
        at: ['links', i, 'name'],
        message: `"${REMOTE_LINK}" names the requests from outside the school in the query log; choose another link name`,
      });
  });
  return problems;
}
