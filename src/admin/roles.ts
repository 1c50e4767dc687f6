// The roles of an admin UI account, in one place: the accounts code, the pages
// and the config schema (admin.mfaRoles) all take them from here. An approver
// (head teacher, senior leader) approves or refuses filtering changes and
// changes nothing else; nobody approves a change they asked for.
export const ROLES = ['admin', 'dsl', 'auditor', 'approver'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  admin: 'IT administrator',
  dsl: 'Designated Safeguarding Lead',
  auditor: 'Auditor (read-only)',
  approver: 'Approver (head teacher / senior leader)',
};
