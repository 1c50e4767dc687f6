// Start a worker thread from a module beside the caller. Under the tests the
// module is TypeScript (vitest runs src/ directly), so the worker loads tsx;
// in production it is the compiled .js file and starts plainly.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  const isTs = moduleUrl.pathname.endsWith('.ts');
  const execArgv = isTs ? [...(options.execArgv ?? []), '--import', 'tsx'] : options.execArgv;
  return new Worker(moduleUrl, { ...options, execArgv });
}

/** The URL of a sibling module, keeping the caller's extension (.ts under tests, .js when built). */
export function siblingModule(callerUrl: string, baseName: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${baseName}${ext}`, callerUrl);
}
