// A real SQLite database in a temp dir, a parsed alerts config and the example
// categories, for building engines in the tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertsSchema, type AlertsConfig } from '../../../src/alerts/config.js';
import { AlertEngine } from '../../../src/alerts/engine.js';
import { openDatabase, type Database } from '../../../src/store/db.js';
import type { AlertEvent } from '../../../src/alerts/types.js';

export const categories = [
  { id: 'iwf', name: 'Child sexual abuse (IWF)', illegal: true, severity: 'critical' as const },
  { id: 'adult', name: 'Pornography', illegal: false, severity: 'high' as const },
  { id: 'self-harm', name: 'Self-harm and suicide', illegal: false, severity: 'critical' as const },
  { id: 'vpn-proxy', name: 'VPN, proxy and DoH circumvention', illegal: false, severity: 'medium' as const },
  { id: 'piracy', name: 'Piracy', illegal: false, severity: 'low' as const },
  { id: 'ads', name: 'Advertising', illegal: false, severity: 'none' as const },
];

export function event(over: Partial<AlertEvent> = {}): AlertEvent {
  const category = categories.find((c) => c.id === (over.category ?? 'adult'))!;
  return {
    at: Date.now(),
    client: '10.1.2.3',
    group: 'pupils',
    category: category.id,
    severity: category.severity,
    domain: 'bad.example',
    circumvention: category.id === 'vpn-proxy',
    illegal: category.illegal,
    ...over,
  };
}

export class TestSite {
  readonly dir = mkdtempSync(join(tmpdir(), 'gatehouse-alerts-'));
  readonly dbPath = join(this.dir, 'gatehouse.db');
  db: Database = this.open();
  engine: AlertEngine | null = null;

  /** The project's own open: pragmas and migrations, as the service does it. */
  open(): Database {
    return openDatabase(this.dbPath);
  }

  /** A person and a device in the identity tables (as the identity service interns them); their ids. */
  identity(
    user = 'jsmith',
    displayName = 'Jo Smith',
    mac = 'aa:bb:cc:00:00:07',
    hostName = 'jo-laptop',
  ): { personId: number; deviceId: number } {
    const personId = this.db
      .prepare(
        'INSERT INTO identity_people (user_key, display_name, first_seen, last_seen, updated_at) VALUES (?, ?, 0, 0, 0) RETURNING id',
      )
      .pluck()
      .get(user, displayName) as number;
    const deviceId = this.db
      .prepare('INSERT INTO identity_devices (key, host_name, first_seen, last_seen, updated_at) VALUES (?, ?, 0, 0, 0) RETURNING id')
      .pluck()
      .get(`mac:${mac}`, hostName) as number;
    return { personId, deviceId };
  }

  /** Build and start an engine on this site's database. */
  start(config: unknown): AlertEngine {
    const parsed = parseAlerts(config);
    // Tests that are not about the disk must not see disk-nearly-full on a busy machine.
    if ((config as { operational?: { diskUsedPercent?: number } }).operational?.diskUsedPercent === undefined)
      parsed.operational.diskUsedPercent = 100;
    this.engine = new AlertEngine({ db: this.db, config: parsed, categories });
    this.engine.start();
    return this.engine;
  }

  /** Stop the engine and close the database, as a service restart does. */
  async restart(config: unknown): Promise<AlertEngine> {
    await this.engine?.stop();
    this.db.close();
    this.db = this.open();
    return this.start(config);
  }

  async close(): Promise<void> {
    await this.engine?.stop();
    this.engine = null;
    if (this.db.open) this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function parseAlerts(config: unknown): AlertsConfig {
  return alertsSchema.parse(config);
}
