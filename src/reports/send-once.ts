// `gatehouse report --send` outside the service: the sending is recorded and
// queued in the outbox as the service would (sendings.ts), then each of its
// rows is tried once from this process. A row that fails stays in the outbox
// with its back-off; the running service's dispatcher (which looks for due rows
// every minute, service.ts) sends it when the channel is back.
import type { Database } from 'better-sqlite3';
import type { AlertsConfig, ChannelName } from '../alerts/config.js';
import { buildChannels } from '../alerts/channels/index.js';
import { errorText, idempotencyKey } from '../alerts/dispatcher.js';
import { backoffDelay, Outbox } from '../alerts/outbox.js';
import { recordSending, sendingMessage, type NewSending } from './sendings.js';

export interface SendOutcome {
  sending: number;
  channel: ChannelName;
  ok: boolean;
  error?: string;
}

export async function sendOnce(db: Database, alerts: AlertsConfig, sending: NewSending, now: () => number): Promise<SendOutcome[]> {
  const outbox = new Outbox(db);
  const channels = buildChannels(alerts);
  try {
    const id = recordSending(db, outbox, { ...sending, channels: sending.channels.filter((c) => channels.has(c)) }, now());
    const rows = db
      .prepare(
        "SELECT id, created_at, channel FROM alert_outbox WHERE kind = 'report' AND json_extract(payload, '$.sending') = ? ORDER BY id",
      )
      .all(id) as { id: number; created_at: number; channel: ChannelName }[];
    const out: SendOutcome[] = [];
    for (const row of rows) {
      const message = sendingMessage(db, id, row.channel, idempotencyKey({ id: row.id, createdAt: row.created_at }));
      const started = now();
      try {
        await channels.get(row.channel)!.send(message!);
        outbox.recordSuccess(row.id, row.channel, now(), now() - started);
        out.push({ sending: id, channel: row.channel, ok: true });
      } catch (err) {
        const at = now();
        const error = errorText(err);
        outbox.recordFailure(
          row.id,
          row.channel,
          at,
          at - started,
          error,
          at + backoffDelay(1, alerts.delivery.retryBaseMs, alerts.delivery.retryMaxMs),
        );
        out.push({ sending: id, channel: row.channel, ok: false, error });
      }
    }
    return out;
  } finally {
    await Promise.allSettled([...channels.values()].map((c) => c.close()));
  }
}
