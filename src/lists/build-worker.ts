// The build worker: receives the list inputs, builds the matcher arrays off
// the main thread's event loop, and transfers them back (no copy).
import { parentPort } from 'node:worker_threads';
import { buildMatcher, type BuildListInput } from './build-job.js';

parentPort!.once('message', (inputs: BuildListInput[]) => {
  try {
    const result = buildMatcher(inputs);
    const d = result.data;
    const transfer = [d.dir, d.his, d.los, d.ids, d.comboMasks, d.comboStart, d.comboTags].map((a) => a.buffer as ArrayBuffer);
    parentPort!.postMessage({ ok: true, result }, transfer);
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: (err as Error).message });
  }
});
