// Server-side sessions. The browser holds a random id; the database holds only
// its SHA-256, so a copy of the database cannot be used to log in.
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';

export interface SessionRow {
  id_hash: string;
  user_id: number;
  csrf_token: string;
  mfa_done: number;
  created_at: number;
  last_seen_at: number;
  address: string | null;
}

export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

/** A new session; returns the id for the cookie (never stored or logged). */
export function createSession(
  db: Database,
  userId: number,
  now: number,
  address: string | null,
  mfaDone: boolean,
): { id: string; row: SessionRow } {
  const id = randomBytes(32).toString('base64url');
  const row: SessionRow = {
    id_hash: hashId(id),
    user_id: userId,
    csrf_token: randomBytes(32).toString('base64url'),
    mfa_done: mfaDone ? 1 : 0,
    created_at: now,
    last_seen_at: now,
    address,
  };
  db.prepare(
    'INSERT INTO admin_sessions (id_hash, user_id, csrf_token, mfa_done, created_at, last_seen_at, address) VALUES (@id_hash, @user_id, @csrf_token, @mfa_done, @created_at, @last_seen_at, @address)',
  ).run(row);
  return { id, row };
}

/** The live session for a cookie value, touched; expired sessions are removed. */
export function loadSession(db: Database, id: string, now: number, limits: SessionLimits): SessionRow | null {
  if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
  const idHash = hashId(id);
  const row = db.prepare('SELECT * FROM admin_sessions WHERE id_hash = ?').get(idHash) as SessionRow | undefined;
  if (!row) return null;
  if (now - row.last_seen_at > limits.idleMs || now - row.created_at > limits.absoluteMs) {
    db.prepare('DELETE FROM admin_sessions WHERE id_hash = ?').run(idHash);
    return null;
  }
  db.prepare('UPDATE admin_sessions SET last_seen_at = ? WHERE id_hash = ?').run(now, idHash);
  return { ...row, last_seen_at: now };
}

/** Replace a session with a fresh id (at each privilege step), keeping its start time. */
export function rotateSession(db: Database, old: SessionRow, now: number, mfaDone: boolean): { id: string; row: SessionRow } {
  return db.transaction(() => {
    db.prepare('DELETE FROM admin_sessions WHERE id_hash = ?').run(old.id_hash);
    const fresh = createSession(db, old.user_id, now, old.address, mfaDone);
    db.prepare('UPDATE admin_sessions SET created_at = ? WHERE id_hash = ?').run(old.created_at, fresh.row.id_hash);
    return { id: fresh.id, row: { ...fresh.row, created_at: old.created_at } };
  })();
}

export function deleteSession(db: Database, idHash: string): void {
  db.prepare('DELETE FROM admin_sessions WHERE id_hash = ?').run(idHash);
}

export function deleteUserSessions(db: Database, userId: number, exceptIdHash?: string): void {
  db.prepare('DELETE FROM admin_sessions WHERE user_id = ? AND id_hash != ?').run(userId, exceptIdHash ?? '');
}

/** Remove expired sessions (called now and then; lookups check expiry anyway). */
export function purgeSessions(db: Database, now: number, limits: SessionLimits): void {
  db.prepare('DELETE FROM admin_sessions WHERE last_seen_at < ? OR created_at < ?').run(now - limits.idleMs, now - limits.absoluteMs);
}
