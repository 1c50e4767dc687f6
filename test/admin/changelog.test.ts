// The change log's hash chain, its triggers, and the withChange transaction.
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { appendChange, changesCsv, listChanges, verifyChain, withChange } from '../../src/admin/changelog.js';
import { ensureAdminSchema } from '../../src/admin/schema.js';

let db: Database.Database;
beforeEach(() => {
  db = new Database(':memory:');
  ensureAdminSchema(db);
});

const change = (n: number) => ({
  actor: 'alice',
  entity: 'exception',
  entityId: n,
  action: 'create',
  after: { domain: `d${n}.example` },
  at: 1_000 + n,
});

describe('change log', () => {
  it('chains rows and verifies them', () => {
    for (let i = 1; i <= 5; i++) appendChange(db, change(i));
    expect(verifyChain(db)).toEqual({ ok: true, rows: 5 });
    const rows = listChanges(db);
    expect(rows[0].prev_hash).toBe(rows[1].hash);
  });

  it('refuses UPDATE and DELETE through the triggers', () => {
    appendChange(db, change(1));
    expect(() => db.prepare("UPDATE change_log SET actor = 'mallory'").run()).toThrow(/cannot be changed/);
    expect(() => db.prepare('DELETE FROM change_log').run()).toThrow(/cannot be deleted/);
  });

  it('shows an edited row as broken (trigger dropped to simulate tampering)', () => {
    for (let i = 1; i <= 4; i++) appendChange(db, change(i));
    db.exec('DROP TRIGGER change_log_no_update');
    db.prepare("UPDATE change_log SET reason = 'approved by head' WHERE id = 3").run();
    expect(verifyChain(db)).toEqual({ ok: false, rows: 3, brokenAt: 3 });
  });

  it('shows a removed row as broken', () => {
    for (let i = 1; i <= 4; i++) appendChange(db, change(i));
    db.exec('DROP TRIGGER change_log_no_delete');
    db.prepare('DELETE FROM change_log WHERE id = 2').run();
    expect(verifyChain(db)).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('writes the row in the same transaction as the change', () => {
    db.exec('CREATE TABLE things (name TEXT NOT NULL)');
    withChange(db, { actor: 'a', entity: 'thing', action: 'create' }, () => db.prepare("INSERT INTO things VALUES ('one')").run());
    expect(() =>
      withChange(db, { actor: 'a', entity: 'thing', action: 'create' }, () => {
        db.prepare("INSERT INTO things VALUES ('two')").run();
        throw new Error('change failed half way');
      }),
    ).toThrow('half way');
    expect(db.prepare('SELECT count(*) AS n FROM things').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT count(*) AS n FROM change_log').get()).toEqual({ n: 1 });
    // And a change-log failure undoes the change.
    expect(() =>
      withChange(db, { actor: null as unknown as string, entity: 'thing', action: 'create' }, () =>
        db.prepare("INSERT INTO things VALUES ('three')").run(),
      ),
    ).toThrow();
    expect(db.prepare('SELECT count(*) AS n FROM things').get()).toEqual({ n: 1 });
  });

  it('exports CSV with quoting and spreadsheet formulas defused', () => {
    appendChange(db, { actor: 'bob', entity: 'exception', action: 'create', reason: '=HYPERLINK("x") and "quotes"', at: 0 });
    const csv = changesCsv(listChanges(db));
    expect(csv.split('\r\n')[0]).toMatch(/^id,time_utc,actor/);
    expect(csv).toContain(`"'=HYPERLINK(""x"") and ""quotes"""`);
  });
});
