// The report thread (thread.ts starts it): its own read-only connection, at
// nice 19 like the other background threads, so building a report (reads of
// the daily rollups) and drawing it (charts, PDF: up to a second or two of
// CPU) never holds up DNS answers. Requests are handled one at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../store/db.js';
import { runInBackground } from '../util/background.js';
import { makeReport } from './make.js';
import type { ReportReply, ReportRequest } from './thread.js';

runInBackground();

const port = parentPort!;
const db = openDatabase((workerData as { path: string }).path, { readonly: true });
let queue = Promise.resolve();

port.on('message', (msg: ReportRequest) => {
  if (msg.type === 'close') {
    void queue.then(() => {
      db.close();
      port.close();
    });
    return;
  }
  queue = queue.then(async () => {
    try {
      const made = await makeReport(db, msg.input, msg.format, msg.font, msg.link);
      port.postMessage({ id: msg.id, made } satisfies ReportReply);
    } catch (err) {
      const e = err as Error & { code?: string };
      port.postMessage({ id: msg.id, error: e.code ? `${e.message} (${e.code})` : e.message } satisfies ReportReply);
    }
  });
});
