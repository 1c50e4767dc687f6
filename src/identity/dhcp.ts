// One DHCP lease file as an identity source: read when it changes (a change
// notification on its directory, debounced, plus a size/time check every
// pollSeconds for filesystems that do not notify), parsed in slices that
// yield to the event loop so DNS answers never wait behind a large file, and
// handed to the service as the complete set of leases in use. A bad line is
// skipped and counted (status()); an unreadable file keeps the last leases.
// Kea's lease file cleanup (kea-lfc) rotates the file: the leases then live in
// NAME.completed, or NAME.1 and NAME.2, plus the new NAME; they are read in
// the order Kea itself loads them at start-up, a later line winning.
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../log.js';
import type { DhcpSourceConfig } from './config.js';
import { leaseParsers, type Lease } from './leases/index.js';

/** Events parsed between two yields to the event loop. */
const SLICE = 2000;
const DEBOUNCE_MS = 250;

export interface DhcpStatus {
  path: string;
  format: string;
  /** Leases in use after the last read. */
  leases: number;
  badLines: { count: number; lines: number[] };
  warnings: number;
  lastRead?: string;
  lastError?: string;
}

export class DhcpLeaseSource {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** Sizes, times and inodes of the files at the last read. */
  private last: string | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly state: DhcpStatus;

  constructor(
    private readonly config: DhcpSourceConfig,
    private readonly onLeases: (path: string, leases: Lease[]) => void,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.state = { path: config.path, format: config.format, leases: 0, badLines: { count: 0, lines: [] }, warnings: 0 };
  }

  async start(): Promise<void> {
    try {
      // Lease files are replaced by rename (dhcpd, Kea's cleanup), so watch the directory.
      this.watcher = watch(dirname(this.config.path), (_event, name) => {
        if (name === null || name === basename(this.config.path)) this.schedule();
      });
      this.watcher.on('error', () => undefined);
    } catch (err) {
      this.logger.warn({ err, path: this.config.path }, 'cannot watch the lease file directory; polling only');
    }
    this.poll = setInterval(() => this.schedule(), this.config.pollSeconds * 1000);
    this.poll.unref();
    await this.readNow();
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
  }

  status(): DhcpStatus {
    return { ...this.state, badLines: { count: this.state.badLines.count, lines: [...this.state.badLines.lines] } };
  }

  private schedule(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.readNow(), DEBOUNCE_MS);
    this.debounce.unref();
  }

  /** Read the file if it changed since the last read; concurrent calls share one read (and one more after it). */
  readNow(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.read().finally(() => {
      this.reading = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.readNow();
      }
    });
    return this.reading;
  }

  /** The files that hold the leases, oldest first (Kea's rotation; one file for the other formats). */
  private async files(): Promise<string[]> {
    const path = this.config.path;
    if (this.config.format !== 'kea') return [path];
    const exists = (f: string) =>
      stat(f).then(
        () => true,
        () => false,
      );
    const older = (await exists(`${path}.completed`)) ? [`${path}.completed`] : [`${path}.1`, `${path}.2`];
    const present = [];
    for (const f of older) if (await exists(f)) present.push(f);
    return [...present, path];
  }

  private async read(): Promise<void> {
    let texts: string[];
    try {
      const files = await this.files();
      const stats = await Promise.all(files.map((f) => stat(f)));
      const stamp = files.map((f, i) => `${f}:${stats[i].size}:${stats[i].mtimeMs}:${stats[i].ino}`).join('|');
      if (this.last === stamp) return;
      this.last = stamp;
      texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    } catch (err) {
      const error = `cannot read the lease file (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
      if (this.state.lastError !== error)
        this.logger.warn({ path: this.config.path, error }, 'DHCP lease file unreadable; keeping the last leases');
      this.state.lastError = error;
      this.last = undefined;
      return;
    }
    const byAddress = new Map<string, Lease>();
    const bad: number[] = [];
    let badCount = 0;
    let warnings = 0;
    let n = 0;
    const parse = leaseParsers[this.config.format];
    for (const [i, text] of texts.entries()) {
      const main = i === texts.length - 1;
      for (const e of parse(text, { dateOrder: this.config.dateOrder, timezone: this.config.timezone })) {
        if (e.kind === 'lease') byAddress.set(e.lease.address, e.lease);
        else if (e.kind === 'warn') warnings++;
        else {
          badCount++;
          // Line numbers are the named file's; bad lines in Kea's rotated files are counted only.
          if (main && bad.length < 20) bad.push(e.line);
        }
        if (++n % SLICE === 0) await new Promise((r) => setImmediate(r));
        if (this.stopped) return;
      }
    }
    const now = this.now();
    const leases = [...byAddress.values()].filter((l) => l.active && l.endsAt > now);
    this.state.leases = leases.length;
    this.state.badLines = { count: badCount, lines: bad };
    this.state.warnings = warnings;
    this.state.lastRead = new Date(now).toISOString();
    this.state.lastError = undefined;
    if (badCount > 0)
      this.logger.warn({ path: this.config.path, badLines: badCount, firstBadLines: bad }, 'DHCP lease file has lines that were skipped');
    this.onLeases(this.config.path, leases);
  }
}
