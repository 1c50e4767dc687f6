// `hosts`: `0.0.0.0 name [name…]` or `127.0.0.1 name`, `#` comments. Names the
// file maps for the machine itself (localhost and friends) are ignored. A line
// holding a bare name is taken as that name, as many "hosts" lists mix them in.
// An entry covers the name and its subdomains (the project-wide rule for lists).
import { isIPv4, isIPv6, LOCAL_HOST_NAMES } from '../names.js';
import { nameEvent, tooLong, withoutHashComment } from './common.js';
import { BLOCK_TREE, MAX_LINE, type ParseEvent } from './types.js';

export function* parseHosts(lines: Iterable<string>): Generator<ParseEvent, void, undefined> {
  let n = 0;
  for (const raw of lines) {
    n++;
    if (raw.length > MAX_LINE) {
      yield tooLong(n);
      continue;
    }
    const text = withoutHashComment(raw);
    if (text === '') continue;
    const fields = text.split(/\s+/);
    if (fields.length === 1) {
      if (!LOCAL_HOST_NAMES.has(fields[0].toLowerCase())) yield nameEvent(fields[0], n, BLOCK_TREE);
      continue;
    }
    if (!isIPv4(fields[0]) && !isIPv6(fields[0])) {
      yield { type: 'bad', line: n, reason: 'expected an address before the names' };
      continue;
    }
    for (let i = 1; i < fields.length; i++) {
      if (LOCAL_HOST_NAMES.has(fields[i].toLowerCase())) continue;
      yield nameEvent(fields[i], n, BLOCK_TREE);
    }
  }
}
