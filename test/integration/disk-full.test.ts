// A disk that fills while running does not stop DNS: with the database capped
// (store.maxSizeMiB behaves as a full disk), queries keep being answered, the
// query log drops and counts the rows it cannot store, and IT gets an alert.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { ask } from '../helpers/client.js';
import { eventually } from '../helpers/eventually.js';

describe('a full disk', () => {
  let up: FakeUpstream;
  let gh: Running;
  let cleanup = () => undefined as void;
  beforeAll(async () => {
    up = await startFakeUpstream({ 'ok.test': '192.0.2.1' });
    const dir = mkdtempSync(join(tmpdir(), 'gh-full-'));
    cleanup = () => rmSync(dir, { recursive: true, force: true });
    gh = await startGatehouse(
      baseConfig(
        [{ name: 'p', upstreams: [up.url] }],
        `health: { probeIntervalMs: 60000 }\nstore: { path: ${join(dir, 'gh.db')}, maxSizeMiB: 1 }`,
        // Thousands of queries a second from one address, on purpose: not the rate limit's business here.
      ).replace('listen: ["127.0.0.1:0"]', 'listen: ["127.0.0.1:0"]\n  rateLimit: { enabled: false }'),
    );
  });
  afterAll(async () => {
    await gh.stop();
    await up.stop();
    cleanup();
  });

  it('keeps answering while the query log cannot write, and says so', async () => {
    // Long unique names fill a 1 MiB database in a few thousand queries (bounded: 40,000 or 60 s).
    const label = 'x'.repeat(50);
    const deadline = Date.now() + 60_000;
    let sent = 0;
    while (gh.app.queryLog.dropped === 0 && sent < 40_000 && Date.now() < deadline) {
      const batch = Array.from({ length: 100 }, (_, i) =>
        ask(gh.port, `${label}.${sent + i}.${label}.${label}.full.test`, 'A', { timeoutMs: 3000 }),
      );
      const replies = await Promise.all(batch);
      expect(replies.every((r) => r.rcode === 'NXDOMAIN')).toBe(true);
      sent += batch.length;
      if (sent % 2000 === 0) await gh.app.queryLog.flush();
    }
    expect(gh.app.queryLog.dropped).toBeGreaterThan(0);
    expect(gh.app.queryLog.stats().lastError).toMatch(/full/i);
    // DNS goes on answering, right.
    for (let i = 0; i < 20; i++) expect((await ask(gh.port, 'ok.test')).addresses).toEqual(['192.0.2.1']);
    // IT hears about it (the 'dropped' event is raised at most once per flush interval).
    const raised = async () => {
      gh.app.alerts.flush();
      return gh.app.alerts.list({ kind: 'operational' }).items.some((a) => a.category === 'querylog-dropped');
    };
    expect(await eventually(raised, Boolean, 10_000)).toBe(true);
  });
});
