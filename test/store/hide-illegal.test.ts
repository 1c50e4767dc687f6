// The upgrade of a log that holds illegal names in the clear (store/hide-illegal.ts):
// every name an illegal row uses is hidden, the counts stay, and a second run
// does nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/db.js';
import { hideIllegalNames } from '../../src/store/hide-illegal.js';
import { isHiddenName, NameHider } from '../../src/store/hidden-names.js';
import { LogWriter } from '../../src/store/writer.js';
import { newBatch, pushRow } from '../../src/store/batch.js';
import { search } from '../../src/store/search.js';
import { topDomains } from '../../src/store/rollups.js';
import { writeOldLog } from './old-log.js';
import { tempDir } from './helpers.js';

const hider = new NameHider(Buffer.alloc(32, 7));
const DAY1 = Date.UTC(2026, 10, 23, 9, 0);
const DAY2 = DAY1 + 86_400_000;
const ALL = { from: DAY1 - 86_400_000, to: DAY2 + 86_400_000 };

let tmp: ReturnType<typeof tempDir>;
let db: Database;
beforeEach(() => {
  tmp = tempDir();
  writeOldLog(tmp.path('gh.db'), [
    // Looked up (and allowed) before the list had it, then blocked as IWF the next day.
    { ts: DAY1, client: '10.0.0.5', group: 'pupils', name: 'listed-later.example', action: 'allow' },
    { ts: DAY2, client: '10.0.0.5', group: 'pupils', name: 'listed-later.example', action: 'block', category: 'iwf' },
    { ts: DAY2 + 1000, client: '10.0.0.6', group: 'pupils', name: 'listed-later.example', action: 'block', category: 'iwf' },
    { ts: DAY2 + 2000, client: '10.0.0.6', group: 'pupils', name: 'porn.example', action: 'block', category: 'adult' },
    { ts: DAY2 + 3000, client: '10.0.0.7', group: 'staff', name: 'news.example', action: 'allow' },
  ]);
  db = openDatabase(tmp.path('gh.db')); // migrates to today's schema
});
afterEach(() => {
  db.close();
  tmp.remove();
});

const names = () => db.prepare('SELECT name FROM name_by_id ORDER BY name').pluck().all() as string[];

describe('hiding illegal names logged in the clear', () => {
  it('hides every row of a name an illegal row used, keeps the counts, and runs once', () => {
    const r = hideIllegalNames(db, ['iwf'], hider);
    expect(r).toEqual({ categories: ['iwf'], names: 1 });
    expect(names()).toEqual(['news.example', 'porn.example', hider.hide('listed-later.example')].sort());
    const rows = search(db, { ...ALL, limit: 100 }).rows;
    expect(rows.map((x) => [x.name === hider.hide('listed-later.example') ? 'hidden' : x.name, x.category])).toEqual([
      ['news.example', null],
      ['porn.example', 'adult'],
      ['hidden', 'iwf'],
      ['hidden', 'iwf'],
      ['hidden', null], // the earlier lookup of the same site is hidden too
    ]);
    // Repeats still count: one (hidden) name, three lookups, two blocked.
    expect(topDomains(db, { ...ALL, hidden: true, limit: 10 })).toContainEqual({
      name: hider.hide('listed-later.example'),
      queries: 3,
      blocked: 2,
    });
    expect(
      topDomains(db, { ...ALL, limit: 10 })
        .map((d) => d.name)
        .sort(),
    ).toEqual(['news.example', 'porn.example']);
    expect(db.prepare("SELECT illegal FROM dict WHERE kind = 'category' AND name = 'iwf'").pluck().get()).toBe(1);
    expect(hideIllegalNames(db, ['iwf'], hider)).toEqual({ categories: [], names: 0 });
  });

  it('merges a clear name into its hidden form logged since, with its rollups', () => {
    // The new writer logged the same name hidden (the query log hides it at record time).
    const writer = new LogWriter(db);
    writer.setDictionaries({ groups: ['pupils', 'staff'], categories: ['iwf', 'adult'], links: [] });
    const b = newBatch(2);
    pushRow(b, DAY2 + 60_000, '10.0.0.8', 0, hider.hide('listed-later.example'), 1, 1, 0, -1, 0, 10, false);
    pushRow(b, DAY2 + 61_000, '10.0.0.8', 0, hider.hide('listed-later.example'), 1, 1, 0, -1, 0, 10, false);
    writer.writeBatch(b);
    expect(hideIllegalNames(db, ['iwf'], hider)).toEqual({ categories: ['iwf'], names: 1 });
    expect(names().filter((n) => n.includes('listed-later'))).toEqual([]);
    expect(names().filter(isHiddenName)).toEqual([hider.hide('listed-later.example')]);
    expect(topDomains(db, { ...ALL, hidden: true, limit: 10 })).toContainEqual({
      name: hider.hide('listed-later.example'),
      queries: 5,
      blocked: 4,
    });
    expect(search(db, { ...ALL, client: '10.0.0.5', limit: 10 }).rows.map((x) => x.name)).toEqual([
      hider.hide('listed-later.example'),
      hider.hide('listed-later.example'),
    ]);
  });

  it('marks a category that has no rows yet without touching anything', () => {
    expect(hideIllegalNames(db, ['ctiru'], hider)).toEqual({ categories: ['ctiru'], names: 0 });
    expect(names()).toContain('listed-later.example');
    expect(db.prepare("SELECT illegal FROM dict WHERE kind = 'category' AND name = 'ctiru'").pluck().get()).toBe(1);
  });
});
