// The build worker: receives the list inputs, builds the matcher arrays off
// the main thread's event loop, and transfers them back (no copy).
import { parentPort } from 'node:worker_threads';
import { buildMatcher, type BuildListInput } from './build-job.js';
import { matcherBuffers } from './matcher.js';
import { runInBackground } from '../util/background.js';

runInBackground();

parentPort!.once('message', (inputs: BuildListInput[]) => {
  try {
    const result = buildMatcher(inputs);
    parentPort!.postMessage({ ok: true, result }, matcherBuffers(result.data));
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: (err as Error).message });
  }
});
