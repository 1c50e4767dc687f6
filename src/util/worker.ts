// Start a worker thread from a module beside the caller. Under the tests the
// module is TypeScript (vitest runs src/ directly), so the worker loads tsx;
// in production it is the compiled .js file and starts plainly.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, options);
  // Node.js 20 ignores `--import tsx` in a worker's execArgv (the loader hooks
  // never reach the worker), so a small bootstrap registers tsx inside the
  // worker and then imports the module. Works the same on Node.js 22.
  const bootstrap =
    `import(${JSON.stringify(tsxApiUrl(moduleUrl))})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** The ESM entry of tsx's API, found from the module's own location. */
function tsxApiUrl(moduleUrl: URL): string {
  const pkgPath = createRequire(moduleUrl).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(join(dirname(pkgPath), pkg.exports['./esm/api'].import.default)).href;
}

/** The URL of a sibling module, keeping the caller's extension (.ts under tests, .js when built). */
export function siblingModule(callerUrl: string, baseName: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${baseName}${ext}`, callerUrl);
}
