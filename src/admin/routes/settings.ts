// Settings: the effective configuration, read-only: first what each group
// blocks and when (views/policy-table.ts), then the YAML with every secret
// redacted (passwords, tokens, webhook secrets and URL paths, user-info and
// query strings). Changes are made in the config file and applied with a
// reload; this page shows what the service is running with, and says so when
// the last reload was refused.
import type { FastifyRequest } from 'fastify';
import { stringify } from 'yaml';
import { requireRole } from '../auth.js';
import type { AdminRoutePlugin } from '../context.js';
import { listExceptions } from '../exceptions.js';
import { html } from '../html.js';
import { pageAssets } from '../views/assets.js';
import { renderPage } from '../views/layout.js';
import { policyTable } from '../views/policy-table.js';
import { mappingTable } from './changes.js';
import { mappingsInForce } from '../../changes/store.js';
import { configRejectedNotice } from '../views/widgets.js';

const requireReader = requireRole('admin', 'auditor');
export const REDACTED = '(redacted)';
const SECRET_KEY = /pass(word)?|secret|token|cookie|credential|private|apikey|api_key|authorization/i;

/** A copy of the config with secrets replaced; safe to show and to export. */
export function redactConfig(value: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key) && !/File$/.test(key)) return value === undefined || value === null ? value : REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, key));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactConfig(v, k);
    return out;
  }
  if (typeof value === 'string' && /^https?:\/\//i.test(value)) {
    try {
      const url = new URL(value);
      // A webhook's path is often its secret (Slack, Teams): only the host is shown.
      const path = key === 'url' ? (url.pathname === '/' ? '/' : '/' + REDACTED) : url.pathname;
      return `${url.protocol}//${url.host}${path}${url.search ? '?' + REDACTED : ''}`;
    } catch {
      return REDACTED;
    }
  }
  return value;
}

export const settingsRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  app.get('/settings', { preHandler: requireReader }, async (request: FastifyRequest, reply) => {
    const text = stringify(redactConfig(ctx.config), { lineWidth: 0 });
    const body = html`${pageAssets()}${configRejectedNotice(ctx.live.configRejected?.(), ctx.config.admin.timezone)}
      <p>The configuration the service is running with. It is read-only here: change the config file and
      reload the service (<code>systemctl reload gatehouse</code>); a config with an error is refused and the running one kept.</p>
      <h2>Filtering policy</h2>
      ${policyTable(ctx.config, listExceptions(ctx.db))}
      <h3>Roster group mappings</h3>
      <p>The group a person the roster knows is filtered as (changed by a change request, like the rest of the policy).</p>
      ${mappingTable(mappingsInForce(ctx.db, ctx.config.identity.groups), false)}
      <h2>The configuration file</h2>
      <p>Passwords, tokens and webhook addresses are shown as <code>${REDACTED}</code>.</p>
      <div class="settings"><pre id="settings">${text}</pre></div>`;
    return reply.type('text/html').send(renderPage(request, { title: 'Settings', body }));
  });

  app.get(
    '/api/settings',
    {
      preHandler: requireReader,
      schema: {
        summary: 'The effective configuration with secrets redacted',
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => redactConfig(ctx.config),
  );
};
