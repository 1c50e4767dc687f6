// The certificate of the DoH and DoT servers (tls.certFile, tls.keyFile).
//
// At start a certificate that is missing, unreadable, not yet valid, expired,
// or whose key does not match stops the service with a message naming the
// file: an encrypted server must never quietly run without one (and there is
// no plain-text fallback). On SIGHUP the files are read again, so a renewal
// (certbot's deploy hook, an ACME client) needs no restart; a bad new pair is
// refused, the one in use stays, and an IT alert says why. A daily check (and
// every load) raises an IT alert `expiryWarningDays` before the certificate
// expires, and another once it has.
import { readFileSync } from 'node:fs';
import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { TlsConfig } from './encrypted-config.js';
import type { Logger } from '../log.js';

export type CertificateErrorCode =
  /** The certificate or key file cannot be read. */
  | 'GH_ERR_TLS_CERT_MISSING'
  /** The file holds no certificate or key we can read, or the key is not the certificate's. */
  | 'GH_ERR_TLS_CERT_INVALID'
  /** The certificate's validity has ended, or not begun. */
  | 'GH_ERR_TLS_CERT_EXPIRED';

export class CertificateError extends Error {
  constructor(
    readonly code: CertificateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

export interface LoadedCertificate {
  context: tls.SecureContext;
  notBefore: number;
  notAfter: number;
  subject: string;
  /** SHA-256 fingerprint, as openssl prints it. */
  fingerprint: string;
  /** Whether it covers tls.hostname, and *.hostname (for DoT names that carry a device token). */
  coversHostname: boolean;
  coversTokenNames: boolean;
  /** The base64 SHA-256 of its public key (SPKI), for pinning and for tests' --ignore-certificate-errors-spki-list. */
  spkiSha256: string;
}

/** What the servers offer in ALPN: HTTP/2 first (RFC 8484 §5.2), HTTP/1.1, and DoT's own token (RFC 7858 §3.2). */
export const ALPN = { doh: ['h2', 'http/1.1'], dot: ['dot'] };

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CertificateError('GH_ERR_TLS_CERT_MISSING', `tls.${what}: cannot read ${file} (${code})`);
  }
}

/** Read and check the pair. Throws CertificateError with the file and the reason. */
export function loadCertificate(cfg: TlsConfig, now: number = Date.now()): LoadedCertificate {
  const cert = readPem(cfg.certFile, 'certFile');
  const key = readPem(cfg.keyFile, 'keyFile');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new CertificateError('GH_ERR_TLS_CERT_INVALID', `tls.certFile: ${cfg.certFile} holds no PEM certificate`);
  }
  const notBefore = Date.parse(x509.validFrom);
  const notAfter = Date.parse(x509.validTo);
  if (now >= notAfter)
    throw new CertificateError('GH_ERR_TLS_CERT_EXPIRED', `tls.certFile: the certificate in ${cfg.certFile} expired on ${x509.validTo}`);
  if (now < notBefore)
    throw new CertificateError(
      'GH_ERR_TLS_CERT_EXPIRED',
      `tls.certFile: the certificate in ${cfg.certFile} is not valid before ${x509.validFrom}`,
    );
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  } catch (err) {
    const reason = /key values mismatch/i.test((err as Error).message) ? 'the key is not the certificate’s' : (err as Error).message;
    throw new CertificateError('GH_ERR_TLS_CERT_INVALID', `tls.keyFile: ${cfg.keyFile} cannot be used with ${cfg.certFile}: ${reason}`);
  }
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return {
    context,
    notBefore,
    notAfter,
    subject: x509.subject.replace(/\n/g, ', '),
    fingerprint: x509.fingerprint256,
    coversHostname: x509.checkHost(cfg.hostname) !== undefined,
    coversTokenNames: x509.checkHost(`${'a'.repeat(32)}.${cfg.hostname}`) !== undefined,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
  };
}

export type CertificateProblem = { kind: 'certificate-reload-failed' | 'certificate-expiring' | 'certificate-expired'; message: string };

const DAY_MS = 86_400_000;

/** The certificate in use, its reloads and its expiry watch. */
export class Certificates {
  private loaded: LoadedCertificate;
  private timer: NodeJS.Timeout | undefined;

  /** Throws CertificateError when the pair cannot be used (a start-up error). */
  constructor(
    private cfg: TlsConfig,
    private readonly logger: Logger,
    private readonly onProblem: (p: CertificateProblem) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.loaded = loadCertificate(cfg, now());
    this.describe('TLS certificate loaded');
  }

  get current(): LoadedCertificate {
    return this.loaded;
  }

  get config(): TlsConfig {
    return this.cfg;
  }

  /** Check now and once a day. */
  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), DAY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Read the files again (SIGHUP). False, with the old certificate kept and an IT alert, when the new pair is refused. */
  reload(cfg: TlsConfig): boolean {
    try {
      this.loaded = loadCertificate(cfg, this.now());
      this.cfg = cfg;
    } catch (err) {
      const message = `${(err as Error).message}; the certificate in use (valid until ${new Date(this.loaded.notAfter).toISOString()}) stays`;
      this.logger.error({ code: (err as CertificateError).code }, message);
      this.onProblem({ kind: 'certificate-reload-failed', message });
      return false;
    }
    this.describe('TLS certificate reloaded');
    this.check();
    return true;
  }

  /** An IT alert when the certificate in use expires within expiryWarningDays, or has expired. */
  check(): void {
    const left = this.loaded.notAfter - this.now();
    const until = new Date(this.loaded.notAfter).toISOString();
    if (left <= 0) {
      const message = `the DoH/DoT certificate (${this.cfg.certFile}) expired at ${until}: devices cannot verify Gatehouse until it is renewed (then send SIGHUP)`;
      this.logger.error(message);
      this.onProblem({ kind: 'certificate-expired', message });
    } else if (left <= this.cfg.expiryWarningDays * DAY_MS) {
      const days = Math.floor(left / DAY_MS);
      const message = `the DoH/DoT certificate (${this.cfg.certFile}) expires at ${until}, in ${days} day${days === 1 ? '' : 's'}: renew it, then send SIGHUP`;
      this.logger.warn(message);
      this.onProblem({ kind: 'certificate-expiring', message });
    }
  }

  private describe(what: string): void {
    const c = this.loaded;
    this.logger.info(
      { certFile: this.cfg.certFile, subject: c.subject, notAfter: new Date(c.notAfter).toISOString(), fingerprint: c.fingerprint },
      what,
    );
    if (!c.coversHostname) this.logger.warn({ hostname: this.cfg.hostname }, 'the TLS certificate does not cover tls.hostname');
    if (!c.coversTokenNames)
      this.logger.warn(
        { hostname: `*.${this.cfg.hostname}` },
        'the TLS certificate does not cover *.tls.hostname: DoT and Android Private DNS names that carry a device token will fail verification',
      );
  }
}
