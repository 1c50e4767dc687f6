// Entries of illegal lists never appear anywhere the list machinery reports:
// status, refresh events, explain(), error messages and logs carry counts,
// line numbers, list ids and categories only.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ListManager } from '../../src/lists/manager.js';
import { configWithLists } from './config-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-illegal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('illegal lists', () => {
  it('show counts and line numbers, never entry or line text', async () => {
    const path = join(dir, 'iwf.txt');
    writeFileSync(path, 'secret-entry-one.example\nsecret-entry-two.example\nsecret bad line\n');
    let logged = '';
    const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) }));
    const config = configWithLists([{ id: 'iwf-feed', category: 'iwf', source: `file:${path}`, format: 'domains' }]);
    const lists = new ListManager(config, { dataDir: join(dir, 'data'), logger });
    const events: unknown[] = [];
    lists.on('refresh', (e) => events.push(e));
    await lists.start();
    // A broken update: refused, with its error recorded.
    writeFileSync(path, 'secret garbage one\nsecret garbage two\n');
    await lists.refresh();
    lists.stop();

    const iwf = (1 << 2) >>> 0;
    expect(lists.matcher.lookup('secret-entry-one.example')).toBe(iwf);
    const status = lists.status()[0];
    expect(status).toMatchObject({ illegal: true, entries: 2, badLines: { count: 1, lines: [3] }, serving: 'last-good' });
    expect(status.lastError).toMatch(/2 of 2 lines/);
    const shown = JSON.stringify([lists.status(), events, lists.matcher.explain('a.secret-entry-one.example'), logged]);
    expect(shown).not.toMatch(/secret/);
    expect(lists.matcher.explain('a.secret-entry-one.example')).toEqual([{ listId: 'iwf-feed', category: 'iwf', effect: 'block' }]);
  });
});
