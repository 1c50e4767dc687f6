// The three roles of an admin UI account, in one place: the accounts code, the
// pages and the config schema (admin.mfaRoles) all take them from here.
export const ROLES = ['admin', 'dsl', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  admin: 'IT administrator',
  dsl: 'Designated Safeguarding Lead',
  auditor: 'Auditor (read-only)',
};
