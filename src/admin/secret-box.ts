// TOTP secrets are sealed at rest (AES-256-GCM) with a key that lives in its
// own file beside the database, not in it: a copy of the database (a backup,
// `gatehouse backup`, a stolen disk image of the file alone) then does not
// hand out every admin's second factor.
//
// The key file is made at first start, readable by the service user only.
// Losing it does not let anyone in: sealed secrets then fail to open, MFA
// logins fail, and an admin resets MFA with `gatehouse user reset-mfa NAME`
// (the user enrols again at the next login).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { keyFileBeside, loadKeyFile } from '../util/key-file.js';

const PREFIX = 'v1:';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function secretKeyPath(storePath: string): string {
  return keyFileBeside(storePath, 'admin-secret.key');
}

/** The key from its file, made (mode 0600) when there is none. A damaged file is an error, never replaced. */
export function loadSecretKey(storePath: string): Buffer {
  return loadKeyFile(secretKeyPath(storePath), KEY_BYTES);
}

/** Bound to the user's id, so a sealed secret copied to another account does not open. */
function context(userId: number): Buffer {
  return Buffer.from(`gatehouse totp user ${userId}`);
}

export function sealSecret(key: Buffer, userId: number, secret: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(context(userId));
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** The secret, or null when it does not open with this key (another key, or altered). */
export function openSecret(key: Buffer, userId: number, stored: string): string | null {
  if (!isSealed(stored)) return null;
  const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
  if (raw.length <= IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(context(userId));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** Seal the secrets an older Gatehouse stored in the clear. Returns how many. */
export function sealPlainSecrets(db: Database, key: Buffer): number {
  const plain = db
    .prepare("SELECT id, totp_secret FROM admin_users WHERE totp_secret IS NOT NULL AND totp_secret NOT LIKE 'v1:%'")
    .all() as { id: number; totp_secret: string }[];
  const update = db.prepare('UPDATE admin_users SET totp_secret = ? WHERE id = ? AND totp_secret = ?');
  db.transaction(() => {
    for (const row of plain) update.run(sealSecret(key, row.id, row.totp_secret), row.id, row.totp_secret);
  })();
  return plain.length;
}
