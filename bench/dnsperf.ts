// One dnsperf run (UDP, one client, 200 queries outstanding), at full speed
// or at a fixed rate (-Q), and what it reports.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { findProgram } from '../test/helpers/programs.js';

export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  avgMs: number;
}

export function dnsperf(opts: { port: number; file: string; seconds: number; rate?: number }): DnsperfResult {
  const args = ['-s', '127.0.0.1', '-p', String(opts.port), '-d', opts.file, '-l', String(opts.seconds), '-c', '1', '-q', '200'];
  if (opts.rate !== undefined) args.push('-Q', String(opts.rate));
  const out = execFileSync(findProgram('dnsperf')!, args, { encoding: 'utf8' });
  const field = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  return {
    sent: field(/Queries sent:\s+(\d+)/),
    completed: field(/Queries completed:\s+(\d+)/),
    lost: field(/Queries lost:\s+(\d+)/),
    qps: field(/Queries per second:\s+([\d.]+)/),
    avgMs: field(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
  };
}

/** A dnsperf data file: one `name A` line per name. */
export function writeQueryFile(file: string, names: string[]): string {
  writeFileSync(file, names.map((n) => `${n} A\n`).join(''));
  return file;
}
