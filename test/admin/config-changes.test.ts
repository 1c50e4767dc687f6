// Technical settings reloaded from the config file are in the change log as
// the keys that changed, in words; secrets never; the file's groups are not
// (the governed policy's are in force).
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/admin/changelog.js';
import { configDiff, recordConfigChanges } from '../../src/admin/config-changes.js';
import { harness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

describe('config reloads in the change log', () => {
  it('logs each changed section as key: before → after, without secrets, and not the groups', async () => {
    h = await harness({ adminYaml: '  metrics: { token: "a-very-secret-token-123" }' });
    const next = structuredClone(h.config);
    next.groups[0].block = ['social'];
    next.admin.sessionIdleMinutes = 10;
    next.admin.metrics.token = 'another-secret-token-456';
    next.links[0].upstreams = ['udp://127.0.0.1:5335', 'tls://9.9.9.9:853'];
    next.logging.level = 'debug';
    expect(recordConfigChanges(h.db, h.config, next, 'config file (reload)', 42)).toEqual(['links', 'admin']);
    const rows = h.db
      .prepare("SELECT entity_id, before_json, after_json FROM change_log WHERE entity = 'setting' ORDER BY id")
      .all() as Record<string, string>[];
    expect(rows.map((r) => [r.entity_id, r.before_json, JSON.parse(r.after_json).changes])).toEqual([
      ['links', null, ['links[0].upstreams: udp://127.0.0.1:53 → udp://127.0.0.1:5335, tls://9.9.9.9:853']],
      ['admin', null, ['admin.sessionIdleMinutes: 15 → 10']],
    ]);
    expect(JSON.stringify(rows)).not.toContain('secret-token');
    expect(verifyChain(h.db).ok).toBe(true);
    expect(recordConfigChanges(h.db, next, next)).toEqual([]);
    // The page shows the lines, not JSON.
    const { addUser, Client } = await import('./helpers.js');
    await addUser(h, 'boss', 'admin');
    const c = new Client(h);
    await c.login('boss');
    const page = (await c.get('/changelog')).body;
    expect(page).toContain('<li>admin.sessionIdleMinutes: 15 → 10</li>');
  });

  it.each([
    [{ a: 1 }, { a: 2 }, ['x.a: 1 → 2']],
    [{ a: [1, 2] }, { a: [1] }, ['x.a: 1, 2 → 1']],
    [{}, { b: 'on' }, ['x.b: (not set) → on']],
    [
      { l: [{ id: 'p', s: 'file:a' }] },
      {
        l: [
          { id: 'p', s: 'file:b' },
          { id: 'q', s: 'file:c' },
        ],
      },
      ['x.l[0].s: file:a → file:b', 'x.l[1]: (not set) → id: q; s: file:c'],
    ],
    [{ t: { generate: true } }, { t: undefined }, ['x.t: generate: true → (not set)']],
  ])('configDiff(%j, %j)', (a, b, lines) => expect(configDiff(a, b, 'x')).toEqual(lines));
});
