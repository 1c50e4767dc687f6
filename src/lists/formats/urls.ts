// `urls`: one URL per line, usually without a scheme (`host/path`, UT1 style).
// A line naming a whole host (`host` or `host/`) blocks the host and its
// subdomains. A line with a path cannot be enforced by DNS without blocking the
// whole host, so it is counted as unenforced instead. IP hosts are counted and
// skipped: no DNS name to match.
import { isIPv4 } from '../names.js';
import { nameEvent, tooLong } from './common.js';
import { BLOCK_TREE, MAX_LINE, type ParseEvent } from './types.js';

export function* parseUrls(lines: Iterable<string>): Generator<ParseEvent, void, undefined> {
  let n = 0;
  for (const raw of lines) {
    n++;
    if (raw.length > MAX_LINE) {
      yield tooLong(n);
      continue;
    }
    let text = raw.trim();
    if (text === '' || text.startsWith('#')) continue;
    if (/\s/.test(text)) {
      yield { type: 'bad', line: n, reason: 'more than one field' };
      continue;
    }
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text);
    if (scheme) text = text.slice(scheme[0].length);
    const end = text.search(/[/?#]/);
    let host = end >= 0 ? text.slice(0, end) : text;
    const rest = end >= 0 ? text.slice(end) : '';
    const at = host.lastIndexOf('@');
    if (at >= 0) host = host.slice(at + 1);
    if (host.startsWith('[')) {
      yield { type: 'ip', line: n };
      continue;
    }
    host = host.replace(/:\d+$/, '');
    if (isIPv4(host)) yield { type: 'ip', line: n };
    else if (rest !== '' && rest !== '/') {
      // Still a bad line when the host itself is not a name.
      const check = nameEvent(host, n, BLOCK_TREE);
      yield check.type === 'entry' ? { type: 'unenforced', line: n, reason: 'URL with a path' } : check;
    } else yield nameEvent(host, n, BLOCK_TREE);
  }
}
