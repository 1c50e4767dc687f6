// Email over SMTP with nodemailer. One connection per message: alerts are few
// (throttled) and a fresh connection recovers from a restarted server by itself.
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type { EmailConfig } from '../config.js';
import type { Channel, OutgoingMessage } from '../types.js';

export class EmailChannel implements Channel {
  readonly name = 'email' as const;
  private readonly transport: Transporter;
  private readonly domain: string;

  constructor(private readonly config: EmailConfig) {
    const auth = config.auth
      ? { user: config.auth.user, pass: config.auth.password ?? readFileSync(config.auth.passwordFile!, 'utf8').trim() }
      : undefined;
    this.transport = nodemailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.secure,
      requireTLS: config.requireTLS,
      ignoreTLS: !config.starttls && !config.secure,
      tls: {
        rejectUnauthorized: config.tls.rejectUnauthorized,
        ...(config.tls.ca ? { ca: readFileSync(config.tls.ca) } : {}),
        ...(config.tls.servername ? { servername: config.tls.servername } : {}),
      },
      auth,
      connectionTimeout: config.timeoutMs,
      greetingTimeout: config.timeoutMs,
      socketTimeout: config.timeoutMs,
      // nodemailer's own logging stays off: it could print the AUTH exchange.
      logger: false,
      debug: false,
    });
    this.domain = /@([^>\s]+)>?\s*$/.exec(config.from)?.[1] ?? 'gatehouse.invalid';
  }

  async send(m: OutgoingMessage): Promise<void> {
    await this.transport.sendMail({
      from: this.config.from,
      to: this.config.to,
      subject: m.subject,
      text: m.text,
      // The same Message-ID on every attempt: a resend after a crash is a recognisable duplicate.
      messageId: `<${m.key}@${this.domain}>`,
      priority: m.severity === 'critical' || m.severity === 'high' ? 'high' : 'normal',
      headers: {
        'X-Gatehouse-Key': m.key,
        'X-Gatehouse-Kind': m.kind,
        'X-Gatehouse-Severity': m.severity,
        'X-Gatehouse-Alert-Ids': m.alerts.map((a) => a.id).join(' '),
      },
    });
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
