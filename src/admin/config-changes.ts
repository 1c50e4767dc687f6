// Technical settings changed in the config file (links, lists' sources, DNS,
// channels, …) do not pass through the UI, but the change log shows them too:
// on each reload, one row per changed section, listing each key that changed
// in words ("links[0].upstreams: udp://a → udp://b"), with secrets redacted.
// The groups are not here: they are the governed policy (src/changes/), and
// the file's copy of them is not applied.
import type { Database } from 'better-sqlite3';
import type { Config } from '../config.js';
import { withChange } from './changelog.js';
import { redactConfig } from './routes/settings.js';

/** Sections whose changes alter filtering, delivery or access; logging and cache tuning are left out. */
const LOGGED_SECTIONS = ['categories', 'lists', 'links', 'dns', 'alerts', 'admin', 'checks', 'changeControl'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || v === undefined || typeof v !== 'object';

/** A value on one line: scalars as they are, a list of scalars joined, an object as key: value pairs. */
function words(v: unknown): string {
  if (v === undefined) return '(not set)';
  if (v === null) return '(none)';
  if (Array.isArray(v)) return v.length === 0 ? '(empty)' : v.map(words).join(', ');
  if (isObject(v))
    return (
      Object.entries(v)
        .map(([k, x]) => `${k}: ${isObject(x) || Array.isArray(x) ? `[${words(x)}]` : words(x)}`)
        .join('; ') || '(empty)'
    );
  return String(v);
}

/** Every key that differs between two values, as "path: before → after" lines. */
export function configDiff(before: unknown, after: unknown, path: string): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => configDiff(before[k], after[k], `${path}.${k}`));
  }
  if (Array.isArray(before) && Array.isArray(after) && !(before.every(isScalar) && after.every(isScalar))) {
    const n = Math.max(before.length, after.length);
    return Array.from({ length: n }, (_, i) => configDiff(before[i], after[i], `${path}[${i}]`)).flat();
  }
  return [`${path}: ${words(before)} → ${words(after)}`];
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
      // Secrets (the metrics token, passwords, webhook paths) never reach the change log.
      const shown = configDiff(redactConfig(before[section], section), redactConfig(after[section], section), section);
      const lines = shown.length > 0 ? shown : [`${section}: a secret setting changed (its value is never shown)`];
      withChange(db, { actor, entity: 'setting', entityId: section, action: 'update', after: { changes: lines }, at }, () => undefined);
    }
  }).immediate();
  return changed;
}
