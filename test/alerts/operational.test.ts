// Operational alerts for IT go to the channels chosen for them, and only those.
import { afterEach, describe, expect, it } from 'vitest';
import { SyslogSink, parse5424 } from './helpers/syslog.js';
import { WebhookSink } from './helpers/webhook.js';
import { TestSite, event } from './helpers/setup.js';
import { waitFor } from './helpers/wait.js';
import { SD_ID } from '../../src/alerts/channels/syslog-format.js';

let site: TestSite;
let hook: WebhookSink;
let sink: SyslogSink;
afterEach(async () => {
  await site?.close();
  await hook?.stop();
  await sink?.stop();
});

describe('operational alerts', () => {
  it('reach the operational channels, while safeguarding alerts follow the severity routes', async () => {
    hook = await WebhookSink.start();
    sink = await SyslogSink.udp();
    site = new TestSite();
    const engine = site.start({
      channels: { webhook: { url: hook.url }, syslog: { host: '127.0.0.1', port: sink.port } },
      routes: { high: ['webhook'] },
      operational: { channels: ['syslog'] },
    });
    engine.operational({ kind: 'link-failover', message: 'fibre down; now on 4g', details: { from: 'fibre', to: '4g' } });
    engine.operational({ kind: 'list-refresh-failed', message: 'ut1-gambling: HTTP 404' });
    engine.observe(event()); // adult: high → webhook only
    await waitFor(() => sink.lines.length === 2 && hook.posts.length === 1, 10_000, 'deliveries');
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.posts.length).toBe(1);
    expect(JSON.parse(hook.posts[0].body).kind).toBe('alert');
    const lines = sink.lines.map(parse5424).sort((a, b) => a.msg.localeCompare(b.msg));
    expect(lines.map((l) => l.msgId)).toEqual(['operational', 'operational']);
    expect(lines[0].msg).toBe('HIGH Failed over to a backup internet link: fibre down; now on 4g (x1)');
    expect(lines[0].severity).toBe(3);
    expect(lines[1].msg).toBe('MEDIUM A filter list failed to refresh: ut1-gambling: HTTP 404 (x1)');
    expect(lines[1].sd.get(SD_ID)!.get('category')).toBe('list-refresh-failed');
  });

  it('posts the message and details to a webhook', async () => {
    hook = await WebhookSink.start();
    site = new TestSite();
    const engine = site.start({ channels: { webhook: { url: hook.url } } });
    engine.operational({ kind: 'disk-nearly-full', message: '/var/lib/gatehouse is 94% full', details: { usedPercent: 94 } });
    await waitFor(() => hook.posts.length === 1, 10_000, 'the POST');
    const body = JSON.parse(hook.posts[0].body);
    expect(body.kind).toBe('operational');
    expect(body.alerts[0]).toMatchObject({
      kind: 'operational',
      category: 'disk-nearly-full',
      message: '/var/lib/gatehouse is 94% full',
      details: { usedPercent: 94 },
    });
    expect(body.text).toContain('usedPercent: 94');
    // No signature header without a secret.
    expect(hook.posts[0].headers['x-gatehouse-signature']).toBeUndefined();
  });
});
