// Start a real Gatehouse on loopback port 0 from a config text, for tests.
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
    ...links.map((l) => `  - { name: ${l.name}, upstreams: ${JSON.stringify(l.upstreams)}, timeoutMs: ${l.timeoutMs ?? 300} }`),
    'groups:',
    '  - { name: everyone, default: true }',
    'store: { path: /tmp/gatehouse-test-unused.db }',
    extra,
  ].join('\n');
}

export async function startGatehouse(configText: string, options: AppOptions = {}): Promise<Running> {
  const config = parseConfig(configText, 'test.yaml');
  const app = buildApp(config, { logger: silentLogger(), ...options });
  await app.start();
  const port = app.server.addresses().udp[0].port;
  return { app, port, config, stop: () => app.stop() };
}
