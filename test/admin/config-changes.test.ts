import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/admin/changelog.js';
import { recordConfigChanges } from '../../src/admin/config-changes.js';
import { harness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

describe('config reloads in the change log', () => {
  it('logs each changed section, without secrets', async () => {
    h = await harness({ adminYaml: '  metrics: { token: "a-very-secret-token-123" }' });
    const next = structuredClone(h.config);
    next.groups[0].block = ['social'];
    next.admin.sessionIdleMinutes = 10;
    next.logging.level = 'debug';
    expect(recordConfigChanges(h.db, h.config, next, 'config file (reload)', 42)).toEqual(['groups', 'admin']);
    const rows = h.db.prepare('SELECT entity, entity_id, action, before_json, after_json FROM change_log ORDER BY id').all() as Record<
      string,
      string
    >[];
    expect(rows.map((r) => r.entity_id)).toEqual(['groups', 'admin']);
    expect(JSON.parse(rows[0].after_json)[0].block).toEqual(['social']);
    expect(JSON.stringify(rows)).not.toContain('a-very-secret-token-123');
    expect(verifyChain(h.db).ok).toBe(true);
    expect(recordConfigChanges(h.db, next, next)).toEqual([]);
  });
});
