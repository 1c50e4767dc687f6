// Email over SMTP with nodemailer. A small connection pool: a backlog (after an
// outage, or a class all hitting one site) goes out in parallel over reused
// connections; nodemailer opens fresh ones after the server restarts.
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
      pool: true,
      maxConnections: 4,
      maxMessages: 100,
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
      to: m.to?.length ? m.to : this.config.to,
      subject: m.subject,
      text: m.text,
      ...(m.html ? { html: m.html } : {}),
      ...(m.attachments
        ? { attachments: m.attachments.map((a) => ({ ...a, ...(a.cid ? { contentDisposition: 'inline' as const } : {}) })) }
        : {}),
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
