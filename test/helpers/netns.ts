// Two network namespaces joined by a veth pair, made by the test and removed
// after it: nothing touches a real interface, and every address used lives
// inside them (198.18.0.0/24, the benchmarking range of RFC 2544).
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';
import { findProgram } from './programs.js';

const run = promisify(execFile);
let counter = 0;

export interface VethPair {
  server: string;
  client: string;
  serverIf: string;
  clientIf: string;
  /** The server end's address (198.18.0.1). */
  serverAddress: string;
  exec(ns: string, cmd: string, args: string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string }>;
  spawn(ns: string, cmd: string, args: string[], options?: SpawnOptions): ChildProcess;
  remove(): void;
}

/** Whether this process may make namespaces (root, with `ip`). */
export function canMakeNamespaces(): boolean {
  if (process.getuid?.() !== 0 || !findProgram('ip')) return false;
  const probe = `ghprobe${process.pid}`;
  try {
    execFileSync(findProgram('ip')!, ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync(findProgram('ip')!, ['netns', 'del', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function makeVethPair(): Promise<VethPair> {
  const ip = findProgram('ip')!;
  const n = `${process.pid}${counter++}`;
  const pair = { server: `ghs${n}`, client: `ghc${n}`, serverIf: `vs${n}`, clientIf: `vc${n}`, serverAddress: '198.18.0.1' };
  const steps = [
    ['netns', 'add', pair.server],
    ['netns', 'add', pair.client],
    // Created inside the server namespace, so neither end ever appears in ours.
    ['-n', pair.server, 'link', 'add', pair.serverIf, 'type', 'veth', 'peer', 'name', pair.clientIf, 'netns', pair.client],
    ['-n', pair.server, 'addr', 'add', `${pair.serverAddress}/24`, 'dev', pair.serverIf],
    ['-n', pair.server, 'link', 'set', pair.serverIf, 'up'],
    ['-n', pair.server, 'link', 'set', 'lo', 'up'],
    ['-n', pair.client, 'link', 'set', pair.clientIf, 'up'],
    ['-n', pair.client, 'link', 'set', 'lo', 'up'],
  ];
  const remove = () => {
    for (const ns of [pair.client, pair.server]) {
      try {
        execFileSync(ip, ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
  };
  try {
    for (const s of steps) await run(ip, s);
  } catch (err) {
    remove();
    throw err;
  }
  return {
    ...pair,
    exec: (ns, cmd, args, timeoutMs = 30_000) => run(ip, ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs }),
    spawn: (ns, cmd, args, options = {}) => spawn(ip, ['netns', 'exec', ns, cmd, ...args], options),
    remove,
  };
}
