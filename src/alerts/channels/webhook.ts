// JSON POST to a webhook: Gatehouse's own shape, or one a Teams (Workflows) or
// Slack incoming webhook accepts. Signed with an HMAC-SHA256 of the body.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { WebhookConfig } from '../config.js';
import type { Channel, OutgoingMessage, PublicAlert } from '../types.js';
import { deviceLabel, personLabel } from '../../store/who.js';

export const SIGNATURE_HEADER = 'x-gatehouse-signature';
export const KEY_HEADER = 'x-gatehouse-key';

export function signBody(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

export class WebhookChannel implements Channel {
  readonly name = 'webhook' as const;
  private readonly secret: string | undefined;

  constructor(private readonly config: WebhookConfig) {
    this.secret = config.secret ?? (config.secretFile ? readFileSync(config.secretFile, 'utf8').trim() : undefined);
  }

  async send(m: OutgoingMessage): Promise<void> {
    const body = JSON.stringify(webhookBody(this.config.format, m));
    const headers: Record<string, string> = { 'content-type': 'application/json', [KEY_HEADER]: m.key };
    if (this.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(this.secret, body);
    const res = await fetch(this.config.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(this.config.timeoutMs),
    });
    // Drain the body so the connection can be reused; its content does not matter.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
  }

  async close(): Promise<void> {}
}

export function webhookBody(format: WebhookConfig['format'], m: OutgoingMessage): unknown {
  switch (format) {
    case 'generic':
      return {
        id: m.key,
        kind: m.kind,
        severity: m.severity,
        subject: m.subject,
        text: m.text,
        sentAt: new Date().toISOString(),
        alerts: m.alerts,
        ...(m.link ? { link: m.link } : {}),
      };
    case 'slack':
      return {
        text: m.subject,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: m.subject.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: '```' + m.text.slice(0, 2900) + '```' } },
        ],
      };
    case 'teams':
      return {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
                { type: 'TextBlock', text: m.subject, weight: 'Bolder', size: 'Medium', wrap: true },
                ...(m.alerts.length === 1
                  ? [{ type: 'FactSet', facts: facts(m.alerts[0]) }]
                  : [{ type: 'TextBlock', text: m.text, wrap: true, fontType: 'Monospace' }]),
              ],
            },
          },
        ],
      };
  }
}

function facts(a: PublicAlert): { title: string; value: string }[] {
  const out = [
    { title: 'Severity', value: a.severity },
    { title: a.kind === 'operational' ? 'What' : 'Category', value: a.categoryName },
  ];
  if (a.kind === 'operational') out.push({ title: 'Message', value: a.message ?? '-' });
  else {
    out.push({ title: 'Client', value: a.clientName ? `${a.client} (${a.clientName})` : (a.client ?? '-') });
    out.push({ title: 'Person', value: personLabel({ ...a, erased: false }) || 'not known' });
    out.push({ title: 'Device', value: deviceLabel(a) || 'not known' });
    out.push({ title: 'Group', value: a.group ?? '-' });
    out.push({ title: 'Domain', value: a.domain ?? 'withheld' });
  }
  out.push({ title: 'Count', value: String(a.count) }, { title: 'First', value: a.time }, { title: 'Alert id', value: String(a.id) });
  return out;
}
