// `gatehouse serve` (dist/cli.js) as a child process for tests: every line it
// writes is kept, and the start resolves on the first line matching a pattern
// (the DNS or admin listening line, which carries the port 0 chose).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../dist/cli.js');

export interface ServeProcess {
  child: ChildProcess;
  lines: string[];
  /** The pattern's match on the line it was found in. */
  match: RegExpExecArray;
}

export function spawnServe(file: string, ready: RegExp, timeoutMs = 20_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffer = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${ready}: ${lines.join('\n')}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buffer += d.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const m = ready.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({ child, lines, match: m });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${lines.join('\n')}`)));
  });
}
