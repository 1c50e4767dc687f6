// A name looked up (and logged in the clear, rightly) before an illegal list
// had it: once the list in use has it, a name search leaves it out, so the
// log cannot be used to test guesses against the IWF list either. The whole
// service with its own admin UI, whose searches run in the store's reader
// thread, which gets the illegal categories' entries after every list swap.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask } from '../helpers/client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGatehouse, type Running } from '../helpers/gatehouse.js';
import { categoriesAndLists } from '../helpers/lists-config.js';
import { addUser, Client, type Harness } from '../admin/helpers.js';

describe('a name listed as illegal after it was logged', () => {
  let dir: string;
  let up: FakeUpstream;
  let gh: Running;
  let dsl: Client;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-listed-later-'));
    up = await startFakeUpstream({ 'later-listed.example': '192.0.2.90', 'other-site.example': '192.0.2.91' });
    const config = [
      'dns: { listen: ["127.0.0.1:0"] }',
      `links: [{ name: p, upstreams: ["${up.url}"] }]`,
      'health: { probeIntervalMs: 60000 }',
      categoriesAndLists(dir, { iwf: { name: 'IWF', illegal: true, names: ['already-listed.example'] } }),
      'groups: [{ name: everyone, default: true }]',
      `store: { path: ${join(dir, 'gh.db')} }`,
      'admin: { listen: "127.0.0.1:0", allowedNetworks: ["127.0.0.0/8"], blockPage: { enabled: false } }',
      'checks: { schedule: "" }',
    ].join('\n');
    gh = await startGatehouse(config, { admin: true });
    const clock = { now: Date.now() };
    const h: Harness = { app: gh.app.admin!, db: gh.app.db, config: gh.config, clock, policyCalls: [], close: async () => {} };
    await addUser(h, 'dsl', 'dsl');
    dsl = new Client(h);
    await dsl.login('dsl');
  }, 60_000);
  afterAll(async () => {
    await gh.stop();
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const names = async (domain: string) =>
    ((await dsl.get(`/api/querylog?domain=${domain}`)).json() as { rows: { name: string }[] }).rows.map((r) => r.name);

  it('is found by name while no list has it, and not once the list in use does', async () => {
    await ask(gh.port, 'later-listed.example', 'A');
    await ask(gh.port, 'other-site.example', 'A');
    await gh.app.queryLog.flush();
    expect(await names('later')).toEqual(['later-listed.example']);
    writeFileSync(join(dir, 'iwf.txt'), 'already-listed.example\nlater-listed.example\n');
    await gh.app.lists.refresh();
    expect((await ask(gh.port, 'later-listed.example', 'A')).addresses).toEqual(['127.0.0.1']); // blocked now
    await gh.app.queryLog.flush();
    for (const probe of ['later', 'later-listed', 'listed.example', 'r-l']) expect(await names(probe)).toEqual([]);
    // Other names are found as before; by category, the IWF rows are there with their names withheld.
    expect(await names('other')).toEqual(['other-site.example']);
    const byCategory = (await dsl.get('/api/querylog?category=iwf')).json() as { rows: { name: string }[] };
    expect(byCategory.rows.map((r) => r.name)).toEqual(['(withheld: illegal content)']);
  });
});
