// `rpz`: a Response Policy Zone file (RFC-draft "DNS RPZ", as BIND/Unbound
// read it). QNAME triggers only:
//   name CNAME .              block (NXDOMAIN), the name itself only
//   *.name CNAME .            block the subdomains of name
//   name CNAME *.             block (NODATA)
//   name CNAME rpz-drop.      block
//   name CNAME rpz-passthru.  exception: never blocked by this list
//   name CNAME other.target / A / AAAA   local data: a rewrite, counted as a block
// $ORIGIN and $TTL are honoured, owner names may be relative or absolute, a
// blank owner repeats the previous one, SOA/NS records are skipped, and
// parenthesised records may span lines. Trigger names are the owner name
// without the policy zone apex (the SOA owner, or the origin when there is no
// SOA). rpz-ip / rpz-nsdname / rpz-nsip / rpz-client-ip triggers and
// rpz-tcp-only are counted as unenforced.
import { normalizeName } from '../names.js';
import { BLOCK_APEX, BLOCK_SUB, EXCEPT_APEX, EXCEPT_SUB, MAX_LINE, type ParseEvent } from './types.js';
import { tooLong } from './common.js';

const TTL = /^\d+[smhdw]?$/i;
const CLASS = /^(IN|CH|HS|CS)$/i;
const NON_QNAME_TRIGGERS = /\.rpz-(ip|nsdname|nsip|client-ip)$/;
/** A parenthesised record longer than this many lines is broken. */
const MAX_RECORD_LINES = 50;

export function* parseRpz(lines: Iterable<string>): Generator<ParseEvent, void, undefined> {
  const zone = new ZoneState();
  let n = 0;
  let pending = '';
  let pendingLine = 0;
  for (const raw of lines) {
    n++;
    if (raw.length > MAX_LINE) {
      yield tooLong(n);
      continue;
    }
    const semi = raw.indexOf(';');
    const text = semi >= 0 ? raw.slice(0, semi) : raw;
    if (pendingLine > 0) {
      pending += ' ' + text;
      if (text.includes(')')) {
        const event = zone.record(pending, pendingLine);
        pendingLine = 0;
        if (event) yield event;
      } else if (n - pendingLine > MAX_RECORD_LINES) {
        yield { type: 'bad', line: pendingLine, reason: 'unclosed parenthesis' };
        pendingLine = 0;
      }
      continue;
    }
    if (text.trim() === '') continue;
    if (text.includes('(') && !text.includes(')')) {
      pending = text;
      pendingLine = n;
      continue;
    }
    const event = zone.record(text, n);
    if (event) yield event;
  }
  if (pendingLine > 0) yield { type: 'bad', line: pendingLine, reason: 'unclosed parenthesis' };
}

class ZoneState {
  /** Current $ORIGIN, without the trailing dot ("" is the root). */
  private origin = '';
  /** The policy zone apex; fixed by the first SOA, or the origin at the first record. */
  private apex: string | null = null;
  private lastOwner: string | null = null;

  record(text: string, line: number): ParseEvent | null {
    const ownerOmitted = /^\s/.test(text);
    const fields = text.replace(/[()]/g, ' ').trim().split(/\s+/);
    if (fields[0].startsWith('$')) return this.directive(fields, line);
    let owner: string | null;
    if (ownerOmitted) owner = this.lastOwner;
    else owner = this.absolute(fields.shift()!);
    if (owner === null) return { type: 'bad', line, reason: 'no owner name' };
    this.lastOwner = owner;
    for (let i = 0; i < 2 && fields.length > 0 && (TTL.test(fields[0]) || CLASS.test(fields[0])); i++) fields.shift();
    const type = (fields[0] ?? '').toUpperCase();
    if (type === '') return { type: 'bad', line, reason: 'no record type' };
    if (type === 'SOA') {
      if (this.apex === null) this.apex = owner;
      return null;
    }
    if (type === 'NS') return null;
    if (this.apex === null) this.apex = this.origin;
    let trigger: string;
    if (this.apex === '') trigger = owner;
    else if (owner === this.apex) return null;
    else if (owner.toLowerCase().endsWith('.' + this.apex.toLowerCase())) trigger = owner.slice(0, -(this.apex.length + 1));
    else return { type: 'bad', line, reason: 'owner name outside the policy zone' };
    if (NON_QNAME_TRIGGERS.test(trigger.toLowerCase())) return { type: 'unenforced', line, reason: 'non-QNAME trigger' };
    const action = this.action(type, fields[1], line);
    if (action === 'unenforced') return { type: 'unenforced', line, reason: 'policy action' };
    if (action === null) return { type: 'bad', line, reason: 'unsupported record' };
    const subOnly = trigger.startsWith('*.');
    const name = normalizeName(subOnly ? trigger.slice(2) : trigger);
    if (name === null) return { type: 'bad', line, reason: 'not a domain name' };
    if (name === 'ip') return { type: 'ip', line };
    const flags = action === 'block' ? (subOnly ? BLOCK_SUB : BLOCK_APEX) : subOnly ? EXCEPT_SUB : EXCEPT_APEX;
    return { type: 'entry', line, name, flags };
  }

  private action(type: string, target: string | undefined, _line: number): 'block' | 'pass' | 'unenforced' | null {
    if (type === 'A' || type === 'AAAA') return target ? 'block' : null;
    if (type !== 'CNAME') return 'unenforced';
    if (!target) return null;
    switch (target.toLowerCase()) {
      case 'rpz-passthru.':
        return 'pass';
      case 'rpz-tcp-only.':
        return 'unenforced';
      default:
        // ".", "*.", "rpz-drop." and local-data rewrites all keep the client off the name.
        return 'block';
    }
  }

  private directive(fields: string[], line: number): ParseEvent | null {
    const name = fields[0].toUpperCase();
    if (name === '$TTL') return null;
    if (name === '$ORIGIN' && fields[1]) {
      this.origin = this.absolute(fields[1]);
      return null;
    }
    if (name === '$INCLUDE') return { type: 'unenforced', line, reason: '$INCLUDE is not followed' };
    return { type: 'bad', line, reason: 'unknown directive' };
  }

  /** An owner or origin made absolute, without its trailing dot. */
  private absolute(name: string): string {
    if (name === '@') return this.origin;
    if (name.endsWith('.')) return name.slice(0, -1);
    return this.origin === '' ? name : `${name}.${this.origin}`;
  }
}
