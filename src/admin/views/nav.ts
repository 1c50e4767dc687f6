// The navigation bar. Each page adds one line here; an item shows only to the
// roles that may open it. The first item a role can see is its home page.
import type { Role } from '../users.js';

export interface NavItem {
  href: string;
  label: string;
  roles: Role[];
}

export const navItems: NavItem[] = [
  { href: '/dashboard', label: 'Dashboard', roles: ['admin', 'dsl', 'auditor'] },
  { href: '/changes', label: 'Change requests', roles: ['admin', 'dsl', 'auditor', 'approver'] },
  { href: '/exceptions', label: 'Exceptions', roles: ['admin', 'dsl', 'auditor', 'approver'] },
  { href: '/querylog', label: 'Query log', roles: ['admin', 'dsl'] },
  { href: '/alerts', label: 'Alerts', roles: ['admin', 'dsl', 'auditor'] },
  { href: '/people', label: 'People', roles: ['admin', 'dsl'] },
  { href: '/changelog', label: 'Change log', roles: ['admin', 'dsl', 'auditor', 'approver'] },
  { href: '/checks', label: 'Checks', roles: ['admin', 'dsl', 'auditor', 'approver'] },
  { href: '/lists', label: 'Lists', roles: ['admin', 'dsl', 'auditor', 'approver'] },
  { href: '/identity', label: 'Identity', roles: ['admin', 'dsl'] },
  { href: '/users', label: 'Users', roles: ['admin'] },
  { href: '/settings', label: 'Settings', roles: ['admin', 'auditor'] },
];

export function homeFor(role: Role): string {
  return navItems.find((i) => i.roles.includes(role))?.href ?? '/account';
}
