// One-time MFA recovery codes: ten per account, shown once when MFA is set up
// (or the set is renewed), each usable once in place of the authenticator's
// code, so a lost phone needs neither a second admin nor root on the server.
//
// A code is 10 characters from Crockford's base32 alphabet (no I, L, O or U;
// typing O, I or L is read as 0, 1, 1), so 50 bits from the CSPRNG, shown as
// XXXXX-XXXXX. Only a keyed hash is stored: HMAC-SHA-256 under the key in
// admin-secret.key (secret-box.ts), bound to the account id. Why not scrypt,
// as for passwords: a code is random, not chosen by a person, so a slow hash
// buys nothing against guessing it online (three wrong codes lock the account),
// and checking ten scrypt hashes per attempt would cost seconds. The key keeps
// a copy of the database alone from being searched offline (as the sealed TOTP
// secrets are); with the key file too, the TOTP secrets open anyway.
import { createHmac, randomInt } from 'node:crypto';
import type { Database } from 'better-sqlite3';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 10;

/** Ten fresh codes, formatted for display (XXXXX-XXXXX). */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    let code = '';
    for (let i = 0; i < CODE_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
    return `${code.slice(0, 5)}-${code.slice(5)}`;
  });
}

/** The code as typed, reduced to its 10 characters (case, spaces, dashes and look-alikes forgiven), or null. */
export function normaliseRecoveryCode(typed: string): string | null {
  const code = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return code.length === CODE_LENGTH && [...code].every((c) => ALPHABET.includes(c)) ? code : null;
}

function codeHash(key: Buffer, userId: number, code: string): string {
  return createHmac('sha256', key).update(`gatehouse recovery code\0${userId}\0${code}`).digest('base64url');
}

/** Replace the account's codes with a fresh set; returns the codes to show (once). */
export function replaceRecoveryCodes(db: Database, key: Buffer, userId: number, now: number): string[] {
  const codes = newRecoveryCodes();
  const insert = db.prepare('INSERT INTO admin_recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)');
  db.transaction(() => {
    db.prepare('DELETE FROM admin_recovery_codes WHERE user_id = ?').run(userId);
    for (const code of codes) insert.run(userId, codeHash(key, userId, normaliseRecoveryCode(code)!), now);
  })();
  return codes;
}

export function deleteRecoveryCodes(db: Database, userId: number): void {
  db.prepare('DELETE FROM admin_recovery_codes WHERE user_id = ?').run(userId);
}

/** Codes not yet used. */
export function recoveryCodesLeft(db: Database, userId: number): number {
  return (db.prepare('SELECT count(*) AS n FROM admin_recovery_codes WHERE user_id = ? AND used_at IS NULL').get(userId) as { n: number })
    .n;
}

/** Unused codes per account id, for the Users page. */
export function recoveryCodesLeftByUser(db: Database): Map<number, number> {
  const rows = db.prepare('SELECT user_id, count(*) AS n FROM admin_recovery_codes WHERE used_at IS NULL GROUP BY user_id').all() as {
    user_id: number;
    n: number;
  }[];
  return new Map(rows.map((r) => [r.user_id, r.n]));
}

/**
 * Use a code: marks it used (when and from where) and returns how many are
 * left, or null when it is not one of the account's unused codes.
 */
export function useRecoveryCode(
  db: Database,
  key: Buffer,
  userId: number,
  typed: string,
  now: number,
  address: string | null,
): number | null {
  const code = normaliseRecoveryCode(typed);
  if (code === null) return null;
  // The UPDATE is the check: a code used by a concurrent request changes no row.
  const { changes } = db
    .prepare('UPDATE admin_recovery_codes SET used_at = ?, used_address = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL')
    .run(now, address, userId, codeHash(key, userId, code));
  return changes === 1 ? recoveryCodesLeft(db, userId) : null;
}
