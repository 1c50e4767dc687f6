// The auth audit trail: every login, failure, lockout, unlock, password change
// and MFA enrolment. Never holds a password, code, secret or session id.
import type { Database } from 'better-sqlite3';

export type AuthEvent = 'login' | 'login_failed' | 'locked' | 'unlocked' | 'password_changed' | 'mfa_enrolled' | 'logout' | 'rate_limited';

export interface AuthAuditRow {
  id: number;
  at: number;
  user_name: string;
  event: AuthEvent;
  address: string | null;
  detail: string | null;
}

export function recordAuthEvent(
  db: Database,
  entry: { at: number; userName: string; event: AuthEvent; address?: string | null; detail?: string | null },
): void {
  db.prepare('INSERT INTO admin_auth_audit (at, user_name, event, address, detail) VALUES (?, ?, ?, ?, ?)').run(
    entry.at,
    entry.userName.slice(0, 100),
    entry.event,
    entry.address ?? null,
    entry.detail ?? null,
  );
}

export function recentAuthEvents(db: Database, limit = 200): AuthAuditRow[] {
  return db.prepare('SELECT * FROM admin_auth_audit ORDER BY id DESC LIMIT ?').all(limit) as AuthAuditRow[];
}
