// The self-test's own queries (issue 12, items 4 and 5), on the running
// service: they carry the service's check token in an EDNS option, so they
// are logged as check traffic, kept out of people's histories, the rollups and
// the top lists, shown only when asked for, and never alerted. The test names
// themselves exempt nothing: a pupil looking one up is alerted as usual, and a
// forged option without the token hides nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveDeps } from '../../src/admin/wire.js';
import { BlockCounter } from '../../src/admin/metrics.js';
import { buildApp, type Gatehouse } from '../../src/app.js';
import { CHECK_OPTION_CODE } from '../../src/checks/check-token.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { breakdown, topClients, topDomains } from '../../src/store/rollups.js';
import { search } from '../../src/store/search.js';
import { dig } from '../helpers/dig.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { havePrograms } from '../helpers/programs.js';
import { categoriesAndLists } from '../helpers/lists-config.js';

const ready = havePrograms('dig');

describe.skipIf(!ready)('self-test traffic', () => {
  let dir: string;
  let upstream: FakeUpstream;
  let gh: Gatehouse;
  let port: number;
  const blocks = new BlockCounter();
  let started: number;
  const period = () => ({ from: started - 60_000, to: Date.now() + 60_000 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-checks-'));
    upstream = await startFakeUpstream({ 'fine.example': '192.0.2.80' });
    const config = parseConfig(
      `dns: { listen: ["127.0.0.1:0"] }
links: [{ name: fibre, upstreams: ["${upstream.url}"], timeoutMs: 1000 }]
${categoriesAndLists(dir, {
  adult: { name: 'Adult content', severity: 'high', names: ['adult-test.example'] },
  iwf: { name: 'IWF child abuse list', illegal: true, severity: 'critical', names: ['iwf-test.example'] },
})}
groups:
  - { name: pupils, networks: ["127.0.0.2/32", "127.0.0.4/32"], block: [adult] }
  - { name: staff, networks: ["127.0.0.3/32"] }
  - { name: guests, default: true, block: [adult] }
store: { path: ${join(dir, 'gatehouse.db')} }
alerts: { enabled: true }
checks:
  names: { adult: [adult-test.example], iwf: [iwf-test.example] }
  allowed: [fine.example]
  schedule: ""
  timeoutMs: 1500
logging: { level: silent }
`,
      join(dir, 'gatehouse.yaml'),
    );
    gh = buildApp(config, { logger: silentLogger(), admin: false });
    gh.server.addObserver(blocks);
    await gh.start();
    port = gh.server.addresses().udp[0].port;
    started = Date.now();
    // The daily self-test, as `serve` runs it: from 127.0.0.2 (pupils), .3 (staff) and .1 (guests).
    const result = await liveDeps(gh).selfTest!({});
    expect(result.ok, result.summary).toBe(true);
    // A pupil looks up the test name for real; another forges the option without the token.
    await dig('127.0.0.1', port, 'adult-test.example', 'A', ['-b', '127.0.0.2']);
    await dig('127.0.0.1', port, 'adult-test.example', 'A', ['-b', '127.0.0.4', `+ednsopt=${CHECK_OPTION_CODE}:${'ab'.repeat(16)}`]);
    await dig('127.0.0.1', port, 'fine.example', 'A', ['-b', '127.0.0.2']);
    await gh.queryLog.flush();
    gh.alerts.flush();
  }, 60_000);

  afterAll(async () => {
    await gh?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('raises no alert for the self-test, and alerts real lookups of a test name, forged option or not', () => {
    const alerts = gh.alerts.list({ kind: 'safeguarding' }).items.map((a) => [a.client, a.category, a.count]);
    expect(alerts.sort()).toEqual([
      ['127.0.0.2', 'adult', 1],
      ['127.0.0.4', 'adult', 1],
    ]);
    // /metrics' block counts are the school's own.
    expect(blocks.snapshot()).toEqual({ adult: 2 });
  });

  it("keeps the self-test out of a pupil's history, and shows it when asked for", () => {
    const history = search(gh.db, { ...period(), client: '127.0.0.2' }).rows;
    expect(history.map((r) => [r.name, r.check])).toEqual([
      ['fine.example', false],
      ['adult-test.example', false],
    ]);
    const withChecks = search(gh.db, { ...period(), client: '127.0.0.2', checks: 'include' }).rows;
    // 2 test names + 1 allowed + the DoH canary from the pupils' address, merged in time order.
    expect(withChecks.filter((r) => r.check)).toHaveLength(4);
    expect(withChecks.map((r) => r.ts)).toEqual([...withChecks.map((r) => r.ts)].sort((a, b) => b - a));
    const only = search(gh.db, { ...period(), checks: 'only' }).rows;
    expect(only).toHaveLength(12); // 3 groups × 4
    expect(only.every((r) => r.check)).toBe(true);
    expect(new Set(only.map((r) => r.client))).toEqual(new Set(['127.0.0.1', '127.0.0.2', '127.0.0.3']));
    // A name filter still never matches the IWF rows, check traffic or not.
    expect(search(gh.db, { ...period(), checks: 'only', domain: 'iwf' }).rows).toEqual([]);
    expect(search(gh.db, { ...period(), checks: 'only', category: 'iwf' }).rows.map((r) => r.name.startsWith('~illegal '))).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('leaves the self-test out of the rollups, so of reports and top lists', () => {
    const p = period();
    const clients = topClients(gh.db, { ...p, limit: 10 }).map((c) => [c.client, c.queries, c.blocked]);
    expect(clients.sort()).toEqual([
      ['127.0.0.2', 2, 1],
      ['127.0.0.4', 1, 1],
    ]);
    expect(topDomains(gh.db, { ...p, limit: 10, hidden: true }).map((d) => [d.name, d.queries])).toEqual([
      ['adult-test.example', 2],
      ['fine.example', 1],
    ]);
    expect(breakdown(gh.db, { ...p, by: 'category' }).find((b) => b.key === 'iwf')).toBeUndefined();
  });
});
