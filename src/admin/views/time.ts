// Times for people. Schedules run in the school's local time, so every page
// shows times in the school's zone (admin.timezone, default Europe/London,
// summer time included), and names the zone once, in the page header
// (layout.ts). This is the one helper that turns a timestamp into text or
// back; each zone's Intl.DateTimeFormat is made once and kept (they are slow
// to make). Exports for machines (the CSV files, the JSON API) keep ISO 8601
// in UTC, which carries its offset ("Z"), so nothing read later is ambiguous.

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday. */
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const partsFormats = new Map<string, Intl.DateTimeFormat>();
const nameFormats = new Map<string, Intl.DateTimeFormat>();

function cached(cache: Map<string, Intl.DateTimeFormat>, zone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let f = cache.get(zone);
  if (!f) cache.set(zone, (f = new Intl.DateTimeFormat('en-GB', { ...options, timeZone: zone })));
  return f;
}

/** The wall-clock fields of an instant in a zone. */
export function localParts(ms: number, zone: string): LocalParts {
  const format = cached(partsFormats, zone, {
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    weekday: 'short',
    hourCycle: 'h23',
  });
  const p: Record<string, string> = {};
  for (const { type, value } of format.formatToParts(ms)) p[type] = value;
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour),
    minute: Number(p.minute),
    second: Number(p.second),
    weekday: WEEKDAYS.indexOf(p.weekday),
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD HH:MM:SS` in the zone; '' for no time. */
export function formatTime(ms: number | null | undefined, zone: string): string {
  if (ms === null || ms === undefined) return '';
  const t = localParts(ms, zone);
  return `${t.year}-${pad(t.month)}-${pad(t.day)} ${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`;
}

/** `HH:MM` in the zone. */
export function formatClock(ms: number, zone: string): string {
  const t = localParts(ms, zone);
  return `${pad(t.hour)}:${pad(t.minute)}`;
}

/** `Mon 23 Nov` in the zone. */
export function formatDay(ms: number, zone: string): string {
  const t = localParts(ms, zone);
  return `${WEEKDAYS[t.weekday]} ${t.day} ${MONTHS[t.month - 1]}`;
}

/** How far the zone's wall clock is ahead of UTC at an instant, in ms (BST: 3 600 000). */
export function zoneOffsetMs(ms: number, zone: string): number {
  const t = localParts(ms, zone);
  const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return wall - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The zone as the page header names it: "Europe/London (BST)" at that instant. */
export function zoneLabel(zone: string, at: number): string {
  const format = cached(nameFormats, zone, { timeZoneName: 'short' });
  const short = format.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value;
  return short && short !== zone ? `${zone} (${short})` : zone;
}

/** The value of an <input type="datetime-local"> for an instant: `YYYY-MM-DDTHH:MM`, local time in the zone. */
export function localInput(ms: number, zone: string): string {
  const t = localParts(ms, zone);
  return `${t.year}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}`;
}

/**
 * A local `YYYY-MM-DDTHH:MM[:SS]` (a datetime-local input) or `YYYY-MM-DD`
 * (midnight) in the zone to ms; undefined if absent or bad (see wallToInstant).
 */
export function parseLocalInput(text: unknown, zone: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(wall);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return wallToInstant(wall, zone);
}

/**
 * The instant a wall-clock time (as ms of a UTC date with those fields) is in
 * the zone. Skipped times read as the hour after, repeated ones as the second.
 */
export function wallToInstant(wall: number, zone: string): number {
  // The offset at the wall time read as UTC is right except within hours of a change: check it once more.
  let at = wall - zoneOffsetMs(wall, zone);
  const offset = zoneOffsetMs(at, zone);
  if (offset !== wall - at) at = wall - offset;
  return at;
}
