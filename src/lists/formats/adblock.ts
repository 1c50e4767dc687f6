// `adblock`: the DNS subset of Adblock Plus / AdGuard syntax. `||example.com^`
// blocks the name and its subdomains, `@@||example.com^` excepts them from this
// list's category, `||*.example.com^` covers subdomains only, a bare name is
// taken as `||name^`. `!` (and `#`) start comments, `[Adblock Plus …]` headers
// are skipped. Rules DNS cannot enforce (paths, regexes, cosmetic `##` rules,
// request options other than `$important`) are counted as unenforced.
import { nameEvent, tooLong } from './common.js';
import { BLOCK_SUB, BLOCK_TREE, EXCEPT_SUB, EXCEPT_TREE, MAX_LINE, type ParseEvent } from './types.js';

/** Options that do not narrow a rule below "the whole name". */
const HARMLESS_OPTIONS = new Set(['important', '']);

export function* parseAdblock(lines: Iterable<string>): Generator<ParseEvent, void, undefined> {
  let n = 0;
  for (const raw of lines) {
    n++;
    if (raw.length > MAX_LINE) {
      yield tooLong(n);
      continue;
    }
    const text = raw.trim();
    if (text === '' || text.startsWith('!') || text.startsWith('[')) continue;
    if (/#[@?$%]?#/.test(text)) {
      yield { type: 'unenforced', line: n, reason: 'cosmetic rule' };
      continue;
    }
    if (text.startsWith('#')) continue;
    yield rule(text, n);
  }
}

function rule(text: string, line: number): ParseEvent {
  const exception = text.startsWith('@@');
  let body = exception ? text.slice(2) : text;
  const dollar = body.indexOf('$');
  if (dollar >= 0) {
    const options = body.slice(dollar + 1).split(',');
    if (!options.every((o) => HARMLESS_OPTIONS.has(o.trim().toLowerCase()))) {
      return { type: 'unenforced', line, reason: 'rule option' };
    }
    body = body.slice(0, dollar);
  }
  if (body.startsWith('/') && body.endsWith('/') && body.length > 1) return { type: 'unenforced', line, reason: 'regular expression' };
  if (body.startsWith('||')) body = body.slice(2);
  else if (body.startsWith('|')) return { type: 'unenforced', line, reason: 'URL rule' };
  // `^` is the separator: only allowed at the end (optionally followed by `|`).
  body = body.replace(/\^\|?$/, '');
  if (/[/?=&:]/.test(body)) return { type: 'unenforced', line, reason: 'URL with a path' };
  if (/\s/.test(body)) return { type: 'bad', line, reason: 'more than one field' };
  let subOnly = false;
  if (body.startsWith('*.')) {
    subOnly = true;
    body = body.slice(2);
  }
  if (body.includes('*')) return { type: 'unenforced', line, reason: 'wildcard inside a name' };
  if (body.includes('^')) return { type: 'bad', line, reason: 'misplaced "^"' };
  const flags = exception ? (subOnly ? EXCEPT_SUB : EXCEPT_TREE) : subOnly ? BLOCK_SUB : BLOCK_TREE;
  return nameEvent(body, line, flags);
}
