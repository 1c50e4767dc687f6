// The channel is down, Gatehouse restarts, the channel comes back: every alert
// arrives, once, on every channel. Real SMTP server process, real HTTP server.
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpSink } from './helpers/smtp.js';
import { WebhookSink } from './helpers/webhook.js';
import { TestSite, event } from './helpers/setup.js';
import { waitFor } from './helpers/wait.js';
import { backoffDelay } from '../../src/alerts/outbox.js';

let site: TestSite;
let smtp: SmtpSink | undefined;
let hook: WebhookSink | undefined;
afterEach(async () => {
  await site?.close();
  await smtp?.stop();
  await hook?.stop();
});

describe('delivery through an outage and a restart', () => {
  it('delivers every alert exactly once per channel', async () => {
    // Both receivers are out of service (the SMTP server answers 421, the
    // webhook 503) and come back later on the same ports, which they keep.
    smtp = await SmtpSink.start({ down: true });
    hook = await WebhookSink.start(503);
    const smtpPort = smtp.port;
    const hookPort = hook.port;
    const config = {
      channels: {
        email: {
          host: '127.0.0.1',
          port: smtpPort,
          starttls: false,
          from: 'gatehouse@school.example',
          to: ['dsl@school.example'],
          timeoutMs: 2000,
        },
        webhook: { url: `http://127.0.0.1:${hookPort}/hook`, secret: 'a-long-shared-webhook-secret', timeoutMs: 2000 },
      },
      delivery: { retryBaseMs: 100, retryMaxMs: 400, flushMs: 20 },
    };
    site = new TestSite();
    let engine = site.start(config);
    for (let i = 1; i <= 12; i++) engine.observe(event({ client: `10.0.1.${i}` }));
    engine.operational({ kind: 'link-failover', message: 'now on the 4G backup' });
    // Both channels are down: wait until each has failed at least twice.
    await waitFor(
      () => {
        const failed = site.db.prepare('SELECT channel, count(*) AS n FROM alert_deliveries WHERE ok = 0 GROUP BY channel').all() as {
          n: number;
        }[];
        return failed.length === 2 && failed.every((f) => f.n >= 2);
      },
      10_000,
      'failed attempts on both channels',
    );
    expect(engine.pendingDeliveries()).toBe(26);

    // Restart while the channels are still down; more alerts arrive meanwhile.
    engine = await site.restart(config);
    for (let i = 13; i <= 16; i++) engine.observe(event({ client: `10.0.1.${i}` }));
    engine.observe(event({ client: '10.0.1.1' })); // a repeat: counted, not a new alert
    engine.flush();
    expect(engine.pendingDeliveries()).toBe(34);

    // The channels come back.
    await smtp.up();
    hook.status = 200;
    await waitFor(() => engine.pendingDeliveries() === 0, 20_000, 'the outbox to empty');
    // Give a duplicate, if there were one, time to arrive.
    await new Promise((r) => setTimeout(r, 600));

    const alerts = [...engine.list({ limit: 100 }).items, ...engine.list({ kind: 'operational' }).items];
    expect(alerts.length).toBe(17);
    expect(alerts.find((a) => a.client === '10.0.1.1')!.count).toBe(2);
    const expected = alerts.map((a) => String(a.id)).sort();

    const mailed = smtp.mails.map((m) => m.headers.get('x-gatehouse-alert-ids')!).sort();
    expect(mailed).toEqual(expected);
    expect(new Set(smtp.mails.map((m) => m.headers.get('message-id'))).size).toBe(17);

    const posted = hook.posts.map((p) => String(JSON.parse(p.body).alerts[0].id)).sort();
    expect(posted).toEqual(expected);
    expect(new Set(hook.posts.map((p) => p.headers['x-gatehouse-key'])).size).toBe(17);

    // Every attempt is on record, ending in exactly one success per message.
    const outcomes = site.db
      .prepare('SELECT outbox_id, sum(ok) AS oks, count(*) AS tries FROM alert_deliveries GROUP BY outbox_id')
      .all() as { oks: number; tries: number }[];
    expect(outcomes.length).toBe(34);
    expect(outcomes.every((o) => o.oks === 1)).toBe(true);
  });
});

describe('backoffDelay', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [6, 32_000],
    [10, 300_000],
    [1000, 300_000],
  ])('attempt %i waits %i ms (base 1 s, cap 5 min)', (attempt, want) => {
    expect(backoffDelay(attempt, 1000, 300_000)).toBe(want);
  });
});
