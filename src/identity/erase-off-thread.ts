// Runs an erasure (erase.ts) in a worker thread with its own connection to the
// database and resolves with its result: the admin UI's way in (the CLI is a
// process of its own and erases directly). An IdentityError in the worker
// comes back as one here, so the page can say why it was refused.
import { startWorker, siblingModule } from '../util/worker.js';
import type { EraseOptions, EraseResult } from './erase.js';
import { IdentityError, type IdentityErrorCode } from './errors.js';

type Reply = { ok: true; result: EraseResult } | { ok: false; identity: boolean; code?: string; message: string };

export function eraseOffThread(path: string, personId: number, options: EraseOptions): Promise<EraseResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(siblingModule(import.meta.url, 'erase-worker'), { workerData: { path, personId, options } });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    worker.once('message', (msg: Reply) =>
      settle(() => {
        if (msg.ok) resolve(msg.result);
        else if (msg.identity) reject(new IdentityError(msg.code as IdentityErrorCode, msg.message));
        else reject(new Error(`erasure failed: ${msg.message}`));
      }),
    );
    worker.once('error', (err) => settle(() => reject(new Error(`erase worker failed: ${err.message}`))));
    worker.once('exit', (code) => settle(() => reject(new Error(`erase worker exited with code ${code}`))));
  });
}
