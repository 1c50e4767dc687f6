// The daily-rollup thread (daily-job.ts starts it): its own connection, at
// nice 19 like the other background threads, so the scan of a finished day's
// rows (a few seconds for 5 million) never holds up DNS answers or the
// query-log writer. Requests are handled one at a time, in order.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './db.js';
import { DAILY_VERSION, daysToBuild, rollupSpan, storeDay } from './daily.js';
import { buildMonths } from './daily-months.js';
import { listDays } from './partitions.js';
import { runInBackground } from '../util/background.js';
import type { DailyReply, DailyRequest } from './daily-job.js';

runInBackground();

const port = parentPort!;
const db = openDatabase((workerData as { path: string }).path);

port.on('message', (msg: DailyRequest) => {
  if (msg.type === 'close') {
    db.close();
    port.close();
    return;
  }
  const built: DailyReply['built'] = [];
  try {
    for (const d of daysToBuild(db, msg.zone, msg.now, listDays(db))) {
      const started = performance.now();
      const r = rollupSpan(db, d.from, d.to, { clientCategories: msg.clientCategories });
      const ms = performance.now() - started;
      storeDay(db, d.day, msg.zone, r, ms, Date.now());
      built.push({ day: d.day, ms: Math.round(ms), queries: r.queries });
    }
    // Then the months all of whose days are built (after an upgrade, every such month at once).
    buildMonths(db, msg.zone, DAILY_VERSION, Date.now());
    port.postMessage({ id: msg.id, built } satisfies DailyReply);
  } catch (err) {
    const e = err as Error & { code?: string };
    port.postMessage({ id: msg.id, built, error: e.code ? `${e.message} (${e.code})` : e.message } satisfies DailyReply);
  }
});
