// Starts the admin app built by buildAdminApp on the configured address
// (HTTPS when the app was built with TLS). Returns the bound address.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(listen);
  if (!m) throw new Error(`admin.listen: expected IP:PORT, got "${listen}"`);
  return { host: m[1], port: Number(m[2]) };
}

export async function startAdminServer(app: FastifyInstance, config: Config, overridePort?: number): Promise<string> {
  const { host, port } = parseListen(config.admin.listen);
  return app.listen({ host, port: overridePort ?? port });
}
