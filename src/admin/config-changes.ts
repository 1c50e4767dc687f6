// Filtering changes made in the config file (groups, categories, lists, ...)
// do not pass through the UI, but the change log must show them too: on each
// reload, one row per changed section, with the section before and after.
import type { Database } from 'better-sqlite3';
import type { Config } from '../config.js';
import { withChange } from './changelog.js';

/** Sections whose changes alter filtering or access; logging and cache tuning are left out. */
const LOGGED_SECTIONS = ['groups', 'categories', 'lists', 'links', 'dns', 'alerts', 'admin'] as const;

/** Secrets in the config (metrics token) never reach the change log. */
function redact(section: string, value: unknown): unknown {
  if (section !== 'admin' || !value || typeof value !== 'object') return value;
  const admin = structuredClone(value) as { metrics?: { token?: string } };
  if (admin.metrics?.token) admin.metrics.token = '[set]';
  return admin;
}

/**
 * Append a change-log row for every logged section that differs between two
 * configs (all in one transaction). Returns the names of the changed sections.
 */
export function recordConfigChanges(
  db: Database,
  before: Config,
  after: Config,
  actor = 'config file (reload)',
  at = Date.now(),
): string[] {
  const changed = LOGGED_SECTIONS.filter((s) => JSON.stringify(before[s]) !== JSON.stringify(after[s]));
  db.transaction(() => {
    for (const section of changed) {
      withChange(
        db,
        {
          actor,
          entity: 'setting',
          entityId: section,
          action: 'update',
          before: redact(section, before[section]),
          after: redact(section, after[section]),
          at,
        },
        () => undefined,
      );
    }
  }).immediate();
  return changed;
}
