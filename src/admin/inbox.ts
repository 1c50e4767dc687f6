// The alert inbox the pages use: the running alert engine when it is wired in
// (it flushes its pending alerts first and forgets a closed alert's throttle
// window), otherwise the alert tables read straight from the database.
import { AlertStore } from '../alerts/store.js';
import type { AdminContext } from './context.js';
import type { LiveAlerts } from './live.js';
import { hasTables } from '../store/db.js';

const cache = new WeakMap<object, LiveAlerts | null>();

function hasAlertTables(ctx: AdminContext): boolean {
  return hasTables(ctx.db, 'alerts', 'alert_history', 'alert_outbox', 'alert_deliveries');
}

/** The inbox, or null when neither the engine nor the alert tables are there. */
export function alertInbox(ctx: AdminContext): LiveAlerts | null {
  if (ctx.live.alerts) return ctx.live.alerts;
  if (cache.has(ctx.db)) return cache.get(ctx.db)!;
  let inbox: LiveAlerts | null = null;
  if (hasAlertTables(ctx)) {
    const store = new AlertStore(ctx.db);
    const pending = ctx.db.prepare('SELECT count(*) FROM alert_outbox WHERE delivered_at IS NULL').pluck();
    inbox = {
      list: (filter) => store.list(filter),
      get: (id) => {
        const alert = store.get(id);
        return alert && { ...alert, history: store.history(id), deliveries: store.deliveries(id) };
      },
      acknowledge: (id, user) => store.acknowledge(id, user, ctx.now()),
      close: (id, user, outcome) => store.close(id, user, outcome, ctx.now()),
      pendingDeliveries: () => pending.get() as number,
    };
  }
  cache.set(ctx.db, inbox);
  return inbox;
}
