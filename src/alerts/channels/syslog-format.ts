// RFC 5424 syslog lines for alerts, one per alert, with the fields a SIEM
// wants in structured data. SD-ID uses 32473, the documentation enterprise
// number (RFC 5612), until the project has its own.
import { hostname } from 'node:os';
import type { AlertingSeverity } from '../config.js';
import type { OutgoingMessage, PublicAlert } from '../types.js';
import { who } from '../render.js';

const syslogSeverity: Record<AlertingSeverity, number> = { critical: 2, high: 3, medium: 4, low: 5 };
export const SD_ID = 'gatehouse@32473';

/** SD-PARAM values escape `"`, `\` and `]` (RFC 5424 section 6.3.3). */
function sdValue(v: string): string {
  return v.replace(/[\\"\]]/g, (c) => '\\' + c);
}

/** HOSTNAME, APP-NAME, … are printable ASCII without spaces, or "-". */
function header(v: string, max: number): string {
  const clean = v.replace(/[^!-~]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

export function syslogLines(m: OutgoingMessage, facility: number, appName: string, host = hostname(), now = new Date()): string[] {
  return m.alerts.map((a) => syslogLine(m, a, facility, appName, host, now));
}

function syslogLine(m: OutgoingMessage, a: PublicAlert, facility: number, appName: string, host: string, now: Date): string {
  const pri = facility * 8 + syslogSeverity[a.severity];
  const params: [string, string | null][] = [
    ['key', m.key],
    ['alertId', String(a.id)],
    ['kind', a.kind],
    ['severity', a.severity],
    ['category', a.category],
    ['client', a.client],
    ['clientName', a.clientName],
    ['user', a.user],
    ['person', a.personName],
    ['device', a.device],
    ['mac', a.mac],
    ['group', a.group],
    ['domain', a.domain],
    ['circumvention', a.kind === 'safeguarding' ? String(a.circumvention) : null],
    ['count', String(a.count)],
    ['first', a.time],
  ];
  const sd = `[${SD_ID}${params
    .filter(([, v]) => v !== null)
    .map(([k, v]) => ` ${k}="${sdValue(v!)}"`)
    .join('')}]`;
  const msgId = m.kind === 'digest' ? 'digest' : a.kind === 'operational' ? 'operational' : 'alert';
  const msg =
    a.kind === 'operational'
      ? `${a.severity.toUpperCase()} ${a.categoryName}: ${a.message ?? ''} (x${a.count})`
      : `${a.severity.toUpperCase()} ${a.categoryName} from ${who(a)} group ${a.group ?? '-'}` +
        `${a.domain ? ` domain ${a.domain}` : ''} (x${a.count})`;
  return `<${pri}>1 ${now.toISOString()} ${header(host, 255)} ${header(appName, 48)} ${process.pid} ${msgId} ${sd} ${msg.replace(/[\r\n]+/g, ' ')}`;
}

/** Cut a line to at most `max` bytes of UTF-8 without splitting a character. */
export function truncateUtf8(line: string, max: number): string {
  const buf = Buffer.from(line, 'utf8');
  if (buf.length <= max) return line;
  let end = max;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}
