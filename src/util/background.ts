// Background threads (query-log writer, list builder, report reader) run at a
// lower scheduling priority than the DNS thread, so on a small appliance the
// kernel gives a busy DNS thread the CPU first and the background work catches
// up in the gaps. On Linux, setpriority(PRIO_PROCESS, 0) applies to the calling
// thread only, which is what os.setPriority(0, …) does.
import { setPriority } from 'node:os';

export const BACKGROUND_NICE = 10;

export function runInBackground(): void {
  try {
    setPriority(0, BACKGROUND_NICE);
  } catch {
    /* not permitted or not supported: run at normal priority */
  }
}
