// Accounts: individual logins with a role. Creating and changing accounts goes
// through withChange so each change has its change-log row; the hash of a
// password never appears in the log.
import type { Database } from 'better-sqlite3';
import { withChange } from './changelog.js';
import { hashPassword, passwordProblems, passwordRuleProblems, PASSWORD_HISTORY } from './passwords.js';
import { deleteRecoveryCodes } from './recovery-codes.js';
import { ROLES, type Role } from './roles.js';

export { ROLE_LABELS, ROLES, type Role } from './roles.js';

export interface UserRow {
  id: number;
  name: string;
  role: Role;
  password_hash: string;
  password_changed_at: number;
  must_change_password: number;
  failed_attempts: number;
  locked_at: number | null;
  disabled: number;
  totp_secret: string | null;
  totp_enabled: number;
  totp_last_step: number;
  created_at: number;
  last_login_at: number | null;
}

/** What may be shown or logged about an account (no hashes, no secrets). */
export interface PublicUser {
  id: number;
  name: string;
  role: Role;
  mustChangePassword: boolean;
  locked: boolean;
  disabled: boolean;
  mfaEnabled: boolean;
  createdAt: number;
  lastLoginAt: number | null;
  passwordChangedAt: number;
}

export function publicUser(u: UserRow): PublicUser {
  return {
    id: u.id,
    name: u.name,
    role: u.role,
    mustChangePassword: u.must_change_password === 1,
    locked: u.locked_at !== null,
    disabled: u.disabled === 1,
    mfaEnabled: u.totp_enabled === 1,
    createdAt: u.created_at,
    lastLoginAt: u.last_login_at,
    passwordChangedAt: u.password_changed_at,
  };
}

/** A fact about an account, for the change log (role, state; never secrets). */
function logView(u: UserRow) {
  const p = publicUser(u);
  return {
    name: p.name,
    role: p.role,
    locked: p.locked,
    disabled: p.disabled,
    mfaEnabled: p.mfaEnabled,
    mustChangePassword: p.mustChangePassword,
  };
}

export class UserError extends Error {
  constructor(
    readonly code:
      'GH_ERR_USER_NAME' | 'GH_ERR_USER_EXISTS' | 'GH_ERR_USER_ROLE' | 'GH_ERR_PASSWORD' | 'GH_ERR_USER_NOT_FOUND' | 'GH_ERR_LAST_ADMIN',
    message: string,
  ) {
    super(message);
  }
}

export const USER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/;

export function getUserByName(db: Database, name: string): UserRow | undefined {
  return db.prepare('SELECT * FROM admin_users WHERE name = ?').get(name) as UserRow | undefined;
}

export function getUserById(db: Database, id: number): UserRow | undefined {
  return db.prepare('SELECT * FROM admin_users WHERE id = ?').get(id) as UserRow | undefined;
}

export function listUsers(db: Database): UserRow[] {
  return db.prepare('SELECT * FROM admin_users ORDER BY name').all() as UserRow[];
}

function mustGet(db: Database, id: number): UserRow {
  const u = getUserById(db, id);
  if (!u) throw new UserError('GH_ERR_USER_NOT_FOUND', 'no such user');
  return u;
}

/** Create an account with an initial password that must be changed at first login. */
export async function createUser(
  db: Database,
  input: { name: string; role: string; password: string; actor: string; now: number; reason?: string },
): Promise<UserRow> {
  if (!USER_NAME_PATTERN.test(input.name)) {
    throw new UserError('GH_ERR_USER_NAME', 'user names are 2 to 64 letters, digits, ".", "_", "@" or "-"');
  }
  if (!(ROLES as readonly string[]).includes(input.role))
    throw new UserError('GH_ERR_USER_ROLE', `role must be one of ${ROLES.join(', ')}`);
  const problems = passwordRuleProblems(input.password, input.name);
  if (problems.length > 0) throw new UserError('GH_ERR_PASSWORD', 'password: ' + problems.join('; '));
  if (getUserByName(db, input.name)) throw new UserError('GH_ERR_USER_EXISTS', 'a user with that name already exists');
  const hash = await hashPassword(input.password);
  return withChange(
    db,
    (u: UserRow) => ({
      actor: input.actor,
      entity: 'user',
      entityId: u.id,
      action: 'create',
      after: logView(u),
      reason: input.reason ?? null,
      at: input.now,
    }),
    () => {
      if (getUserByName(db, input.name)) throw new UserError('GH_ERR_USER_EXISTS', 'a user with that name already exists');
      const { lastInsertRowid } = db
        .prepare(
          `INSERT INTO admin_users (name, role, password_hash, password_changed_at, must_change_password, created_at)
           VALUES (?, ?, ?, ?, 1, ?)`,
        )
        .run(input.name, input.role, hash, input.now, input.now);
      db.prepare('INSERT INTO admin_password_history (user_id, password_hash, set_at) VALUES (?, ?, ?)').run(
        lastInsertRowid,
        hash,
        input.now,
      );
      return mustGet(db, Number(lastInsertRowid));
    },
  );
}

/** Apply an update to one account and log it (before and after) in one transaction. */
function changeUser(db: Database, id: number, actor: string, action: string, now: number, sql: string, ...params: unknown[]): UserRow {
  let before: UserRow | undefined;
  return withChange(
    db,
    (after: UserRow) => ({
      actor,
      entity: 'user',
      entityId: id,
      action,
      before: before && logView(before),
      after: logView(after),
      at: now,
    }),
    () => {
      before = mustGet(db, id);
      db.prepare(sql).run(...params, id);
      return mustGet(db, id);
    },
  );
}

function countActiveAdmins(db: Database, exceptId: number): number {
  return (
    db.prepare("SELECT count(*) AS n FROM admin_users WHERE role = 'admin' AND disabled = 0 AND id != ?").get(exceptId) as { n: number }
  ).n;
}

export function setRole(db: Database, id: number, role: string, actor: string, now: number): UserRow {
  if (!(ROLES as readonly string[]).includes(role)) throw new UserError('GH_ERR_USER_ROLE', `role must be one of ${ROLES.join(', ')}`);
  const u = mustGet(db, id);
  if (u.role === 'admin' && role !== 'admin' && countActiveAdmins(db, id) === 0) {
    throw new UserError('GH_ERR_LAST_ADMIN', 'the last active admin cannot lose the admin role');
  }
  return changeUser(db, id, actor, 'change-role', now, 'UPDATE admin_users SET role = ? WHERE id = ?', role);
}

export function setDisabled(db: Database, id: number, disabled: boolean, actor: string, now: number): UserRow {
  const u = mustGet(db, id);
  if (disabled && u.role === 'admin' && countActiveAdmins(db, id) === 0) {
    throw new UserError('GH_ERR_LAST_ADMIN', 'the last active admin cannot be disabled');
  }
  const row = changeUser(
    db,
    id,
    actor,
    disabled ? 'disable' : 'enable',
    now,
    'UPDATE admin_users SET disabled = ? WHERE id = ?',
    disabled ? 1 : 0,
  );
  if (disabled) db.prepare('DELETE FROM admin_sessions WHERE user_id = ?').run(id);
  return row;
}

export function unlockUser(db: Database, id: number, actor: string, now: number): UserRow {
  return changeUser(db, id, actor, 'unlock', now, 'UPDATE admin_users SET locked_at = NULL, failed_attempts = 0 WHERE id = ?');
}

/** Removes MFA and its recovery codes so the user enrols again at next login (a lost phone). */
export function resetMfa(db: Database, id: number, actor: string, now: number): UserRow {
  return db.transaction(() => {
    const row = changeUser(
      db,
      id,
      actor,
      'reset-mfa',
      now,
      'UPDATE admin_users SET totp_secret = NULL, totp_enabled = 0, totp_last_step = 0 WHERE id = ?',
    );
    deleteRecoveryCodes(db, id);
    db.prepare('DELETE FROM admin_sessions WHERE user_id = ?').run(id);
    return row;
  })();
}

/** An admin sets a temporary password; the user must change it at next login. */
export async function resetPassword(db: Database, id: number, password: string, actor: string, now: number): Promise<UserRow> {
  const u = mustGet(db, id);
  const problems = passwordRuleProblems(password, u.name);
  if (problems.length > 0) throw new UserError('GH_ERR_PASSWORD', 'password: ' + problems.join('; '));
  const hash = await hashPassword(password);
  const row = changeUser(
    db,
    id,
    actor,
    'reset-password',
    now,
    'UPDATE admin_users SET password_hash = ?, password_changed_at = ?, must_change_password = 1, failed_attempts = 0, locked_at = NULL WHERE id = ?',
    hash,
    now,
  );
  db.prepare('INSERT INTO admin_password_history (user_id, password_hash, set_at) VALUES (?, ?, ?)').run(id, hash, now);
  db.prepare('DELETE FROM admin_sessions WHERE user_id = ?').run(id);
  return row;
}

export function recentPasswordHashes(db: Database, userId: number): string[] {
  return (
    db
      .prepare('SELECT password_hash FROM admin_password_history WHERE user_id = ? ORDER BY id DESC LIMIT ?')
      .all(userId, PASSWORD_HISTORY) as {
      password_hash: string;
    }[]
  ).map((r) => r.password_hash);
}

/**
 * The user changes their own password (first login, expiry, or by choice).
 * Returns the policy problems; an empty list means it was changed.
 */
export async function changeOwnPassword(db: Database, userId: number, newPassword: string, now: number): Promise<string[]> {
  const u = mustGet(db, userId);
  const problems = await passwordProblems(newPassword, u.name, recentPasswordHashes(db, userId));
  if (problems.length > 0) return problems;
  const hash = await hashPassword(newPassword);
  db.transaction(() => {
    db.prepare('UPDATE admin_users SET password_hash = ?, password_changed_at = ?, must_change_password = 0 WHERE id = ?').run(
      hash,
      now,
      userId,
    );
    db.prepare('INSERT INTO admin_password_history (user_id, password_hash, set_at) VALUES (?, ?, ?)').run(userId, hash, now);
    // Keep only what the reuse rule needs.
    db.prepare(
      'DELETE FROM admin_password_history WHERE user_id = ? AND id NOT IN (SELECT id FROM admin_password_history WHERE user_id = ? ORDER BY id DESC LIMIT ?)',
    ).run(userId, userId, PASSWORD_HISTORY);
  })();
  return [];
}

export function passwordExpired(u: UserRow, expiryDays: number, now: number): boolean {
  return expiryDays > 0 && now - u.password_changed_at > expiryDays * 86_400_000;
}
