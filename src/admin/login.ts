// The login steps: password, then the TOTP code (or a one-time recovery code).
// Three failures of any lock the account; it unlocks by an admin, on the
// console, or after the configured time. Each lockout is reported (onLocked).
import type { Database } from 'better-sqlite3';
import type { FastifyRequest } from 'fastify';
import { recordAuthEvent } from './audit.js';
import type { AdminContext } from './context.js';
import { reportLockout, type Lockout } from './lockout.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';
import { useRecoveryCode } from './recovery-codes.js';
import { checkTotp } from './totp.js';
import { openSecret } from './secret-box.js';
import { getUserByName, getUserById, type UserRow } from './users.js';

export const MAX_FAILED_ATTEMPTS = 3;

export interface LoginContext {
  db: Database;
  /** Opens the sealed TOTP secrets (secret-box.ts). */
  secretKey: Buffer;
  now: number;
  address: string | null;
  unlockAfterMinutes: number;
  /** Told of every lockout (the admin app raises an IT alert). */
  onLocked?: (lock: Lockout) => void;
}

/** The context for a request to the admin app: its clock, the client address (admin.trustProxy applies), the lockout alert. */
export function loginContextFor(ctx: AdminContext, request: FastifyRequest): LoginContext {
  return {
    db: ctx.db,
    secretKey: ctx.secretKey,
    now: ctx.now(),
    address: request.ip,
    unlockAfterMinutes: ctx.config.admin.unlockAfterMinutes,
    onLocked: (lock) => reportLockout(ctx, lock),
  };
}

export type LoginResult = { ok: true; user: UserRow } | { ok: false; reason: 'invalid' | 'locked' };

/** Unlocks the account if its lock has run out; returns the current row. */
function expireLock(ctx: LoginContext, user: UserRow): UserRow {
  if (user.locked_at === null || ctx.unlockAfterMinutes === 0) return user;
  if (ctx.now - user.locked_at < ctx.unlockAfterMinutes * 60_000) return user;
  ctx.db.prepare('UPDATE admin_users SET locked_at = NULL, failed_attempts = 0 WHERE id = ?').run(user.id);
  recordAuthEvent(ctx.db, {
    at: ctx.now,
    userName: user.name,
    event: 'unlocked',
    address: ctx.address,
    detail: `after ${ctx.unlockAfterMinutes} minutes`,
  });
  return getUserById(ctx.db, user.id)!;
}

/** Count a failure; the third one locks the account. */
export function registerFailure(ctx: LoginContext, user: UserRow, detail: string): void {
  const failed = user.failed_attempts + 1;
  const lock = failed >= MAX_FAILED_ATTEMPTS;
  ctx.db.prepare('UPDATE admin_users SET failed_attempts = ?, locked_at = ? WHERE id = ?').run(failed, lock ? ctx.now : null, user.id);
  recordAuthEvent(ctx.db, { at: ctx.now, userName: user.name, event: 'login_failed', address: ctx.address, detail });
  if (lock) {
    recordAuthEvent(ctx.db, {
      at: ctx.now,
      userName: user.name,
      event: 'locked',
      address: ctx.address,
      detail: `${failed} failed attempts; the last: ${detail}`,
    });
    ctx.onLocked?.({ user, address: ctx.address, failedAttempts: failed, lastFailure: detail });
  }
}

/** Step one: the password. A success does not yet reset the failure count (the code must follow). */
export async function checkPasswordStep(ctx: LoginContext, name: string, password: string): Promise<LoginResult> {
  let user = getUserByName(ctx.db, name);
  if (!user) {
    await verifyPassword(password, await dummyPasswordHash()); // same time as a real check
    recordAuthEvent(ctx.db, { at: ctx.now, userName: name, event: 'login_failed', address: ctx.address, detail: 'unknown user' });
    return { ok: false, reason: 'invalid' };
  }
  user = expireLock(ctx, user);
  if (user.locked_at !== null) {
    await verifyPassword(password, await dummyPasswordHash()); // a locked account answers as slowly as any other
    recordAuthEvent(ctx.db, { at: ctx.now, userName: user.name, event: 'login_failed', address: ctx.address, detail: 'account locked' });
    return { ok: false, reason: 'locked' };
  }
  const good = await verifyPassword(password, user.password_hash);
  // Re-read: another request may have changed the account while we hashed.
  user = getUserById(ctx.db, user.id)!;
  if (user.disabled) {
    recordAuthEvent(ctx.db, { at: ctx.now, userName: user.name, event: 'login_failed', address: ctx.address, detail: 'account disabled' });
    return { ok: false, reason: 'invalid' };
  }
  if (user.locked_at !== null) return { ok: false, reason: 'locked' };
  if (!good) {
    registerFailure(ctx, user, 'wrong password');
    return { ok: false, reason: getUserById(ctx.db, user.id)!.locked_at !== null ? 'locked' : 'invalid' };
  }
  return { ok: true, user };
}

/** Step two: a TOTP code for an enrolled user. */
export function checkCodeStep(ctx: LoginContext, user: UserRow, code: string): LoginResult {
  user = getUserById(ctx.db, user.id)!;
  if (user.locked_at !== null || user.disabled || !user.totp_secret)
    return { ok: false, reason: user.locked_at !== null ? 'locked' : 'invalid' };
  const secret = openSecret(ctx.secretKey, user.id, user.totp_secret);
  // A secret that does not open (the key file was replaced) fails like a wrong code: no way round MFA.
  const step = secret === null ? null : checkTotp(secret, code, ctx.now, user.totp_last_step);
  if (step === null) {
    registerFailure(ctx, user, 'wrong MFA code');
    return { ok: false, reason: getUserById(ctx.db, user.id)!.locked_at !== null ? 'locked' : 'invalid' };
  }
  ctx.db.prepare('UPDATE admin_users SET totp_last_step = ? WHERE id = ?').run(step, user.id);
  return { ok: true, user };
}

/** Step two instead: one of the user's unused recovery codes, used up by this. */
export function checkRecoveryStep(ctx: LoginContext, user: UserRow, code: string): LoginResult {
  user = getUserById(ctx.db, user.id)!;
  if (user.locked_at !== null || user.disabled || !user.totp_enabled)
    return { ok: false, reason: user.locked_at !== null ? 'locked' : 'invalid' };
  const left = useRecoveryCode(ctx.db, ctx.secretKey, user.id, code, ctx.now, ctx.address);
  if (left === null) {
    registerFailure(ctx, user, 'wrong recovery code');
    return { ok: false, reason: getUserById(ctx.db, user.id)!.locked_at !== null ? 'locked' : 'invalid' };
  }
  recordAuthEvent(ctx.db, { at: ctx.now, userName: user.name, event: 'recovery_code_used', address: ctx.address, detail: `${left} left` });
  return { ok: true, user };
}

/** The login is complete: reset the failure count and record it. */
export function completeLogin(ctx: LoginContext, user: UserRow, secondFactor: 'totp' | 'recovery code' | null): void {
  ctx.db.prepare('UPDATE admin_users SET failed_attempts = 0, last_login_at = ? WHERE id = ?').run(ctx.now, user.id);
  recordAuthEvent(ctx.db, {
    at: ctx.now,
    userName: user.name,
    event: 'login',
    address: ctx.address,
    detail: secondFactor === 'recovery code' ? 'password and recovery code' : secondFactor ? 'password and MFA' : 'password',
  });
}
