// Request plumbing shared by every route: the Host check (hosts.ts), client
// network allow-list, cookies, urlencoded form bodies, and the security headers
// on every response.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { addressAllowed, parseNetworks } from '../util/networks.js';
import { hostChecker } from './hosts.js';

export { addressAllowed, parseNetworks };

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/** The headers every page of ours carries (admin UI and block page), with that server's CSP. */
export function setPageHeaders(reply: FastifyReply, csp: string): void {
  reply.header('Content-Security-Policy', csp);
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Referrer-Policy', 'no-referrer');
  reply.header('X-Frame-Options', 'DENY');
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

export function cookieHeader(name: string, value: string, opts: { secure: boolean; maxAgeSeconds?: number }): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (opts.secure) parts.push('Secure');
  if (opts.maxAgeSeconds !== undefined) parts.push(`Max-Age=${opts.maxAgeSeconds}`);
  return parts.join('; ');
}

/** Form fields; a repeated field (checkboxes) becomes an array. No prototype to pollute. */
export type FormBody = Record<string, string | string[]>;

export function parseForm(body: string): FormBody {
  const out: FormBody = Object.create(null);
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export function field(body: unknown, name: string): string {
  const v = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
}

export function fieldList(body: unknown, name: string): string[] {
  const v = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Network allow-list, form parsing and security headers for the whole app. */
export interface SecurityOptions {
  /** admin.listen and admin.hostnames: the Host names answered (others get 421). */
  listen: string;
  hostnames: string[];
  allowedNetworks: string[];
  https: boolean;
  /** /metrics is for a Prometheus server: its own token and networks, not the UI's. */
  metrics: { token?: string; networks: string[] };
}

function bearerMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  const a = createHash('sha256').update(header.slice(7)).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

export function installSecurity(app: FastifyInstance, opts: SecurityOptions): void {
  const networks = parseNetworks(opts.allowedNetworks);
  const metricsNetworks = parseNetworks(opts.metrics.networks);
  const hostAllowed = hostChecker(opts.listen, opts.hostnames);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) =>
    done(null, parseForm(body as string)),
  );
  app.addHook('onRequest', async (request, reply) => {
    if (!hostAllowed(request.hostname)) {
      request.log.warn({ host: request.hostname.slice(0, 100), address: request.ip }, 'admin request for a host name not configured');
      return reply
        .code(421)
        .type('text/plain')
        .send('Misdirected Request: the admin UI answers only to its own names (admin.hostnames) and its listen address.\n');
    }
    if (request.url === '/metrics' || request.url.startsWith('/metrics?')) {
      if (bearerMatches(request.headers.authorization, opts.metrics.token) || addressAllowed(request.ip, metricsNetworks)) return;
      return reply.code(403).type('text/plain').send('Forbidden: /metrics needs the metrics token or a metrics network.\n');
    }
    if (!addressAllowed(request.ip, networks)) {
      request.log.warn({ address: request.ip }, 'admin request from a network not allowed');
      return reply.code(403).type('text/plain').send('Forbidden: this network may not use the admin UI.\n');
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    setPageHeaders(reply, CSP);
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    if (opts.https) reply.header('Strict-Transport-Security', 'max-age=31536000');
    // Static assets may be cached; everything else can hold personal data.
    if (!request.url.startsWith('/static/')) reply.header('Cache-Control', 'no-store');
    return payload;
  });
}
