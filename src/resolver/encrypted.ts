// The encrypted DNS servers together: the certificate (tls-certs.ts), the
// DoH and DoT servers on their TLS fronts (doh.ts, dot.ts, tls-front.ts) and
// the identifiers their requests carry (identity/credentials.ts). Built by
// src/app.ts only when `doh` or `dot` is configured; everything it answers
// goes through the DNS server's one path (server.ts answer), so policy, the
// cache, the query log and the alerts are those of port 53.
import type { Database } from 'better-sqlite3';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { OperationalEvent } from '../alerts/types.js';
import { Credentials } from '../identity/credentials.js';
import type { Admission } from './admission.js';
import type { DnsServer } from './server.js';
import { ALPN, Certificates } from './tls-certs.js';
import { TlsFront, type TlsFrontStats } from './tls-front.js';
import { DohServer, type DohStats } from './doh.js';
import { DotServer, type DotStats } from './dot.js';
import type { DohConfig, DotConfig, TlsConfig } from './encrypted-config.js';

export interface EncryptedDeps {
  config: Config;
  db: Database;
  server: DnsServer;
  admission: Admission;
  logger: Logger;
  alert: (e: OperationalEvent) => void;
  now?: () => number;
}

export interface EncryptedStatus {
  hostname: string;
  /** tls.expiryWarningDays: how long before its end the certificate is warned about. */
  expiryWarningDays: number;
  doh?: { listening: string[]; stats: DohStats; connections: TlsFrontStats };
  dot?: { listening: string[]; stats: DotStats; connections: TlsFrontStats };
  certificate?: {
    subject: string;
    notAfter: number;
    fingerprint: string;
    coversHostname: boolean;
    coversTokenNames: boolean;
    spkiSha256: string;
  };
  identifiers: ReturnType<Credentials['counts']>;
  chromeSalt: boolean;
}

function limits(c: DohConfig | DotConfig) {
  return { idleTimeoutMs: c.idleTimeoutMs, maxConnections: c.maxConnections, maxPerClient: c.maxPerClient };
}

export class EncryptedDns {
  readonly credentials: Credentials;
  private certificates: Certificates | undefined;
  private doh: { server: DohServer; front: TlsFront } | undefined;
  private dot: { server: DotServer; front: TlsFront } | undefined;
  private config: Config;
  private readonly logger: Logger;

  constructor(private readonly deps: EncryptedDeps) {
    this.config = deps.config;
    this.logger = deps.logger.child({ part: 'encrypted-dns' });
    this.credentials = new Credentials(deps.db, deps.config, this.logger, deps.now);
  }

  private get tls(): TlsConfig {
    return this.config.tls!;
  }

  /** Read the certificate; throws CertificateError (a start-up error naming the file) when it cannot be used. */
  loadCertificates(): void {
    this.certificates = new Certificates(
      this.tls,
      this.logger,
      (p) => this.deps.alert({ kind: p.kind, message: p.message, details: { certFile: this.tls.certFile } }),
      this.deps.now,
    );
  }

  async start(): Promise<void> {
    if (!this.certificates) this.loadCertificates();
    this.credentials.start();
    const { server, admission } = this.deps;
    const context = () => this.certificates!.current.context;
    if (this.config.doh) {
      const doh = new DohServer({ config: () => this.config.doh!, server, admission, credentials: this.credentials, logger: this.logger });
      const front = new TlsFront({
        name: 'doh',
        listen: this.config.doh.listen,
        alpn: ALPN.doh,
        limits: limits(this.config.doh),
        handshakeTimeoutMs: this.tls.handshakeTimeoutMs,
        context,
        logger: this.logger,
        onSecure: (socket, conn) => doh.serve(socket, conn),
      });
      await front.start();
      this.doh = { server: doh, front };
    }
    if (this.config.dot) {
      const dot = new DotServer({ server, admission, credentials: this.credentials, hostname: () => this.tls.hostname });
      const front = new TlsFront({
        name: 'dot',
        listen: this.config.dot.listen,
        alpn: ALPN.dot,
        limits: limits(this.config.dot),
        handshakeTimeoutMs: this.tls.handshakeTimeoutMs,
        context,
        logger: this.logger,
        onSecure: (socket, conn) => dot.serve(socket, conn),
      });
      await front.start();
      this.dot = { server: dot, front };
    }
    this.certificates!.start();
  }

  /**
   * SIGHUP: read the certificate files again (a renewal needs no restart; a
   * bad pair is refused and the old one kept, with an IT alert), apply new
   * limits and listen addresses. Turning DoH or DoT on or off needs a restart.
   */
  async configure(config: Config): Promise<void> {
    const before = this.config;
    this.config = config;
    if (!config.tls || !!config.doh !== !!before.doh || !!config.dot !== !!before.dot) {
      this.logger.warn('doh, dot or tls turned on or off: that takes effect at the next restart');
      this.config = { ...config, doh: before.doh, dot: before.dot, tls: config.tls ?? before.tls };
    }
    this.certificates?.reload(this.tls);
    this.credentials.configure(this.config);
    if (this.doh && this.config.doh) {
      this.doh.front.setLimits(limits(this.config.doh), this.tls.handshakeTimeoutMs);
      this.doh.server.reconfigure();
      await this.doh.front.relisten(this.config.doh.listen);
    }
    if (this.dot && this.config.dot) {
      this.dot.front.setLimits(limits(this.config.dot), this.tls.handshakeTimeoutMs);
      await this.dot.front.relisten(this.config.dot.listen);
    }
  }

  /** SIGTERM, first step: stop accepting connections (those open drain with the DNS server). */
  async stop(): Promise<void> {
    this.certificates?.stop();
    this.credentials.stop();
    await this.doh?.front.stop();
    await this.dot?.front.stop();
  }

  /** The bound DoH and DoT addresses (tests listen on port 0). */
  addresses(): { doh: { address: string; port: number }[]; dot: { address: string; port: number }[] } {
    return { doh: this.doh?.front.addresses() ?? [], dot: this.dot?.front.addresses() ?? [] };
  }

  status(): EncryptedStatus {
    const c = this.certificates?.current;
    const listening = (f: TlsFront) =>
      f.addresses().map((a) => (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`));
    return {
      hostname: this.tls.hostname,
      expiryWarningDays: this.tls.expiryWarningDays,
      ...(this.doh
        ? { doh: { listening: listening(this.doh.front), stats: this.doh.server.stats, connections: this.doh.front.stats } }
        : {}),
      ...(this.dot
        ? { dot: { listening: listening(this.dot.front), stats: this.dot.server.stats, connections: this.dot.front.stats } }
        : {}),
      ...(c
        ? {
            certificate: {
              subject: c.subject,
              notAfter: c.notAfter,
              fingerprint: c.fingerprint,
              coversHostname: c.coversHostname,
              coversTokenNames: c.coversTokenNames,
              spkiSha256: c.spkiSha256,
            },
          }
        : {}),
      identifiers: this.credentials.counts(),
      chromeSalt: this.config.doh?.chromeSalt !== undefined,
    };
  }
}
