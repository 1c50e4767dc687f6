// A rebuild runs in the worker while this thread keeps answering lookups from
// the old matcher; the new one replaces it in a single step.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ListManager } from '../../src/lists/manager.js';
import { configWithLists } from './config-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rebuild-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeList(path: string, prefix: string, count: number): void {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`${prefix}-${i}.example`);
  writeFileSync(path, lines.join('\n') + '\n');
}

describe('rebuild and swap', () => {
  it('keeps answering from the old matcher until the new one is swapped in', async () => {
    const path = join(dir, 'big.domains');
    writeList(path, 'old', 100_000);
    const config = configWithLists([{ id: 'big', category: 'adult', source: `file:${path}`, format: 'domains' }]);
    const lists = new ListManager(config, { dataDir: join(dir, 'data'), logger: silentLogger() });
    await lists.start();
    const adult = 1;
    expect(lists.matcher.lookup('www.old-99999.example')).toBe(adult);

    writeList(path, 'renewed', 120_000);
    let swapped = false;
    lists.once('swap', () => (swapped = true));
    const seen: { swapped: boolean; old: number; fresh: number }[] = [];
    let done = false;
    const refreshing = lists.refresh('big').finally(() => (done = true));
    // Lookups every millisecond while the worker builds (not every turn of the event loop: a
    // spinning main thread would starve the nice-19 builder on a busy machine).
    await new Promise<void>((resolve) => {
      const tick = () => {
        const m = lists.matcher;
        seen.push({ swapped, old: m.lookup('old-123.example'), fresh: m.lookup('renewed-123.example') });
        if (done) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
    await refreshing;
    lists.stop();

    const before = seen.filter((s) => !s.swapped);
    const after = seen.filter((s) => s.swapped);
    expect(before.length).toBeGreaterThan(10);
    expect(before.every((s) => s.old === adult && s.fresh === 0)).toBe(true);
    expect(after.every((s) => s.old === 0 && s.fresh === adult)).toBe(true);
    expect(lists.matcher.size).toBe(120_000);
    expect(lists.status()[0]).toMatchObject({ entries: 120_000, serving: 'source', lastError: null });
  }, 60_000);

  it('a refresh of an unknown list is refused', async () => {
    const lists = new ListManager(configWithLists([]), { dataDir: join(dir, 'none'), logger: silentLogger() });
    await expect(lists.refresh('nope')).rejects.toThrow(/unknown list "nope"/);
  });

  it('keeps the last good copy of a file source that turns bad, and of one that disappears', async () => {
    const path = join(dir, 'local.domains');
    writeFileSync(path, 'kept.example\n');
    const config = configWithLists([{ id: 'local', category: 'gambling', source: `file:${path}`, format: 'domains' }]);
    const lists = new ListManager(config, { dataDir: join(dir, 'local-data'), logger: silentLogger() });
    await lists.start();
    writeFileSync(path, '<html>not a list</html>\n<body>\n');
    await lists.refresh();
    expect(lists.matcher.lookup('kept.example')).toBe(2);
    expect(lists.status()[0]).toMatchObject({ serving: 'last-good', entries: 1 });
    expect(lists.status()[0].lastError).toMatch(/2 of 2 lines are not valid/);
    rmSync(path);
    await lists.refresh();
    expect(lists.matcher.lookup('kept.example')).toBe(2);
    expect(lists.status()[0].lastError).toMatch(/ENOENT/);
    lists.stop();
  });

  it('reload moves category bits with the new config and drops removed lists', async () => {
    const a = join(dir, 'a.domains');
    const b = join(dir, 'b.domains');
    writeFileSync(a, 'a.example\n');
    writeFileSync(b, 'b.example\n');
    const first = configWithLists([
      { id: 'a', category: 'adult', source: `file:${a}`, format: 'domains' },
      { id: 'b', category: 'gambling', source: `file:${b}`, format: 'domains' },
    ]);
    const lists = new ListManager(first, { dataDir: join(dir, 'reload'), logger: silentLogger() });
    await lists.start();
    expect(lists.matcher.lookup('a.example')).toBe(1);
    const second = configWithLists([{ id: 'a', category: 'adult', source: `file:${a}`, format: 'domains' }], ['iwf', 'adult']);
    await lists.configure(second);
    lists.stop();
    expect(lists.matcher.lookup('a.example')).toBe(2);
    expect(lists.matcher.lookup('b.example')).toBe(0);
    expect(lists.status().map((s) => s.id)).toEqual(['a']);
  });

  it('does nothing for a new config whose lists and categories are the same (a SIGHUP for another section)', async () => {
    const a = join(dir, 'same-a.txt');
    writeFileSync(a, 'a.example\n');
    const config = configWithLists([{ id: 'a', category: 'adult', source: `file:${a}`, format: 'domains' }]);
    const lists = new ListManager(config, { dataDir: join(dir, 'same'), logger: silentLogger() });
    await lists.start();
    const before = lists.matcher;
    writeFileSync(a, 'a.example\nb.example\n'); // would show up in a rebuild
    await lists.configure({ ...config, lists: config.lists.map((l) => ({ ...l })) });
    lists.stop();
    expect(lists.matcher).toBe(before);
    expect(lists.matcher.lookup('b.example')).toBe(0);
  });
});
