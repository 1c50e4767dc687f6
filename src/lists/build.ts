// Runs a matcher build in a worker thread and resolves with its result, so a
// multi-million-name rebuild never stalls DNS answers on the main thread.
import { startWorker, siblingModule } from '../util/worker.js';
import type { BuildListInput, BuildResult } from './build-job.js';

export function buildInWorker(inputs: readonly BuildListInput[]): Promise<BuildResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(siblingModule(import.meta.url, 'build-worker'));
    let settled = false;
    worker.once('message', (msg: { ok: true; result: BuildResult } | { ok: false; error: string }) => {
      settled = true;
      if (msg.ok) resolve(msg.result);
      else reject(new Error(`list build failed: ${msg.error}`));
      void worker.terminate();
    });
    worker.once('error', (err) => {
      if (settled) return;
      settled = true;
      reject(new Error(`list build worker failed: ${err.message}`));
    });
    worker.once('exit', (code) => {
      if (settled) return;
      settled = true;
      reject(new Error(`list build worker exited with code ${code}`));
    });
    worker.postMessage(inputs);
  });
}
