// In-memory throttle and threshold state, one entry per client+category (or
// per operational kind). Everything here is O(1) per lookup: a Map get, a
// ring-buffer write for thresholds, a counter increment for repeats.
import type { NewAlert } from './store.js';

/** An alert raised in memory; the engine's flush gives it an id and writes its count. */
export interface PendingAlert {
  /** Null until the flush inserts the row. */
  id: number | null;
  /** The tracker key (client+category, or the operational kind). */
  key: string;
  /** What the alert says; kept so repeats after a close can raise a fresh alert. */
  row: NewAlert;
  /** Lookups counted since the last flush, and when the first of them was. */
  delta: number;
  deltaSince: number;
  lastAt: number;
  dirty: boolean;
}

interface Entry {
  alert: PendingAlert | null;
  windowEnd: number;
  /** Times of the latest lookups, for a threshold above 1. */
  ring: Float64Array | null;
  ringPos: number;
  ringFilled: number;
  /** Latest lookup seen, for sweeping idle entries. */
  lastSeen: number;
}

export type TrackResult =
  { kind: 'repeat'; alert: PendingAlert } | { kind: 'below-threshold' } | { kind: 'raise'; firstAt: number; count: number };

export class Tracker {
  private readonly entries = new Map<string, Entry>();
  evicted = 0;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Count one lookup. `threshold` lookups within `withinMs` raise an alert;
   * while an alert's window is open, lookups are repeats of it.
   */
  track(key: string, at: number, threshold: number, withinMs: number): TrackResult {
    let e = this.entries.get(key);
    if (e !== undefined && e.alert !== null && at < e.windowEnd) {
      e.lastSeen = at;
      return { kind: 'repeat', alert: e.alert };
    }
    if (e === undefined) {
      if (this.entries.size >= this.maxEntries) {
        // Map keeps insertion order: the first key is the oldest entry.
        this.entries.delete(this.entries.keys().next().value!);
        this.evicted++;
      }
      e = { alert: null, windowEnd: 0, ring: null, ringPos: 0, ringFilled: 0, lastSeen: at };
      this.entries.set(key, e);
    }
    e.lastSeen = at;
    e.alert = null;
    if (threshold <= 1) return { kind: 'raise', firstAt: at, count: 1 };
    if (e.ring === null || e.ring.length !== threshold) {
      e.ring = new Float64Array(threshold);
      e.ringPos = 0;
      e.ringFilled = 0;
    }
    e.ring[e.ringPos] = at;
    e.ringPos = (e.ringPos + 1) % threshold;
    if (e.ringFilled < threshold) e.ringFilled++;
    if (e.ringFilled < threshold) return { kind: 'below-threshold' };
    // The slot about to be overwritten holds the oldest of the last `threshold` lookups.
    const oldest = e.ring[e.ringPos];
    if (at - oldest > withinMs) return { kind: 'below-threshold' };
    e.ringFilled = 0;
    return { kind: 'raise', firstAt: oldest, count: threshold };
  }

  /** Open a window: lookups until windowEnd are repeats of this alert. */
  open(key: string, alert: PendingAlert, windowEnd: number): void {
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { alert: null, windowEnd: 0, ring: null, ringPos: 0, ringFilled: 0, lastSeen: alert.lastAt };
      this.entries.set(key, e);
    }
    e.alert = alert;
    e.windowEnd = windowEnd;
  }

  /** Forget the window of a closed alert, so the next lookup raises a new one. */
  forget(key: string, id: number): void {
    const e = this.entries.get(key);
    if (e !== undefined && e.alert !== null && e.alert.id === id) e.alert = null;
  }

  /** Drop entries with no open window and no lookup within `idleMs` of `now`. */
  sweep(now: number, idleMs: number): void {
    for (const [key, e] of this.entries) {
      const windowOpen = e.alert !== null && now < e.windowEnd;
      if (!windowOpen && now - e.lastSeen > idleMs) this.entries.delete(key);
    }
  }
}
