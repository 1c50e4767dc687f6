// Lists refresh on their cron schedule, and a bad schedule is a config error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ListManager, type RefreshEvent } from '../../src/lists/manager.js';
import { configWithLists } from './config-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-schedule-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('refresh schedule', () => {
  it('re-reads a list on its cron schedule and swaps in the change', async () => {
    const path = join(dir, 'timed.domains');
    writeFileSync(path, 'before.example\n');
    // node-cron's six-field form: every second.
    const config = configWithLists([{ id: 'timed', category: 'adult', source: `file:${path}`, format: 'domains', refresh: '* * * * * *' }]);
    const lists = new ListManager(config, { dataDir: join(dir, 'data'), logger: silentLogger() });
    await lists.start();
    try {
      writeFileSync(path, 'before.example\nafter.example\n');
      const deadline = AbortSignal.timeout(10_000);
      while (lists.matcher.lookup('after.example') === 0) {
        const [event] = (await once(lists, 'refresh', { signal: deadline })) as [RefreshEvent];
        expect(event).toMatchObject({ listId: 'timed', ok: true });
      }
      expect(lists.matcher.lookup('before.example')).toBe(1);
      expect(lists.status()[0].entries).toBe(2);
    } finally {
      lists.stop();
    }
  });

  it('rejects a refresh that is not a cron expression, naming the key', () => {
    expect(() => configWithLists([{ id: 'x', category: 'adult', source: 'file:x', format: 'domains', refresh: 'daily' }])).toThrow(
      /lists\[0\]\.refresh \(line \d+\): expected a cron expression/,
    );
  });
});
