// The shapes that flow through the alert engine: what the DNS server reports,
// what the store keeps, and what a channel sends.
import type { AlertingSeverity, ChannelName, OperationalKind, Severity } from './config.js';

/** One blocked or circumvention lookup, reported by the server after the answer is sent. */
export interface AlertEvent {
  /** Time of the lookup, ms since the epoch. */
  at: number;
  /** Client address. */
  client: string;
  clientName?: string;
  /** The client's person and device then (src/identity/), when known. */
  personId?: number;
  deviceId?: number;
  group: string;
  /** Category id. */
  category: string;
  /** The category's severity from config.categories; per-group rules may replace it. */
  severity: Severity;
  domain: string;
  circumvention: boolean;
  /** Illegal categories never have their domain stored or sent. */
  illegal: boolean;
}

export interface OperationalEvent {
  kind: OperationalKind;
  message: string;
  /** The client address (or network) it is about, if any: throttled per client then. */
  client?: string;
  details?: Record<string, unknown>;
  /**
   * What the event is about, when one kind can be about several things (the
   * account of an account-locked): each subject (and client) is throttled apart,
   * so every account's lockout is its own alert. Kept as details.subject.
   */
  subject?: string;
  /** ms since the epoch; now when omitted. */
  at?: number;
}

export type AlertKind = 'safeguarding' | 'operational';
export type AlertStatus = 'open' | 'acknowledged' | 'closed';

/** An alert as stored and as shown in the admin UI. */
export interface Alert {
  id: number;
  kind: AlertKind;
  /** First lookup (or event) the alert stands for, ms. */
  createdAt: number;
  /** Latest lookup counted in `count`, ms. */
  lastAt: number;
  client: string | null;
  clientName: string | null;
  /** identity_people.id and identity_devices.id of the client then; names are read when shown or sent. */
  personId: number | null;
  deviceId: number | null;
  group: string | null;
  /** Category id, or the operational kind. */
  category: string;
  severity: AlertingSeverity;
  /** Null for illegal categories (and operational alerts). */
  domain: string | null;
  illegal: boolean;
  circumvention: boolean;
  /** Lookups (or events) this alert stands for. */
  count: number;
  /** Operational alerts: what happened. */
  message: string | null;
  details: Record<string, unknown> | null;
  status: AlertStatus;
  outcome: string | null;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  closedBy: string | null;
  closedAt: number | null;
}

export interface AlertHistoryEntry {
  id: number;
  alertId: number;
  at: number;
  user: string;
  fromStatus: AlertStatus;
  toStatus: AlertStatus;
  note: string | null;
}

export interface DeliveryAttempt {
  id: number;
  outboxId: number;
  at: number;
  channel: ChannelName;
  ok: boolean;
  error: string | null;
  durationMs: number;
}

/** A rendered message, ready for any channel. */
export interface OutgoingMessage {
  /** Idempotency key: the same for every attempt at one outbox row, so a resend is recognisable. */
  key: string;
  kind: 'alert' | 'operational' | 'digest' | 'notice' | 'report';
  severity: AlertingSeverity;
  subject: string;
  text: string;
  /** E-mail recipients instead of the channel's own (a change-control notice to the approvers, a report's recipients). */
  to?: string[];
  /** Structured form for webhooks and syslog structured data. */
  alerts: PublicAlert[];
  /** Reports: an HTML body (e-mail), files attached (the PDF; inline images by Content-ID). */
  html?: string;
  attachments?: MessageAttachment[];
  /** Reports: where the report is in the admin UI (webhooks send this rather than the report). */
  link?: string;
}

export interface MessageAttachment {
  filename: string;
  content: Buffer;
  contentType: string;
  /** Set for an image the HTML body shows inline (src="cid:…"). */
  cid?: string;
}

/** The fields of an alert that leave the building. Never a domain for illegal categories. */
export interface PublicAlert {
  id: number;
  kind: AlertKind;
  time: string;
  lastTime: string;
  client: string | null;
  clientName: string | null;
  /** Who was behind the address (names as they are at send time; null when unknown or erased). */
  user: string | null;
  personName: string | null;
  device: string | null;
  mac: string | null;
  group: string | null;
  category: string;
  categoryName: string;
  severity: AlertingSeverity;
  domain: string | null;
  circumvention: boolean;
  count: number;
  message: string | null;
  details: Record<string, unknown> | null;
}

/**
 * A message about a change (src/changes/): to the approvers, the DSL or the
 * trust's ICT director. Kept in `notices`, delivered through the outbox.
 */
export interface Notice {
  /** change-waiting, emergency-change, category-change, emergency-overdue, … */
  kind: string;
  subject: string;
  text: string;
  /** E-mail addresses; omitted: the e-mail channel's own recipients. */
  email?: string[];
  /** Channels to send it on (those configured). */
  channels: ChannelName[];
  changeId?: number;
  at?: number;
}

export interface Channel {
  readonly name: ChannelName;
  /** Resolves once the far end has accepted the message; rejects otherwise. */
  send(message: OutgoingMessage): Promise<void>;
  close(): Promise<void>;
}
