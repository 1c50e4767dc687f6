// Change-control notices (a request waiting for approval, an emergency change,
// a change to what a group blocks): one `notices` row and one outbox row per
// channel, so they are delivered, retried and recorded like alerts.
import type { Database, Statement } from 'better-sqlite3';
import type { ChannelName } from './config.js';
import type { Outbox } from './outbox.js';
import type { Notice, OutgoingMessage } from './types.js';

export interface StoredNotice {
  id: number;
  createdAt: number;
  kind: string;
  subject: string;
  text: string;
  email: string[] | null;
  changeId: number | null;
}

export class NoticeStore {
  private readonly insertStmt: Statement;
  private readonly getStmt: Statement;

  constructor(
    private readonly db: Database,
    private readonly outbox: Outbox,
  ) {
    this.insertStmt = db.prepare('INSERT INTO notices (created_at, kind, subject, text, email_to, change_id) VALUES (?, ?, ?, ?, ?, ?)');
    this.getStmt = db.prepare('SELECT * FROM notices WHERE id = ?');
  }

  /** The notice and its outbox rows, in one transaction (or the caller's). */
  add(n: Notice & { channels: ChannelName[] }, now: number): number {
    return this.db.transaction(() => {
      const email = n.email && n.email.length > 0 ? JSON.stringify(n.email) : null;
      const id = Number(this.insertStmt.run(now, n.kind, n.subject.slice(0, 300), n.text, email, n.changeId ?? null).lastInsertRowid);
      for (const c of n.channels) this.outbox.enqueue(c, 'notice', null, [id], now);
      return id;
    })();
  }

  get(id: number): StoredNotice | undefined {
    const r = this.getStmt.get(id) as Record<string, unknown> | undefined;
    if (!r) return undefined;
    return {
      id: r.id as number,
      createdAt: r.created_at as number,
      kind: r.kind as string,
      subject: r.subject as string,
      text: r.text as string,
      email: typeof r.email_to === 'string' ? (JSON.parse(r.email_to) as string[]) : null,
      changeId: r.change_id as number | null,
    };
  }
}

export function renderNotice(n: StoredNotice, key: string): OutgoingMessage {
  return {
    key,
    kind: 'notice',
    severity: n.kind === 'emergency-change' || n.kind === 'emergency-overdue' ? 'high' : 'medium',
    subject: `[Gatehouse] ${n.subject}`,
    text: n.text.endsWith('\n') ? n.text : n.text + '\n',
    ...(n.email ? { to: n.email } : {}),
    alerts: [],
  };
}
