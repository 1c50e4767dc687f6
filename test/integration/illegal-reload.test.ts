// A category marked illegal by a config reload (SIGHUP): the names its rows
// logged so far are hidden at once, and new rows are hidden as they are logged.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { isHiddenName } from '../../src/store/hidden-names.js';
import { search } from '../../src/store/search.js';
import { ask } from '../helpers/client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGatehouse, type Running } from '../helpers/gatehouse.js';
import { categoriesAndLists } from '../helpers/lists-config.js';
import { record, technician } from '../changes/helpers.js';

describe('a category made illegal by a reload', () => {
  let dir: string;
  let up: FakeUpstream;
  let gh: Running;
  const text = (illegal: boolean) =>
    [
      'dns: { listen: ["127.0.0.1:0"] }',
      `links: [{ name: p, upstreams: ["${up.url}"] }]`,
      'health: { probeIntervalMs: 60000 }',
      categoriesAndLists(dir, { ctiru: { name: 'CTIRU terrorism list', illegal, names: ['extremist-test.example'] } }),
      'groups: [{ name: everyone, default: true, block: [ctiru] }]',
      `store: { path: ${join(dir, 'gh.db')} }`,
    ].join('\n');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-illegal-reload-'));
    up = await startFakeUpstream({});
    gh = await startGatehouse(text(false));
  });
  afterAll(async () => {
    await gh.stop();
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hides the rows logged before the reload and those after', async () => {
    await ask(gh.port, 'extremist-test.example', 'A');
    await gh.app.queryLog.flush();
    const all = () => search(gh.app.db, { from: Date.now() - 60_000, to: Date.now() + 60_000, category: 'ctiru' }).rows.map((r) => r.name);
    expect(all()).toEqual(['extremist-test.example']);
    await gh.app.reload(parseConfig(text(true), join(dir, 'test.yaml')));
    expect(all().map(isHiddenName)).toEqual([true]);
    await ask(gh.port, 'extremist-test.example', 'A');
    await gh.app.queryLog.flush();
    // The same hidden name, so the two lookups still count as repeats of one name.
    expect(new Set(all()).size).toBe(1);
    expect(all().length).toBe(2);
    expect(gh.app.db.prepare("SELECT count(*) FROM name_by_id WHERE name LIKE '%extremist%'").pluck().get()).toBe(0);
    // The governed policy still names ctiru in the group's block list; that is no longer any change's to fix, so changes go on.
    const c = gh.app.changes.create(
      {
        ops: [{ op: 'exception-add', domain: 'maps.example.org', action: 'allow', groups: ['everyone'] }],
        source: 'ui',
        submit: true,
        ...record,
      },
      technician,
    );
    expect(c.status).toBe('submitted');
  });
});
