// The admin tables: accounts, sessions, the auth audit trail, the change log,
// exceptions and pending review requests. This SQL is store migration 3
// (src/store/migrations.ts): never edit it once shipped; add a new migration.
// Every statement is idempotent, so ensureAdminSchema can also run it on a
// database opened without the migrations (tests, tools).
import type { Database } from 'better-sqlite3';

export const adminSchemaSql = `
CREATE TABLE IF NOT EXISTS admin_users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'dsl', 'auditor')),
  password_hash TEXT NOT NULL,
  password_changed_at INTEGER NOT NULL,
  must_change_password INTEGER NOT NULL DEFAULT 1,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  locked_at INTEGER,
  disabled INTEGER NOT NULL DEFAULT 0,
  totp_secret TEXT,
  totp_enabled INTEGER NOT NULL DEFAULT 0,
  totp_last_step INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  last_login_at INTEGER
);

CREATE TABLE IF NOT EXISTS admin_password_history (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES admin_users(id),
  password_hash TEXT NOT NULL,
  set_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS admin_password_history_user ON admin_password_history(user_id, id);

CREATE TABLE IF NOT EXISTS admin_sessions (
  id_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES admin_users(id),
  csrf_token TEXT NOT NULL,
  mfa_done INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  address TEXT
);
CREATE INDEX IF NOT EXISTS admin_sessions_user ON admin_sessions(user_id);

CREATE TABLE IF NOT EXISTS admin_auth_audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  user_name TEXT NOT NULL,
  event TEXT NOT NULL,
  address TEXT,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS admin_auth_audit_at ON admin_auth_audit(at);

CREATE TABLE IF NOT EXISTS change_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  entity TEXT NOT NULL,
  entity_id TEXT,
  action TEXT NOT NULL,
  before_json TEXT,
  after_json TEXT,
  requester TEXT,
  reason TEXT,
  approver TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS change_log_at ON change_log(at);
-- The product never edits or deletes change-log rows; the database refuses too.
CREATE TRIGGER IF NOT EXISTS change_log_no_update BEFORE UPDATE ON change_log
BEGIN SELECT RAISE(ABORT, 'change_log rows cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS change_log_no_delete BEFORE DELETE ON change_log
BEGIN SELECT RAISE(ABORT, 'change_log rows cannot be deleted'); END;

CREATE TABLE IF NOT EXISTS exceptions (
  id INTEGER PRIMARY KEY,
  domain TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('allow', 'deny')),
  groups_json TEXT NOT NULL,
  requester TEXT NOT NULL,
  subject_area TEXT NOT NULL,
  reason TEXT NOT NULL,
  approver TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS exception_requests (
  id INTEGER PRIMARY KEY,
  domain TEXT NOT NULL,
  category TEXT,
  group_name TEXT,
  client_address TEXT,
  requester_name TEXT,
  reason TEXT,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'refused')),
  decided_by TEXT,
  decided_at INTEGER,
  decision_note TEXT
);
CREATE INDEX IF NOT EXISTS exception_requests_status ON exception_requests(status, id);
`;

/**
 * MFA recovery codes (store migration 5): one row per code, only its keyed hash
 * (recovery-codes.ts), and when and from where it was used. Idempotent too.
 */
export const recoveryCodesSql = `
CREATE TABLE IF NOT EXISTS admin_recovery_codes (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES admin_users(id),
  code_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  used_at INTEGER,
  used_address TEXT
);
CREATE INDEX IF NOT EXISTS admin_recovery_codes_user ON admin_recovery_codes(user_id);
`;

/**
 * Create the admin tables on a database opened without the migrations (safe to
 * run on every start). A migrated database has them already, in their newer
 * shape (migration 11 renamed the exception tables), so it is left alone.
 */
export function ensureAdminSchema(db: Database): void {
  if ((db.pragma('user_version', { simple: true }) as number) >= 3) return;
  db.exec(adminSchemaSql);
  db.exec(recoveryCodesSql);
}
