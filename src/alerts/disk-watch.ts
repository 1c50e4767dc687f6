// Watches the free space of the filesystem that holds the database, and
// reports when it is nearly full: a full disk stops the query log, which the
// school must keep for a year.
import { statfs } from 'node:fs/promises';

export interface DiskUsage {
  usedPercent: number;
  availableBytes: number;
}

/** Used space as df reports it: used / (used + available to unprivileged users). */
export async function diskUsage(path: string): Promise<DiskUsage> {
  const s = await statfs(path);
  const used = s.blocks - s.bfree;
  const usable = used + s.bavail;
  return { usedPercent: usable === 0 ? 100 : Math.round((used / usable) * 1000) / 10, availableBytes: s.bavail * s.bsize };
}

export class DiskWatch {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly path: string,
    private readonly limitPercent: number,
    private readonly intervalMs: number,
    private readonly onFull: (usage: DiskUsage) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  /** Check once; resolves to the usage found (or null when statfs failed). */
  async check(): Promise<DiskUsage | null> {
    try {
      const usage = await diskUsage(this.path);
      if (usage.usedPercent >= this.limitPercent) this.onFull(usage);
      return usage;
    } catch (err) {
      this.onError(err);
      return null;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
