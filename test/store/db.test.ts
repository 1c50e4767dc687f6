import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { hasTables, openDatabase } from '../../src/store/db.js';
import { latestVersion, migrate, migrations, type Migration } from '../../src/store/migrations.js';
import { QueryLog } from '../../src/store/query-log.js';
import { silentLogger } from '../../src/log.js';
import { holdWriteLock, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  tmp?.remove();
  tmp = undefined;
});

describe('openDatabase', () => {
  it('creates the directory, uses WAL and brings the schema to the newest version', () => {
    tmp = tempDir();
    const db = openDatabase(tmp.path('deep/er/gh.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(latestVersion());
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'name_by_id'").pluck().get()).toBe(1);
    expect(hasTables(db, 'name_by_id', 'alerts', 'checks')).toBe(true);
    expect(hasTables(db, 'name_by_id', 'no_such_table')).toBe(false);
    db.close();
    // Opening again applies nothing twice.
    const again = openDatabase(tmp.path('deep/er/gh.db'));
    expect(migrate(again)).toEqual([]);
    again.close();
  });

  it('applies a migration appended to the list, once, and records its version', () => {
    tmp = tempDir();
    openDatabase(tmp.path('gh.db')).close();
    const next: Migration = {
      version: migrations.length + 1,
      name: 'alerts table',
      up: 'CREATE TABLE alert_test (id INTEGER PRIMARY KEY)',
    };
    const fn: Migration = {
      version: migrations.length + 2,
      name: 'seed',
      up: (db) => db.prepare('INSERT INTO alert_test (id) VALUES (7)').run(),
    };
    const db = openDatabase(tmp.path('gh.db'), { migrations: [...migrations, next, fn] });
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length + 2);
    expect(db.prepare('SELECT id FROM alert_test').pluck().all()).toEqual([7]);
    db.close();
  });

  it('rolls back a failing migration and names it', () => {
    tmp = tempDir();
    const bad: Migration = { version: migrations.length + 1, name: 'broken one', up: 'CREATE TABLE half (x); SELECT * FROM no_such_table' };
    expect(() => openDatabase(tmp!.path('gh.db'), { migrations: [...migrations, bad] })).toThrow(/cannot migrate database .*gh\.db/);
    const db = new Database(tmp.path('gh.db'));
    expect(db.pragma('user_version', { simple: true })).toBe(latestVersion());
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half'").pluck().get()).toBe(0);
    db.close();
  });

  it('rejects a migration list with a gap', () => {
    tmp = tempDir();
    const db = new Database(tmp.path('gh.db'));
    expect(() => migrate(db, [{ version: 2, name: 'x', up: '' }])).toThrow(/expected 1/);
    db.close();
  });

  it('refuses a database from a newer Gatehouse', () => {
    tmp = tempDir();
    const raw = new Database(tmp.path('gh.db'));
    raw.pragma('user_version = 999');
    raw.close();
    expect(() => openDatabase(tmp!.path('gh.db'))).toThrow(expect.objectContaining({ code: 'GH_ERR_STORE_VERSION' }));
  });

  it.each([
    ['a file that is not a database', (p: string) => writeFileSync(p, 'this is not sqlite at all, '.repeat(400))],
    [
      'a database whose header is damaged',
      (p: string) => {
        const db = new Database(p);
        db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
        db.close();
        const bytes = Buffer.alloc(100, 0xff);
        writeFileSync(p, bytes, { flag: 'r+' });
      },
    ],
    ['a path whose directory is a file', (p: string) => writeFileSync(p.replace(/\/gh\.db$/, ''), 'x')],
  ])('%s: a clear GH_ERR_STORE_OPEN error naming the file', (_label, prepare) => {
    tmp = tempDir();
    const path = _label.includes('directory') ? tmp.path('dir/gh.db') : tmp.path('gh.db');
    prepare(path);
    let error: unknown;
    try {
      openDatabase(path).close();
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'GH_ERR_STORE_OPEN', path });
    expect((error as Error).message).toContain(path);
  });

  it('a transaction that reads before it writes waits for the write lock another connection holds', async () => {
    const tmp = tempDir();
    const db = openDatabase(tmp.path('gh.db'));
    try {
      db.exec('CREATE TABLE counter (n INTEGER)');
      db.prepare('INSERT INTO counter VALUES (0)').run();
      const bump = db.transaction(() => {
        const n = db.prepare('SELECT n FROM counter').pluck().get() as number;
        db.prepare('UPDATE counter SET n = ?').run(n + 1);
      });
      const holder = await holdWriteLock(tmp.path('gh.db'), 300);
      // A plain (deferred) transaction: SQLITE_BUSY at once, "database is locked".
      expect(() => bump.deferred()).toThrow(/locked/);
      await holder.done;
      const again = await holdWriteLock(tmp.path('gh.db'), 300);
      // openDatabase's default: BEGIN IMMEDIATE, which waits busy_timeout for the lock.
      expect(() => bump()).not.toThrow();
      await again.done;
      expect(db.prepare('SELECT n FROM counter').pluck().get()).toBe(1);
    } finally {
      db.close();
      tmp.remove();
    }
  });

  it('an unwritable database file: a clear error at start-up, not on the first insert', () => {
    tmp = tempDir();
    const path = tmp.path('gh.db');
    openDatabase(path).close();
    // Root ignores file modes; the immutable attribute stops root too.
    let locked: boolean;
    if (process.getuid?.() === 0) {
      try {
        execFileSync('chattr', ['+i', path], { stdio: 'ignore' });
        locked = true;
      } catch {
        locked = false;
      }
    } else {
      chmodSync(path, 0o444);
      chmodSync(tmp.dir, 0o555);
      locked = true;
    }
    if (!locked) return void console.warn('skipping: cannot make a file unwritable here (root without chattr)');
    try {
      expect(() => openDatabase(path)).toThrow(expect.objectContaining({ code: 'GH_ERR_STORE_OPEN', path }));
    } finally {
      if (process.getuid?.() === 0) execFileSync('chattr', ['-i', path]);
      else chmodSync(tmp.dir, 0o755);
    }
  });

  it('QueryLog.start() rejects with the same error for a corrupt file', async () => {
    tmp = tempDir();
    mkdirSync(tmp.path('data'));
    writeFileSync(tmp.path('data/gh.db'), 'garbage '.repeat(1000));
    const log = new QueryLog({ path: tmp.path('data/gh.db'), queueMax: 1000, logger: silentLogger() });
    await expect(log.start()).rejects.toMatchObject({ code: 'GH_ERR_STORE_OPEN', path: tmp.path('data/gh.db') });
    // And the hot path still does not throw.
    expect(() => log.record(Date.now(), '10.0.0.1', 0, 'a.example', 1, 0, -1, -1, 0, 1, false)).not.toThrow();
  });
});
