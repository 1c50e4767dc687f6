// A crash between a successful send and recording it: the alert is sent again
// after the restart with the same idempotency key, so the receiver can tell
// the duplicate apart; the outbox then records exactly one success.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSink } from './helpers/webhook.js';
import { TestSite } from './helpers/setup.js';
import { waitFor } from './helpers/wait.js';

let site: TestSite;
let hook: WebhookSink;
afterEach(async () => {
  await site?.close();
  await hook?.stop();
});

describe('crash between send and record', () => {
  it('resends with the same key after a restart, and records one success', async () => {
    hook = await WebhookSink.start();
    hook.hold = true;
    site = new TestSite();
    const config = {
      channels: { webhook: { url: hook.url, secret: 'a-long-shared-webhook-secret', timeoutMs: 30_000 } },
      delivery: { flushMs: 10 },
    };
    site.db.close();
    const script = fileURLToPath(new URL('./helpers/engine-process.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, site.dbPath, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      // The receiver has the POST, but the engine never hears back: kill it now.
      await waitFor(() => hook.posts.length === 1, 20_000, 'the first POST');
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    hook.hold = false;
    site.db = site.open();
    const engine = site.start(config);
    await waitFor(() => hook.posts.length === 2, 10_000, 'the resend');
    await waitFor(() => engine.pendingDeliveries() === 0, 5000, 'the outbox to empty');
    const [first, second] = hook.posts;
    expect(second.headers['x-gatehouse-key']).toBe(first.headers['x-gatehouse-key']);
    expect(JSON.parse(second.body).alerts[0].id).toBe(JSON.parse(first.body).alerts[0].id);
    // Deduplicated by key, the receiver has the alert exactly once.
    expect(new Set(hook.posts.map((p) => p.headers['x-gatehouse-key'])).size).toBe(1);
    const attempts = engine.get(JSON.parse(first.body).alerts[0].id)!.deliveries;
    expect(attempts.map((a) => a.ok)).toEqual([true]);
    // And it is not sent a third time.
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.posts.length).toBe(2);
  });
});
