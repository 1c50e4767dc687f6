// The content pages (dashboard, query log, alerts, checks, lists, settings,
// metrics) register here: one line per plugin file in src/admin/routes/.
import type { AdminRoutePlugin } from '../context.js';

export const contentRoutes: AdminRoutePlugin[] = [];
