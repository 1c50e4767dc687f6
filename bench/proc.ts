// What a server process has used, read from /proc (Linux, proc(5)): CPU time
// of all its threads (Node's worker threads and GC threads are threads of the
// one process), and its resident memory now and at its peak.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

/**
 * CPU time (ms) process `pid` has used in user space and in the kernel:
 * fields 14 and 15 of /proc/PID/stat (every thread), plus 16 and 17 (its
 * children it has waited for).
 */
export function cpuTimes(pid: number): { userMs: number; systemMs: number } {
  // The command name (field 2) may hold spaces: count from the ") " that ends it.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ');
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  return { userMs: (Number(fields[11]) + Number(fields[13])) * TICK_MS, systemMs: (Number(fields[12]) + Number(fields[14])) * TICK_MS };
}

/** CPU time (user + system, ms) process `pid` has used (cpuTimes). */
export function cpuMs(pid: number): number {
  const t = cpuTimes(pid);
  return t.userMs + t.systemMs;
}

export interface Memory {
  /** Resident now (VmRSS), kB. */
  rssKb: number;
  /** Resident at the peak (VmHWM), kB. */
  peakKb: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKb: kb('VmRSS'), peakKb: kb('VmHWM') };
}

/** CPU time (ms) of each thread of `pid` now, by thread id, with its nice value (19: a background thread). */
export function threadCpuMs(pid: number): Map<number, { ms: number; nice: number }> {
  const threads = new Map<number, { ms: number; nice: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
        .replace(/^.*\) /s, '')
        .split(' ');
      threads.set(Number(tid), { ms: (Number(f[11]) + Number(f[12])) * TICK_MS, nice: Number(f[16]) });
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return threads;
}

export interface ThreadSplit {
  /** The main (event loop) thread: DNS. */
  main: number;
  /** Threads at nice 19: Gatehouse's query-log writer (and the list builder, the report reader). */
  background: number;
  /** The rest: V8's GC and compiler threads, libuv's pool, threads that ended. */
  other: number;
}

/** How the CPU time `pid` used between two readings (threadCpuMs, cpuMs) splits over its threads. */
export function splitThreads(
  pid: number,
  before: Map<number, { ms: number; nice: number }>,
  after: Map<number, { ms: number; nice: number }>,
  totalMs: number,
): ThreadSplit {
  let main = 0;
  let background = 0;
  for (const [tid, t] of after) {
    const used = t.ms - (before.get(tid)?.ms ?? 0);
    if (tid === pid) main += used;
    else if (t.nice >= 19) background += used;
  }
  return { main, background, other: Math.max(0, totalMs - main - background) };
}
