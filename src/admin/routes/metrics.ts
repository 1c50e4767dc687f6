// /metrics for Prometheus. Who may scrape is decided before routing (see
// security.ts): the metrics bearer token or a metrics network from
// admin.metrics, never the UI's session. The metric families are in ../metrics.ts.
import type { AdminRoutePlugin } from '../context.js';
import { buildMetrics } from '../metrics.js';

export const metricsRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const registry = buildMetrics(ctx);
  app.get('/metrics', { config: { csrf: false } }, async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
};
