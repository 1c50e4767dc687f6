// Start a real Gatehouse on loopback port 0 from a config text, for tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Config } from '../../src/config.js';
import { buildApp, type Gatehouse, type AppOptions } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';

export interface Running {
  app: Gatehouse;
  port: number;
  config: Config;
  stop(): Promise<void>;
}

/** A minimal valid config: one default group, the given links. */
export function baseConfig(links: { name: string; upstreams: string[]; timeoutMs?: number }[], extra = ''): string {
  return [
    'dns:',
    '  listen: ["127.0.0.1:0"]',
    'links:',
    ...links.map((l) => `  - { name: ${l.name}, upstreams: ${JSON.stringify(l.upstreams)}, timeoutMs: ${l.timeoutMs ?? 2000} }`),
    'groups:',
    '  - { name: everyone, default: true }',
    extra,
  ].join('\n');
}

/**
 * Build and start the whole app from config text, with its data in a fresh
 * temporary directory (unless the text sets store.path) and the admin UI off
 * unless asked for.
 */
export async function startGatehouse(configText: string, options: AppOptions = {}): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-data-'));
  const text = /^store:/m.test(configText) ? configText : `${configText}\nstore: { path: ${join(dataDir, 'gatehouse.db')} }`;
  const config = parseConfig(text, join(dataDir, 'test.yaml'));
  const app = buildApp(config, { logger: silentLogger(), admin: false, ...options });
  await app.start();
  const port = app.server.addresses().udp[0].port;
  return {
    app,
    port,
    config,
    async stop() {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
