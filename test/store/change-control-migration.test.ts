// Migration 10 on a database an older Gatehouse filled: the tables whose CHECK
// constraints widen are rebuilt with every row, index, trigger and foreign key
// kept; the old exception tables stay, renamed, for the first start to read.
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, migrations } from '../../src/store/migrations.js';
import { rebuildTable } from '../../src/store/rebuild-table.js';
import { tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  tmp?.remove();
  tmp = undefined;
});

// Change control's migration, wherever it sits in the list (later migrations come after it).
const CC = migrations.findIndex((m) => m.name.startsWith('change control')) + 1;

function beforeChangeControl(): Database.Database {
  tmp = tempDir();
  const db = new Database(tmp.path('gh.db'));
  migrate(db, migrations.slice(0, CC - 1));
  const now = 1_700_000_000_000;
  db.prepare(
    `INSERT INTO admin_users (id, name, role, password_hash, password_changed_at, created_at) VALUES (1, 'boss', 'admin', 'h', ?, ?)`,
  ).run(now, now);
  db.prepare('INSERT INTO admin_password_history (user_id, password_hash, set_at) VALUES (1, ?, ?)').run('old', now);
  db.prepare('INSERT INTO admin_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) VALUES (?, 1, ?, ?, ?)').run(
    'sess',
    'csrf',
    now,
    now,
  );
  db.prepare('INSERT INTO admin_recovery_codes (user_id, code_hash, created_at) VALUES (1, ?, ?)').run('code', now);
  db.prepare(
    `INSERT INTO alerts (id, kind, created_at, last_at, category, severity) VALUES (1, 'operational', ?, ?, 'link-failover', 'high')`,
  ).run(now, now);
  db.prepare(
    `INSERT INTO alert_outbox (id, created_at, channel, kind, alert_id, next_attempt_at) VALUES (7, ?, 'email', 'alert', 1, ?)`,
  ).run(now, now);
  db.prepare(`INSERT INTO alert_deliveries (outbox_id, at, channel, ok, duration_ms) VALUES (7, ?, 'email', 0, 5)`).run(now);
  db.prepare(
    `INSERT INTO checks (id, started_at, finished_at, run_by, trigger, server, ok, passed, failed, summary, cases_json, skipped_json)
     VALUES (3, ?, ?, 'boss', 'manual', '127.0.0.1:53', 1, 1, 0, 'ok', '[]', '[]')`,
  ).run(now, now);
  db.prepare(`INSERT INTO check_actions (check_id, at, user, action) VALUES (3, ?, 'boss', 'looked at it')`).run(now);
  db.prepare(
    `INSERT INTO exceptions (domain, action, groups_json, requester, subject_area, reason, approver, created_by, created_at)
     VALUES ('maps.example.org', 'allow', '["pupils"]', 'Ms Khan', 'Geography', 'Fieldwork', 'Mr Jones', 'boss', ?)`,
  ).run(now);
  db.prepare(`INSERT INTO exception_requests (domain, group_name, reason, created_at) VALUES ('games.example', 'pupils', 'fun', ?)`).run(
    now,
  );
  return db;
}

describe('the change-control migration', () => {
  it('keeps every row and link of the rebuilt tables, and their triggers', () => {
    const db = beforeChangeControl();
    expect(migrate(db, migrations.slice(0, CC))).toEqual([CC]);
    expect(db.prepare('SELECT name, role FROM admin_users').all()).toEqual([{ name: 'boss', role: 'admin' }]);
    expect(db.prepare('SELECT count(*) FROM admin_sessions WHERE user_id = 1').pluck().get()).toBe(1);
    expect(db.prepare('SELECT count(*) FROM admin_recovery_codes WHERE user_id = 1').pluck().get()).toBe(1);
    expect(db.prepare('SELECT id, alert_id FROM alert_outbox').all()).toEqual([{ id: 7, alert_id: 1 }]);
    expect(db.prepare('SELECT outbox_id FROM alert_deliveries').pluck().all()).toEqual([7]);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    // The widened constraints take the new values, and still refuse others.
    db.prepare(
      `INSERT INTO admin_users (name, role, password_hash, password_changed_at, created_at) VALUES ('head', 'approver', 'h', 1, 1)`,
    ).run();
    expect(() =>
      db
        .prepare(`INSERT INTO admin_users (name, role, password_hash, password_changed_at, created_at) VALUES ('x', 'root', 'h', 1, 1)`)
        .run(),
    ).toThrow(/CHECK/);
    db.prepare(
      `INSERT INTO alert_outbox (created_at, channel, kind, payload, next_attempt_at) VALUES (1, 'email', 'notice', '[1]', 1)`,
    ).run();
    // The checks record is still append-only, and its index is back.
    expect(() => db.prepare('UPDATE checks SET ok = 0').run()).toThrow(/cannot be changed/);
    expect(() => db.prepare('DELETE FROM checks').run()).toThrow(/cannot be deleted/);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'checks_by_time'").pluck().get()).toBe(1);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'alert_outbox_due'").pluck().get()).toBe(1);
    // AUTOINCREMENT carried on: a new outbox row never reuses an id.
    const next = db
      .prepare(`INSERT INTO alert_outbox (created_at, channel, kind, next_attempt_at) VALUES (1, 'webhook', 'alert', 1)`)
      .run().lastInsertRowid;
    expect(Number(next)).toBeGreaterThan(8);
    // The old exception tables wait, renamed, for the first start.
    expect(db.prepare('SELECT domain FROM exceptions_before_change_control').pluck().all()).toEqual(['maps.example.org']);
    expect(db.prepare('SELECT domain FROM exception_requests_before_change_control').pluck().all()).toEqual(['games.example']);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'exceptions'").pluck().get()).toBe(0);
    db.close();
  });

  it('rebuildTable refuses to run outside a transaction, with foreign keys on, or on the wrong statement', () => {
    const db = beforeChangeControl();
    expect(() => rebuildTable(db, 'checks', 'CREATE TABLE checks (id INTEGER)')).toThrow(/inside a migration transaction/);
    expect(() => db.transaction(() => rebuildTable(db, 'checks', 'CREATE TABLE checks (id INTEGER)'))()).toThrow(/foreignKeys: 'off'/);
    db.pragma('foreign_keys = OFF');
    expect(() => db.transaction(() => rebuildTable(db, 'checks', 'CREATE TABLE other (id INTEGER)'))()).toThrow(/does not create checks/);
    db.close();
  });

  it('a migration with foreign keys off that leaves a broken link is rolled back, and the keys come back on', () => {
    const db = beforeChangeControl();
    const bad = {
      version: CC,
      name: 'orphan',
      foreignKeys: 'off' as const,
      up: "INSERT INTO admin_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) VALUES ('x', 99, 'c', 1, 1)",
    };
    expect(() => migrate(db, [...migrations.slice(0, CC - 1), bad])).toThrow(/foreign keys point nowhere/);
    expect(db.pragma('user_version', { simple: true })).toBe(CC - 1);
    expect(db.prepare("SELECT count(*) FROM admin_sessions WHERE id_hash = 'x'").pluck().get()).toBe(0);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });
});
