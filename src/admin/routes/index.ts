// The content pages (dashboard, query log, alerts, checks, lists, settings,
// metrics) register here: one line per plugin file in src/admin/routes/.
import type { AdminRoutePlugin } from '../context.js';
import { alertRoutes } from './alerts.js';
import { checkRoutes } from './checks.js';
import { dashboardRoutes } from './dashboard.js';
import { listRoutes } from './lists.js';
import { metricsRoutes } from './metrics.js';
import { peopleRoutes } from './people.js';
import { personDataRoutes } from './person-data.js';
import { identityRoutes } from './identity.js';
import { deviceTokenRoutes } from './device-tokens.js';
import { querylogRoutes } from './querylog.js';
import { reportRoutes } from './reports.js';
import { settingsRoutes } from './settings.js';

export const contentRoutes: AdminRoutePlugin[] = [
  dashboardRoutes,
  querylogRoutes,
  alertRoutes,
  peopleRoutes,
  personDataRoutes,
  identityRoutes,
  deviceTokenRoutes,
  checkRoutes,
  reportRoutes,
  listRoutes,
  settingsRoutes,
  metricsRoutes,
];
