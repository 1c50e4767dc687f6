// The navigation bar. Each page adds one line here; an item shows only to the
// roles that may open it. The first item a role can see is its home page.
import type { Database } from 'better-sqlite3';
import { countRequests } from '../../changes/store.js';
import type { Role } from '../users.js';
import type { MenuCount } from './frame.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Counts shown beside menu items (href → count), set for logged-in page views. */
    navCounts?: Record<string, MenuCount>;
  }
}

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
  { href: '/reports', label: 'Reports', roles: ['admin', 'dsl', 'auditor'] },
  { href: '/lists', label: 'Lists', roles: ['admin', 'dsl', 'auditor', 'approver'] },
  { href: '/identity', label: 'Identity', roles: ['admin', 'dsl'] },
  { href: '/users', label: 'Users', roles: ['admin'] },
  { href: '/settings', label: 'Settings', roles: ['admin', 'auditor'] },
];

export function homeFor(role: Role): string {
  return navItems.find((i) => i.roles.includes(role))?.href ?? '/account';
}

/** The menu's counts for a role: change requests waiting for an approver; for IT, drafts waiting to be confirmed too. */
export function navCounts(db: Database, role: Role): Record<string, MenuCount> {
  if (role === 'approver')
    return { '/changes': { count: countRequests(db, 'submitted'), label: 'change requests waiting for a decision' } };
  if (role === 'admin')
    return {
      '/changes': {
        count: countRequests(db, 'submitted') + countRequests(db, 'draft'),
        label: 'change requests waiting to be confirmed or decided',
      },
    };
  return {};
}
