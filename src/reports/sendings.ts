// A report's sendings (report_sendings, schema.ts): recorded with what was made
// in the same transaction as their outbox rows (alerts/outbox.ts), so a mail
// server that is down delays a report and loses none; turned back into a
// message per channel when the dispatcher sends the row: the e-mail carries the
// HTML body, the chart PNGs inline by Content-ID and the PDF attached; a
// webhook carries the subject, the figures as text and the admin UI link.
import type { Database } from 'better-sqlite3';
import type { ChannelName } from '../alerts/config.js';
import type { Outbox } from '../alerts/outbox.js';
import type { MessageAttachment, OutgoingMessage } from '../alerts/types.js';
import type { ReportKind } from './model.js';
import type { EmailImage } from './render/email.js';

export interface NewSending {
  report: ReportKind;
  from: number;
  to: number;
  /** The scheduled time it stands for; null when asked for by hand. */
  slot: number | null;
  requestedBy: string;
  channels: ChannelName[];
  recipients: string[];
  subject: string;
  text: string;
  html: string;
  pdf: Buffer;
  images: EmailImage[];
  link: string | null;
}

export interface SendingSummary {
  id: number;
  report: ReportKind;
  from: number;
  to: number;
  slot: number | null;
  createdAt: number;
  requestedBy: string;
  channels: ChannelName[];
  recipients: string[];
  subject: string;
  /** Per channel: delivered (when), waiting (attempts so far, last error). */
  deliveries: { channel: ChannelName; deliveredAt: number | null; attempts: number; lastError: string | null }[];
}

export class SendingError extends Error {
  readonly code = 'GH_ERR_REPORT_SENT';
}

/** Whether the report for a scheduled slot has been recorded (sent, or queued to be). */
export function slotSent(db: Database, report: ReportKind, slot: number): boolean {
  return db.prepare('SELECT 1 FROM report_sendings WHERE report = ? AND slot = ?').get(report, slot) !== undefined;
}

/**
 * Record a sending and queue one outbox row per channel, in one transaction.
 * A scheduled slot already recorded (two processes, a restart in the same
 * minute) throws a SendingError and queues nothing.
 */
export function recordSending(db: Database, outbox: Outbox, s: NewSending, now: number): number {
  const insert = db.prepare(
    `INSERT INTO report_sendings (report, period_from, period_to, slot, created_at, requested_by, channels_json, recipients_json,
       subject, body_text, body_html, pdf, images_json, link)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (report, slot) DO NOTHING`,
  );
  return db.transaction(() => {
    const images = JSON.stringify(s.images.map((i) => ({ cid: i.cid, filename: i.filename, png: i.png.toString('base64') })));
    const r = insert.run(
      s.report,
      s.from,
      s.to,
      s.slot,
      now,
      s.requestedBy,
      JSON.stringify(s.channels),
      JSON.stringify(s.recipients),
      s.subject,
      s.text,
      s.html,
      s.pdf,
      images,
      s.link,
    );
    if (r.changes === 0) throw new SendingError(`the ${s.report} report for this scheduled time was already sent`);
    const id = Number(r.lastInsertRowid);
    for (const c of s.channels) outbox.enqueueReport(c, id, now);
    return id;
  })();
}

/** The message for one channel of a sending; null when the sending is gone. */
export function sendingMessage(db: Database, sendingId: number, channel: ChannelName, key: string): OutgoingMessage | null {
  const row = db.prepare('SELECT * FROM report_sendings WHERE id = ?').get(sendingId) as Record<string, unknown> | undefined;
  if (!row) return null;
  const link = row.link as string | null;
  const base = {
    key,
    kind: 'report' as const,
    severity: 'low' as const,
    subject: row.subject as string,
    alerts: [],
    ...(link ? { link } : {}),
  };
  if (channel !== 'email') return { ...base, text: (row.body_text as string) + (link ? `\nThe report: ${link}\n` : '') };
  const images = JSON.parse(row.images_json as string) as { cid: string; filename: string; png: string }[];
  const attachments: MessageAttachment[] = [
    ...images.map((i) => ({ filename: i.filename, content: Buffer.from(i.png, 'base64'), contentType: 'image/png', cid: i.cid })),
    { filename: pdfName(row.report as ReportKind, row.period_from as number), content: row.pdf as Buffer, contentType: 'application/pdf' },
  ];
  return {
    ...base,
    text: row.body_text as string,
    html: row.body_html as string,
    attachments,
    to: JSON.parse(row.recipients_json as string) as string[],
  };
}

export function pdfName(kind: ReportKind, from: number): string {
  return `gatehouse-${kind}-${new Date(from).toISOString().slice(0, 10)}.pdf`;
}

/** Sendings, newest first, with each channel's delivery state from the outbox. */
export function listSendings(db: Database, limit = 50): SendingSummary[] {
  const rows = db
    .prepare(
      'SELECT id, report, period_from, period_to, slot, created_at, requested_by, channels_json, recipients_json, subject FROM report_sendings ORDER BY id DESC LIMIT ?',
    )
    .all(limit) as Record<string, unknown>[];
  const outbox = db.prepare(
    "SELECT channel, delivered_at, attempts, last_error FROM alert_outbox WHERE kind = 'report' AND json_extract(payload, '$.sending') = ? ORDER BY id",
  );
  return rows.map((r) => ({
    id: r.id as number,
    report: r.report as ReportKind,
    from: r.period_from as number,
    to: r.period_to as number,
    slot: r.slot as number | null,
    createdAt: r.created_at as number,
    requestedBy: r.requested_by as string,
    channels: JSON.parse(r.channels_json as string) as ChannelName[],
    recipients: JSON.parse(r.recipients_json as string) as string[],
    subject: r.subject as string,
    deliveries: (outbox.all(r.id) as Record<string, unknown>[]).map((o) => ({
      channel: o.channel as ChannelName,
      deliveredAt: o.delivered_at as number | null,
      attempts: o.attempts as number,
      lastError: o.last_error as string | null,
    })),
  }));
}

/** A sending's PDF, as it was sent. */
export function sendingPdf(db: Database, id: number): { report: ReportKind; from: number; pdf: Buffer } | undefined {
  const r = db.prepare('SELECT report, period_from, pdf FROM report_sendings WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  return r && { report: r.report as ReportKind, from: r.period_from as number, pdf: r.pdf as Buffer };
}
