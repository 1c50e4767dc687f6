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

export interface DnsperfLatency {
  sent: number;
  answered: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Latency percentiles at a fixed rate, from dnsperf's own per-answer report
 * (-v prints "> RCODE name type seconds" as each answer arrives, "> T …" for
 * a timeout). A load generator in C: our Node one (loadgen.ts) adds its own
 * event-loop delays to every server's tail.
 */
export function dnsperfLatency(opts: { port: number; file: string; seconds: number; rate: number }): DnsperfLatency {
  const args = ['-s', '127.0.0.1', '-p', String(opts.port), '-d', opts.file, '-l', String(opts.seconds), '-c', '1', '-q', '500'];
  args.push('-Q', String(opts.rate), '-v');
  const out = execFileSync(findProgram('dnsperf')!, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const latencies: number[] = [];
  let timedOut = 0;
  for (const line of out.split('\n')) {
    if (!line.startsWith('> ')) continue;
    const fields = line.split(' ');
    if (fields[1] === 'T') timedOut++;
    else {
      const seconds = Number(fields[fields.length - 1]);
      if (Number.isFinite(seconds)) latencies.push(seconds * 1000);
    }
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] : NaN);
  const sent = Number(/Queries sent:\s+(\d+)/.exec(out)?.[1] ?? latencies.length + timedOut);
  return { sent, answered: latencies.length, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}
