// Small helpers the line formats share.
import { normalizeName } from '../names.js';
import type { ParseEvent } from './types.js';

/** The line without a `#` comment, trimmed (also drops a Windows `\r`). */
export function withoutHashComment(raw: string): string {
  const i = raw.indexOf('#');
  return (i >= 0 ? raw.slice(0, i) : raw).trim();
}

/** One name as an entry event, or the bad/ip event that replaces it. */
export function nameEvent(raw: string, line: number, flags: number): ParseEvent {
  const name = normalizeName(raw);
  if (name === null) return { type: 'bad', line, reason: 'not a domain name' };
  if (name === 'ip') return { type: 'ip', line };
  return { type: 'entry', line, name, flags };
}

export const tooLong = (line: number): ParseEvent => ({ type: 'bad', line, reason: 'line too long' });
