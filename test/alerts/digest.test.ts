// Low severities wait for the daily digest: one email listing them, sent by a
// real SMTP server process, while higher severities go out at once.
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpSink } from './helpers/smtp.js';
import { WebhookSink } from './helpers/webhook.js';
import { TestSite, event } from './helpers/setup.js';
import { waitFor } from './helpers/wait.js';

let site: TestSite;
let smtp: SmtpSink;
afterEach(async () => {
  await site?.close();
  await smtp?.stop();
});

describe('daily digest', () => {
  it('collects low severities into one message and sends the rest at once', async () => {
    smtp = await SmtpSink.start();
    site = new TestSite();
    const engine = site.start({
      channels: {
        email: { host: '127.0.0.1', port: smtp.port, starttls: false, from: 'gatehouse@school.example', to: ['dsl@school.example'] },
      },
      rules: [{ group: 'staff', category: 'adult', severity: 'low' }],
    });
    engine.observe(event({ category: 'piracy', client: '10.0.0.1', domain: 'torrents.example' }));
    engine.observe(event({ category: 'piracy', client: '10.0.0.2', domain: 'films.example' }));
    engine.observe(event({ category: 'adult', group: 'staff', client: '10.0.0.3', domain: 'adult.example' }));
    engine.observe(event({ category: 'self-harm', client: '10.0.0.4' }));
    await waitFor(() => smtp.mails.length === 1, 10_000, 'the immediate alert');
    expect(smtp.mails[0].headers.get('x-gatehouse-severity')).toBe('critical');
    // The low ones are in the inbox, waiting.
    expect(engine.list({ severity: 'low' }).total).toBe(3);

    expect(engine.runDigest()).toBe(3);
    await waitFor(() => smtp.mails.length === 2, 10_000, 'the digest');
    const digest = smtp.mails[1];
    expect(digest.headers.get('subject')).toBe('[Gatehouse] Daily digest: 3 alerts');
    expect(digest.headers.get('x-gatehouse-kind')).toBe('digest');
    for (const d of ['torrents.example', 'films.example', 'adult.example']) expect(digest.body).toContain(d);
    expect(digest.body.split('\n').filter((l) => l.includes(' low ')).length).toBe(3);

    // Sent once: a second run finds nothing new.
    expect(engine.runDigest()).toBe(0);
    engine.observe(event({ category: 'piracy', client: '10.0.0.9' }));
    expect(engine.runDigest()).toBe(1);
    await waitFor(() => smtp.mails.length === 3, 10_000, 'the second digest');
    expect(smtp.mails[2].headers.get('subject')).toBe('[Gatehouse] Daily digest: 1 alert');
  });

  it('withholds illegal domains in the digest too', async () => {
    smtp = await SmtpSink.start();
    site = new TestSite();
    const engine = site.start({
      channels: {
        email: { host: '127.0.0.1', port: smtp.port, starttls: false, from: 'gatehouse@school.example', to: ['dsl@school.example'] },
      },
      digest: { severities: ['low', 'critical'] },
      routes: { critical: [] },
    });
    engine.observe(event({ category: 'iwf', domain: 'unseen-abuse.example' }));
    expect(engine.runDigest()).toBe(1);
    await waitFor(() => smtp.mails.length === 1, 10_000, 'the digest');
    expect(smtp.mails[0].raw).not.toContain('unseen-abuse');
    expect(smtp.mails[0].body).toContain('domain withheld');
  });

  it('splits a long digest into messages of 500 alerts', async () => {
    const hook = await WebhookSink.start();
    try {
      site = new TestSite();
      const engine = site.start({ channels: { webhook: { url: hook.url } } });
      for (let i = 0; i < 1200; i++) engine.observe(event({ category: 'piracy', client: `10.2.${i >> 8}.${i & 255}` }));
      expect(engine.runDigest()).toBe(1200);
      await waitFor(() => hook.posts.length === 3, 10_000, 'three digest POSTs');
      // Sent in parallel: any order.
      const sizes = hook.posts.map((p) => JSON.parse(p.body)).map((b) => `${b.kind} ${b.alerts.length}`);
      expect(sizes.sort()).toEqual(['digest 200', 'digest 500', 'digest 500']);
    } finally {
      await hook.stop();
    }
  });
});
