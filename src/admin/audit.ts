// The auth audit trail: every login, failure, lockout, unlock, password change
// and MFA enrolment. Never holds a password, code, secret or session id.
import type { Database } from 'better-sqlite3';

export type AuthEvent =
  | 'login'
  | 'login_failed'
  | 'locked'
  | 'unlocked'
  | 'password_changed'
  | 'mfa_enrolled'
  | 'mfa_reset'
  | 'recovery_codes_created'
  | 'recovery_code_used'
  | 'logout'
  | 'rate_limited';

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

/** The latest event of one kind per user name (the Users page shows when and from where each account locked). */
export function latestAuthEvents(db: Database, event: AuthEvent): Map<string, AuthAuditRow> {
  const rows = db
    .prepare(
      'SELECT * FROM admin_auth_audit WHERE id IN (SELECT max(id) FROM admin_auth_audit WHERE event = ? GROUP BY user_name COLLATE NOCASE)',
    )
    .all(event) as AuthAuditRow[];
  return new Map(rows.map((r) => [r.user_name.toLowerCase(), r]));
}
