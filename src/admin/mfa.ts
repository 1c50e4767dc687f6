// MFA enrolment shared by the login step and the account page: a pending TOTP
// secret sealed with this install's key, turned on by a code that fits it, and
// a fresh set of recovery codes to show once (recovery-codes.ts).
import type { FastifyRequest } from 'fastify';
import { recordAuthEvent } from './audit.js';
import type { AdminContext } from './context.js';
import { replaceRecoveryCodes } from './recovery-codes.js';
import { openSecret, sealSecret } from './secret-box.js';
import { checkTotp, newTotpSecret } from './totp.js';
import { getUserById, type UserRow } from './users.js';

/**
 * Make sure an enrolling user has a (not yet enabled) secret that opens with
 * this key (a pending one sealed with a lost key is replaced); returns the fresh row.
 */
export function ensurePendingSecret(ctx: AdminContext, user: UserRow): UserRow {
  if (user.totp_enabled !== 1 && (!user.totp_secret || openSecret(ctx.secretKey, user.id, user.totp_secret) === null)) {
    ctx.db
      .prepare('UPDATE admin_users SET totp_secret = ? WHERE id = ? AND totp_enabled = 0')
      .run(sealSecret(ctx.secretKey, user.id, newTotpSecret()), user.id);
    return getUserById(ctx.db, user.id)!;
  }
  return user;
}

/** The pending secret in the clear, for the enrolment page (null when there is none that opens). */
export function pendingSecret(ctx: AdminContext, user: UserRow): string | null {
  return user.totp_enabled !== 1 && user.totp_secret ? openSecret(ctx.secretKey, user.id, user.totp_secret) : null;
}

/**
 * Turn MFA on when the code fits the pending secret. Returns the recovery codes
 * to show (once), or null when the code does not fit.
 */
export function enrol(ctx: AdminContext, request: FastifyRequest, user: UserRow, code: string): string[] | null {
  const secret = pendingSecret(ctx, user);
  const step = secret ? checkTotp(secret, code, ctx.now(), 0) : null;
  if (step === null) return null;
  ctx.db.prepare('UPDATE admin_users SET totp_enabled = 1, totp_last_step = ? WHERE id = ?').run(step, user.id);
  recordAuthEvent(ctx.db, { at: ctx.now(), userName: user.name, event: 'mfa_enrolled', address: request.ip });
  return issueRecoveryCodes(ctx, request, user);
}

/** A new set of recovery codes (the old ones stop working), recorded in the auth audit. */
export function issueRecoveryCodes(ctx: AdminContext, request: FastifyRequest, user: UserRow): string[] {
  const codes = replaceRecoveryCodes(ctx.db, ctx.secretKey, user.id, ctx.now());
  recordAuthEvent(ctx.db, {
    at: ctx.now(),
    userName: user.name,
    event: 'recovery_codes_created',
    address: request.ip,
    detail: `${codes.length} codes`,
  });
  return codes;
}
