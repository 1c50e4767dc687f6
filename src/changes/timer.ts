// The change scheduler's clock: one timer set for the next thing due (a change
// to apply, a temporary change to end, an emergency review deadline), re-armed
// after every step and never more than a minute away, so a clock that jumps
// (NTP, a laptop waking) is noticed within a minute. What was due while the
// service was down runs at start.
/** Even when something is overdue, wait this long between runs (a step that keeps failing must not spin). */
const MIN_WAIT_MS = 250;

export class ChangeTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly nextDue: () => number | null,
    private readonly now: () => number,
    private readonly maxWaitMs = 60_000,
  ) {}

  start(): void {
    this.stopped = false;
    this.arm();
  }

  /** Set the timer for the next due time (call after any change to the requests). */
  arm(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const due = this.nextDue();
    const wait = due === null ? this.maxWaitMs : Math.min(Math.max(due - this.now(), MIN_WAIT_MS), this.maxWaitMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run().finally(() => this.arm());
    }, wait);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
