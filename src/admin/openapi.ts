// The OpenAPI 3 document for /api, built from the fastify schemas the routes
// declare (no extra dependency): served at /api/openapi.json.
import type { FastifyInstance, RouteOptions } from 'fastify';

interface Operation {
  summary?: string;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
}

export function installOpenApi(app: FastifyInstance): void {
  const paths: Record<string, Record<string, Operation>> = {};
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith('/api/') || route.url === '/api/openapi.json') return;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- fastify route schemas are free-form JSON Schema
    const schema = (route.schema ?? {}) as Record<string, any>;
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    const parameters: unknown[] = [];
    for (const [where, key] of [
      ['path', 'params'],
      ['query', 'querystring'],
    ] as const) {
      const props = schema[key]?.properties ?? {};
      for (const [name, s] of Object.entries(props)) {
        parameters.push({ name, in: where, required: where === 'path' || (schema[key].required ?? []).includes(name), schema: s });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [code, s] of Object.entries(schema.response ?? { 200: {} })) {
      responses[code] = {
        description: (s as { description?: string } | undefined)?.description ?? 'response',
        content: { 'application/json': { schema: s } },
      };
    }
    for (const m of methods) {
      (paths[path] ??= {})[m.toLowerCase()] = {
        ...(schema.summary ? { summary: schema.summary } : {}),
        ...(parameters.length ? { parameters } : {}),
        ...(schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema.body } } } } : {}),
        responses,
      };
    }
  });
  app.get('/api/openapi.json', async () => ({
    openapi: '3.0.3',
    info: { title: 'Gatehouse admin API', version: '1' },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'gh_session' },
        csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
      },
    },
    security: [{ session: [], csrf: [] }],
    paths,
  }));
}
