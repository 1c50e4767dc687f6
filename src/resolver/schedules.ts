// Time windows in which a group has extra categories blocked ("social on
// weekdays 08:30-12:00, Europe/London"). Windows are compiled to minutes and a
// day bitmask; the local time of each zone is worked out at most once a minute
// (Intl is slow), so the per-query cost is a comparison.
import type { GroupConfig } from '../config.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const MINUTE = 60_000;

interface Window {
  /** Bit d set: the window opens on weekday d (0 = Sunday). */
  days: number;
  /** Minutes after local midnight; `end` <= `start` means the window runs past midnight. */
  start: number;
  end: number;
  mask: number;
}

interface Zone {
  format: Intl.DateTimeFormat;
  windows: Window[];
}

export class Schedules {
  /** Every category any window can block: a name outside it never needs the clock. */
  readonly mask: number;
  private readonly zones: Zone[] = [];
  private cachedFrom = 0;
  private cachedUntil = 0;
  private cachedMask = 0;

  /** `maskOf` turns category ids into a mask. Throws on a malformed time. */
  constructor(schedules: GroupConfig['schedules'], maskOf: (ids: readonly string[]) => number) {
    let all = 0;
    const byZone = new Map<string, Zone>();
    for (const s of schedules) {
      const mask = maskOf(s.block);
      all |= mask;
      let zone = byZone.get(s.timezone);
      if (!zone) {
        zone = { format: zoneFormat(s.timezone), windows: [] };
        byZone.set(s.timezone, zone);
        this.zones.push(zone);
      }
      const days = s.days.reduce((bits, d) => bits | (1 << DAYS.indexOf(d)), 0);
      for (const t of s.times) {
        const [start, end] = t.split('-').map(parseClock);
        if (start >= 24 * 60) throw new Error(`schedule time "${t}": a window cannot start at 24:00`);
        zone.windows.push({ days, start, end, mask });
      }
    }
    this.mask = all;
  }

  /** Categories blocked by the windows open at `nowMs` (epoch milliseconds). */
  active(nowMs: number): number {
    if (nowMs >= this.cachedFrom && nowMs < this.cachedUntil) return this.cachedMask;
    let mask = 0;
    for (const zone of this.zones) {
      const { day, minute } = localTime(zone.format, nowMs);
      const yesterday = (day + 6) % 7;
      for (const w of zone.windows) {
        const open =
          w.end > w.start
            ? (w.days & (1 << day)) !== 0 && minute >= w.start && minute < w.end
            : ((w.days & (1 << day)) !== 0 && minute >= w.start) || ((w.days & (1 << yesterday)) !== 0 && minute < w.end);
        if (open) mask |= w.mask;
      }
    }
    // Zone offsets are whole minutes, so the answer holds until the next minute.
    this.cachedFrom = Math.floor(nowMs / MINUTE) * MINUTE;
    this.cachedUntil = this.cachedFrom + MINUTE;
    this.cachedMask = mask;
    return mask;
  }
}

function parseClock(text: string): number {
  const [h, m] = text.split(':').map(Number);
  if (!(h >= 0 && h <= 24 && m >= 0 && m <= 59) || (h === 24 && m !== 0)) {
    throw new Error(`schedule time "${text}" is not a time of day (00:00 to 24:00)`);
  }
  return h * 60 + m;
}

function zoneFormat(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

const WEEKDAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function localTime(format: Intl.DateTimeFormat, nowMs: number): { day: number; minute: number } {
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(nowMs)) {
    if (part.type === 'weekday') day = WEEKDAY[part.value];
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { day, minute: hour * 60 + minute };
}
