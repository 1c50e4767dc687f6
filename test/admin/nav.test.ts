import { describe, expect, it } from 'vitest';
import { homeFor, navItems } from '../../src/admin/views/nav.js';

describe('navigation', () => {
  it.each(['admin', 'dsl', 'auditor'] as const)('%s lands on the dashboard after login', (role) => {
    expect(homeFor(role)).toBe('/dashboard');
  });

  it('lands an approver on the change requests', () => {
    expect(homeFor('approver')).toBe('/changes');
  });

  it('shows Users to admins only', () => {
    expect(navItems.find((i) => i.href === '/users')?.roles).toEqual(['admin']);
  });
});
