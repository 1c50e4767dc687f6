// `gatehouse …` from src/cli.ts as a real child process (through tsx), for the
// command-line tests. Asynchronous on purpose: a test worker blocked in
// spawnSync for long misses vitest's own messages on a loaded machine.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
// Resolved here, so a process started in another directory still finds it.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

export async function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', tsx, cli, ...args], { cwd: opts.cwd, env: opts.env ?? process.env });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin.end(opts.input ?? '');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, out, err };
}
