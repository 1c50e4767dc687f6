// `domains` and `wildcard` lists (the same grammar): one name per line, `#`
// comments. A plain `example.com` covers the name and all its subdomains; a
// leading `*.example.com` covers the subdomains only, not example.com itself.
import { nameEvent, tooLong, withoutHashComment } from './common.js';
import { BLOCK_SUB, BLOCK_TREE, MAX_LINE, type ParseEvent } from './types.js';

export function* parseDomains(lines: Iterable<string>): Generator<ParseEvent, void, undefined> {
  let n = 0;
  for (const raw of lines) {
    n++;
    if (raw.length > MAX_LINE) {
      yield tooLong(n);
      continue;
    }
    const text = withoutHashComment(raw);
    if (text === '') continue;
    if (/\s/.test(text)) yield { type: 'bad', line: n, reason: 'more than one field' };
    else if (text.startsWith('*.')) yield nameEvent(text.slice(2), n, BLOCK_SUB);
    else if (text.includes('*')) yield { type: 'bad', line: n, reason: 'wildcard only allowed as a leading "*."' };
    else yield nameEvent(text, n, BLOCK_TREE);
  }
}
