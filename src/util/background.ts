// Background threads (query-log writer, list builder, report reader) run at a
// lower scheduling priority than the DNS thread, so on a small appliance the
// kernel gives a busy DNS thread the CPU first and the background work catches
// up in the gaps. On Linux, setpriority(PRIO_PROCESS, 0) applies to the calling
// thread only, which is what os.setPriority(0, …) does.
//
// Why 19 and not a milder 10: with the query-log writer at nice 10, DNS p99
// at 20k q/s rose from about 1.2 ms (log off) to 2.3–3.5 ms, because the
// kernel (EEVDF) lets a running nice-10 thread finish its slice before the
// woken DNS thread gets the core. At nice 19 p99 stayed at 1.1–1.4 ms, and
// under full dnsperf load the writer still kept up: every query was logged.
// The systemd unit must allow setpriority(2) for this (see its filter).
//
// GATEHOUSE_BACKGROUND_NICE (0-19) sets another value: 0 puts the query log's
// one-second durability ahead of DNS latency when the CPU is saturated (a
// nice-19 writer then gets 1-2% of a core). The hard-kill test uses it, as
// the CI host runs other test files on both cores beside it.
import { setPriority } from 'node:os';

export const BACKGROUND_NICE = 19;

/** The nice value for background threads: GATEHOUSE_BACKGROUND_NICE when it is a whole number 0-19, else 19. */
export function backgroundNice(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.GATEHOUSE_BACKGROUND_NICE;
  return v !== undefined && /^(1?\d)$/.test(v) && Number(v) <= 19 ? Number(v) : BACKGROUND_NICE;
}

export function runInBackground(): void {
  try {
    setPriority(0, backgroundNice());
  } catch {
    /* not permitted or not supported: run at normal priority */
  }
}
