// ISC dhcpd's lease database (dhcpd.leases): "lease ADDRESS { statement; … }"
// blocks, appended as leases change, so a later block for an address replaces
// an earlier one. Times are UTC ("starts 3 2024/01/10 10:00:00;") or, with
// db-time-format local, "epoch SECONDS; # comment"; "ends never;". Only
// "binding state active" is a lease in use. Strings are quoted with C-style
// escapes. Other top-level statements (server-duid, failover, host) are
// skipped. See dhcpd.leases(5).
import { cleanHostName, normaliseAddress, normaliseMac } from '../names.js';
import { type Lease, type LeaseEvent } from './types.js';

interface Token {
  text: string;
  /** A quoted string (text is its unescaped value). */
  quoted: boolean;
  line: number;
}

/** Longest statement we keep reading (a lease block has about a dozen). */
const MAX_TOKENS_PER_BLOCK = 512;

function* tokens(text: string): Generator<Token> {
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      yield { text: c, quoted: false, line };
      i++;
    } else if (c === '"') {
      const start = line;
      let value = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\n') line++;
        if (text[i] === '\\' && i + 1 < text.length) {
          const octal = /^[0-7]{3}/.exec(text.slice(i + 1, i + 4));
          if (octal) {
            value += String.fromCharCode(parseInt(octal[0], 8));
            i += 4;
            continue;
          }
          value += text[i + 1];
          i += 2;
          continue;
        }
        value += text[i++];
      }
      i++;
      yield { text: value, quoted: true, line: start };
    } else {
      const start = i;
      while (i < text.length && !/[\s{};#"]/.test(text[i])) i++;
      yield { text: text.slice(start, i), quoted: false, line };
    }
  }
}

export function* parseDhcpd(text: string): Generator<LeaseEvent> {
  const toks = [...tokens(text)];
  const word = (i: number, w: string) => i < toks.length && !toks[i].quoted && toks[i].text === w;
  let i = 0;
  while (i < toks.length) {
    const tok = toks[i];
    if (!word(i, 'lease')) {
      i = skipStatement(toks, i);
      continue;
    }
    // lease ADDRESS { statements }
    if (i + 2 >= toks.length || !word(i + 2, '{')) {
      yield { kind: 'bad', line: tok.line, reason: 'expected "lease ADDRESS {"' };
      i = skipStatement(toks, i + 1);
      continue;
    }
    const addr = toks[i + 1];
    const statements: Token[][] = [];
    let current: Token[] = [];
    let closed = false;
    let depth = 0;
    let j = i + 3;
    for (; j < toks.length && j - i < MAX_TOKENS_PER_BLOCK; j++) {
      const v = toks[j];
      // A block that never closed: the next "lease" at the start of a statement begins a new one.
      if (depth === 0 && current.length === 0 && word(j, 'lease')) break;
      if (word(j, '{')) depth++;
      else if (word(j, '}')) {
        if (depth === 0) {
          closed = true;
          j++;
          break;
        }
        depth--;
      } else if (word(j, ';')) {
        if (depth === 0) statements.push(current);
        current = [];
      } else if (depth === 0) current.push(v);
    }
    const tooLong = j - i >= MAX_TOKENS_PER_BLOCK;
    i = j;
    if (!closed) {
      yield { kind: 'bad', line: tok.line, reason: tooLong ? 'lease block too long' : 'lease block not closed' };
      continue;
    }
    const address = normaliseAddress(addr.text);
    if (addr.quoted || !address || address.includes(':')) {
      yield { kind: 'bad', line: tok.line, reason: 'not an IPv4 address' };
      continue;
    }
    yield* leaseOf(address, statements, tok.line);
  }
}

/** Index after the top-level statement or block starting at i (one we do not read). */
function skipStatement(toks: Token[], i: number): number {
  let depth = 0;
  for (; i < toks.length; i++) {
    const t = toks[i];
    if (t.quoted) continue;
    if (t.text === '{') depth++;
    else if (t.text === '}') {
      if (--depth <= 0) return i + 1;
    } else if (t.text === ';' && depth === 0) return i + 1;
  }
  return i;
}

function* leaseOf(address: string, statements: Token[][], line: number): Generator<LeaseEvent> {
  const lease: Lease = { address, endsAt: Infinity, active: false };
  let binding: string | undefined;
  for (const st of statements) {
    const words = st.map((t) => t.text);
    switch (words[0]) {
      case 'starts':
      case 'ends': {
        const at = parseTime(words.slice(1));
        if (at === null) {
          yield { kind: 'bad', line, reason: `unreadable "${words[0]}" time` };
          return;
        }
        if (words[0] === 'starts') lease.startedAt = at;
        else lease.endsAt = at;
        break;
      }
      case 'binding':
        if (words[1] === 'state') binding = words[2];
        break;
      case 'hardware':
        lease.mac = normaliseMac(words[2]);
        if (!lease.mac) yield { kind: 'warn', line, reason: 'hardware address is not a MAC address' };
        break;
      case 'client-hostname':
        lease.hostName = cleanHostName(words[1]);
        if (!lease.hostName) yield { kind: 'warn', line, reason: 'unusable host name' };
        break;
    }
  }
  lease.active = binding === 'active';
  yield { kind: 'lease', line, lease };
}

/** "W YYYY/MM/DD HH:MM:SS" (UTC), "epoch N", or "never" → ms (Infinity); null when unreadable. */
function parseTime(words: string[]): number | null {
  if (words[0] === 'never') return Infinity;
  if (words[0] === 'epoch' && /^\d+$/.test(words[1] ?? '')) return Number(words[1]) * 1000;
  const m = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(words[1] ?? '');
  const t = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(words[2] ?? '');
  if (!/^\d$/.test(words[0] ?? '') || !m || !t) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(t[1]), Number(t[2]), Number(t[3]));
  return Number.isNaN(ms) ? null : ms;
}
