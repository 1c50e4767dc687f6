// Webhook alerts reach a real HTTP server, signed with a valid HMAC, in the
// generic, Teams and Slack shapes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSink } from './helpers/webhook.js';
import { TestSite, event } from './helpers/setup.js';
import { waitFor } from './helpers/wait.js';

const secret = 'a-long-shared-webhook-secret';
let site: TestSite;
let hook: WebhookSink;
afterEach(async () => {
  await site?.close();
  await hook?.stop();
});

function validSignature(body: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const got = Buffer.from(header.slice(7), 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

describe('webhook channel', () => {
  it('posts a signed JSON alert', async () => {
    hook = await WebhookSink.start();
    site = new TestSite();
    const engine = site.start({ channels: { webhook: { url: hook.url, secret } } });
    engine.observe(event({ category: 'vpn-proxy', domain: 'vpn.example', clientName: 'ipad-3' }));
    await waitFor(() => hook.posts.length === 1, 10_000, 'the POST');
    const post = hook.posts[0];
    expect(post.headers['content-type']).toBe('application/json');
    expect(validSignature(post.body, post.headers['x-gatehouse-signature'])).toBe(true);
    // A signature made with another key does not pass.
    expect(createHmac('sha256', 'another-key-entirely').update(post.body).digest('hex')).not.toBe(
      String(post.headers['x-gatehouse-signature']).slice(7),
    );
    const body = JSON.parse(post.body);
    expect(body.id).toBe(post.headers['x-gatehouse-key']);
    expect(body).toMatchObject({ kind: 'alert', severity: 'medium' });
    expect(body.alerts).toHaveLength(1);
    expect(body.alerts[0]).toMatchObject({
      client: '10.1.2.3',
      clientName: 'ipad-3',
      group: 'pupils',
      category: 'vpn-proxy',
      domain: 'vpn.example',
      circumvention: true,
      count: 1,
      severity: 'medium',
    });
    expect(body.subject).toBe('[Gatehouse] MEDIUM: Circumvention attempt: VPN, proxy and DoH circumvention from 10.1.2.3 (ipad-3)');
  });

  it('carries the person and the device, in the generic and the Teams shapes', async () => {
    hook = await WebhookSink.start();
    site = new TestSite();
    const who = site.identity('akhan', 'Aisha Khan', '02:00:00:00:00:2a', 'ipad-42');
    const engine = site.start({ channels: { webhook: { url: hook.url, secret } } });
    engine.observe(event({ category: 'vpn-proxy', domain: 'vpn.example', ...who }));
    await waitFor(() => hook.posts.length === 1, 10_000, 'the POST');
    const body = JSON.parse(hook.posts[0].body);
    expect(body.alerts[0]).toMatchObject({
      client: '10.1.2.3',
      user: 'akhan',
      personName: 'Aisha Khan',
      device: 'ipad-42',
      mac: '02:00:00:00:00:2a',
    });
    expect(body.text).toContain('Person:    Aisha Khan (akhan)');
    await site.engine!.stop();
    const teams = site.start({ channels: { webhook: { url: hook.url, secret, format: 'teams' } } });
    teams.observe(event({ category: 'self-harm', domain: 'harm.example', client: '10.1.2.4', ...who }));
    await waitFor(() => hook.posts.length === 2, 10_000, 'the Teams POST');
    const facts = JSON.parse(hook.posts[1].body).attachments[0].content.body[1].facts as { title: string; value: string }[];
    expect(facts).toEqual(
      expect.arrayContaining([
        { title: 'Person', value: 'Aisha Khan (akhan)' },
        { title: 'Device', value: 'ipad-42 (02:00:00:00:00:2a)' },
      ]),
    );
  });

  it('leaves out the domain of an illegal category', async () => {
    hook = await WebhookSink.start();
    site = new TestSite();
    const engine = site.start({ channels: { webhook: { url: hook.url, secret } } });
    engine.observe(event({ category: 'iwf', domain: 'hidden-abuse.example' }));
    await waitFor(() => hook.posts.length === 1, 10_000, 'the POST');
    expect(hook.posts[0].body).not.toContain('hidden-abuse');
    expect(JSON.parse(hook.posts[0].body).alerts[0].domain).toBeNull();
  });

  it.each([
    [
      'teams',
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed JSON body
      (b: any) =>
        b.type === 'message' &&
        b.attachments[0].contentType === 'application/vnd.microsoft.card.adaptive' &&
        b.attachments[0].content.type === 'AdaptiveCard',
    ],
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed JSON body
    ['slack', (b: any) => typeof b.text === 'string' && b.text.startsWith('[Gatehouse] HIGH') && b.blocks[1].type === 'section'],
  ])('posts the %s shape, signed', async (format, check) => {
    hook = await WebhookSink.start();
    site = new TestSite();
    const engine = site.start({ channels: { webhook: { url: hook.url, secret, format } } });
    engine.observe(event());
    await waitFor(() => hook.posts.length === 1, 10_000, 'the POST');
    expect(validSignature(hook.posts[0].body, hook.posts[0].headers['x-gatehouse-signature'])).toBe(true);
    expect(check(JSON.parse(hook.posts[0].body))).toBe(true);
  });

  it('retries after an HTTP error with back-off and records each attempt', async () => {
    hook = await WebhookSink.start();
    hook.status = 503;
    site = new TestSite();
    const engine = site.start({ channels: { webhook: { url: hook.url, secret } }, delivery: { retryBaseMs: 100, retryMaxMs: 400 } });
    engine.observe(event());
    await waitFor(() => engine.list().total === 1, 5000, 'the alert');
    const id = engine.list().items[0].id;
    await waitFor(() => engine.get(id)!.deliveries.length >= 2, 10_000, 'two failed attempts');
    hook.status = 200;
    await waitFor(() => hook.posts.length === 1, 10_000, 'the POST');
    await waitFor(() => engine.pendingDeliveries() === 0, 5000, 'the outbox to empty');
    const attempts = engine.get(id)!.deliveries;
    expect(attempts.at(-1)).toMatchObject({ ok: true });
    expect(attempts.slice(0, -1).every((a) => !a.ok && a.error === 'webhook answered HTTP 503')).toBe(true);
    // Back-off: no second attempt before the first back-off step (100 ms) has passed.
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(95);
  });
});
