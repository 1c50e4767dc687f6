// Run the real dig / kdig against a server and read the answer back.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findProgram } from './programs.js';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  answers: { name: string; ttl: number; type: string; data: string }[];
  raw: string;
}

/** `dig @server -p port name type [options]`, parsed. Options are dig's (+tcp, -b 127.0.0.2, …). */
export async function dig(server: string, port: number, name: string, type = 'A', options: string[] = []): Promise<DigResult> {
  const { stdout } = await run(findProgram('dig')!, [`@${server}`, '-p', String(port), name, type, '+tries=1', '+time=3', ...options], {
    timeout: 15_000,
  });
  return parseDig(stdout);
}

/** `kdig @server -p port name type [options]`, parsed (kdig prints dig's layout). */
export async function kdig(server: string, port: number, name: string, type = 'A', options: string[] = []): Promise<DigResult> {
  const { stdout } = await run(findProgram('kdig')!, [`@${server}`, '-p', String(port), name, type, '+retry=0', '+time=3', ...options], {
    timeout: 15_000,
  });
  return parseDig(stdout);
}

export function parseDig(out: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([a-z ]+);/.exec(out)?.[1] ?? /Flags: ([a-z ]+);/.exec(out)?.[1] ?? '').trim().split(/\s+/);
  const answers: DigResult['answers'] = [];
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(\n\n|\n;;|$)/.exec(out)?.[1] ?? '';
  for (const line of section.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (m) answers.push({ name: m[1], ttl: Number(m[2]), type: m[3], data: m[4] });
  }
  return { status, flags, answers, raw: out };
}
