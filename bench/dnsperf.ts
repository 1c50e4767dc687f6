// One dnsperf run (UDP, one client, 200 queries outstanding), at full speed
// or at a fixed rate (-Q), and what it reports.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { findProgram } from '../test/helpers/programs.js';
import { latencyResult, type LatencyResult } from './loadgen.js';

export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  avgMs: number;
}

export function dnsperf(opts: { port: number; file: string; seconds: number; rate?: number }): DnsperfResult {
  const out = run(opts);
  const field = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  return {
    sent: field(/Queries sent:\s+(\d+)/),
    completed: field(/Queries completed:\s+(\d+)/),
    lost: field(/Queries lost:\s+(\d+)/),
    qps: field(/Queries per second:\s+([\d.]+)/),
    avgMs: field(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
  };
}

function run(opts: { port: number; file: string; seconds: number; rate?: number }, outstanding = 200, extra: string[] = []): string {
  const args = [
    '-s',
    '127.0.0.1',
    '-p',
    String(opts.port),
    '-d',
    opts.file,
    '-l',
    String(opts.seconds),
    '-c',
    '1',
    '-q',
    String(outstanding),
  ];
  if (opts.rate !== undefined) args.push('-Q', String(opts.rate));
  // -v writes a line per answer: room for a few million.
  return execFileSync(findProgram('dnsperf')!, [...args, ...extra], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

/** A dnsperf data file: one `name A` line per name. */
export function writeQueryFile(file: string, names: string[]): string {
  writeFileSync(file, names.map((n) => `${n} A\n`).join(''));
  return file;
}

/**
 * Latency percentiles at a fixed rate, from dnsperf's own per-answer report
 * (-v prints "> RCODE name type seconds" as each answer arrives, "> T …" for
 * a timeout). A load generator in C: our Node one (loadgen.ts) adds its own
 * event-loop delays to every server's tail.
 */
export function dnsperfLatency(opts: { port: number; file: string; seconds: number; rate: number }): LatencyResult {
  const out = run(opts, 500, ['-v']);
  const latencies: number[] = [];
  for (const line of out.split('\n')) {
    if (!line.startsWith('> ') || line.startsWith('> T ')) continue;
    const seconds = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(seconds)) latencies.push(seconds * 1000);
  }
  return latencyResult(Number(/Queries sent:\s+(\d+)/.exec(out)?.[1] ?? 0), latencies);
}
