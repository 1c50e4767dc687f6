// Shared by the change-control tests: a migrated database in a temp directory,
// a config with categories and groups, and a ChangeControl whose live parts
// are recorded (the policies swapped in, the alerts and notices raised).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Notice, OperationalEvent } from '../../src/alerts/types.js';
import type { Actor } from '../../src/changes/requests.js';
import { ChangeControl, type ChangeLive } from '../../src/changes/service.js';
import type { PolicyDocument } from '../../src/changes/document.js';
import { loadConfig, parseConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { openDatabase, type Database } from '../../src/store/db.js';

export const T0 = Date.parse('2026-03-02T09:00:00Z');

export function changeConfig(dir: string, extra = ''): Config {
  return parseConfig(
    `links: [{ name: primary, upstreams: ["udp://127.0.0.1:53"] }]
categories:
  - { id: adult, name: Adult content }
  - { id: social, name: Social media }
  - { id: games, name: Games }
  - { id: iwf, name: IWF list, illegal: true }
groups:
  - { name: pupils, networks: ["127.0.0.2/32"], block: [adult, social, iwf] }
  - { name: staff, networks: ["127.0.0.3/32"], block: [adult] }
  - { name: guests, default: true, block: [adult, social] }
store: { path: ${join(dir, 'gatehouse.db')} }
${extra}`,
    join(dir, 'gatehouse.yaml'),
  );
}

export interface ChangeHarness {
  dir: string;
  db: Database;
  config: Config;
  clock: { now: number };
  changes: ChangeControl;
  applied: { doc: PolicyDocument; version: number }[];
  alerts: OperationalEvent[];
  notices: Notice[];
  close(): void;
}

export function changeHarness(opts: { extra?: string; live?: Partial<ChangeLive>; db?: (path: string) => void } = {}): ChangeHarness {
  const dir = mkdtempSync(join(tmpdir(), 'gh-changes-'));
  const config = changeConfig(dir, opts.extra);
  opts.db?.(config.store.path);
  const db = openDatabase(config.store.path);
  const clock = { now: T0 };
  const applied: ChangeHarness['applied'] = [];
  const alerts: OperationalEvent[] = [];
  const notices: Notice[] = [];
  const changes = new ChangeControl({
    db,
    config: () => config,
    logger: silentLogger(),
    now: () => clock.now,
    live: {
      apply: (doc, version) => applied.push({ doc, version }),
      alerts: () => ({
        operational: (e) => alerts.push(e),
        notice: (n) => {
          notices.push(n);
          return notices.length;
        },
      }),
      ...opts.live,
    },
  });
  return {
    dir,
    db,
    config,
    clock,
    changes,
    applied,
    alerts,
    notices,
    close() {
      changes.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const technician: Actor = { name: 'itlead', id: 1, role: 'admin', mfa: true };
export const head: Actor = { name: 'head', id: 2, role: 'approver', mfa: true };
export const record = { requester: 'Ms Khan', subjectArea: 'Geography', reason: 'Fieldwork maps', risk: 'low', backout: 'Revert it' };

/** Change control on a config file's database as the service opens it (seeding it the first time), for the command-line tests. */
export function serviceOn(configFile: string) {
  const config = loadConfig(configFile);
  const db = openDatabase(config.store.path);
  const changes = new ChangeControl({ db, config: () => config, logger: silentLogger() });
  changes.load();
  return { db, changes, close: () => db.close() };
}
