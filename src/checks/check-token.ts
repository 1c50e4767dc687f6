// How the self-test's queries are told apart from people's lookups: on the
// wire, not by name. Each self-test query carries an EDNS option (RFC 6891
// §6.1.2) with a code from the range left for local and experimental use
// (65001-65534, RFC 6891 §9) whose data is a secret token; the service marks
// a query holding exactly that token as check traffic (resolver/observers.ts),
// and the query log keeps such queries apart (no rollups, top lists or
// histories) and the alerts leave them out.
//
// A name cannot be the test: a real site used as a test name would then be
// unalerted for every pupil. The token is in check-token.key beside the
// database (0600, the service user's), so the service and `gatehouse check`
// run as that user have it and a pupil does not: forging the option without
// the token marks nothing, and the lookups are logged and alerted as usual.
// The option is never forwarded upstream (only the question is) or echoed.
import { timingSafeEqual } from 'node:crypto';
import { keyFileBeside, loadKeyFile, readKeyFile } from '../util/key-file.js';
import { skipName, TYPE_OPT } from '../resolver/wire.js';

/** The EDNS option code of the check token (local/experimental range). */
export const CHECK_OPTION_CODE = 65_401;
export const CHECK_TOKEN_BYTES = 16;

export function checkTokenPath(storePath: string): string {
  return keyFileBeside(storePath, 'check-token.key');
}

/** The service's token, its file made at first start. */
export function loadCheckToken(storePath: string): Buffer {
  return loadKeyFile(checkTokenPath(storePath), CHECK_TOKEN_BYTES);
}

/** The token for another process (`gatehouse check`): throws when the file is missing or not readable. */
export function readCheckToken(storePath: string): Buffer {
  return readKeyFile(checkTokenPath(storePath), CHECK_TOKEN_BYTES);
}

/**
 * Whether the query's OPT record holds the check option with exactly `token`.
 * Walks the additional section after the question; the packet has already
 * been checked by parseQuery, so offsets stay inside it.
 */
export function hasCheckToken(wire: Buffer, questionEnd: number, token: Buffer): boolean {
  let pos = questionEnd;
  const count = wire.readUInt16BE(10);
  for (let i = 0; i < count; i++) {
    const nameEnd = skipName(wire, pos);
    if (nameEnd < 0 || nameEnd + 10 > wire.length) return false;
    const rdlen = wire.readUInt16BE(nameEnd + 8);
    const end = nameEnd + 10 + rdlen;
    if (end > wire.length) return false;
    if (wire.readUInt16BE(nameEnd) === TYPE_OPT) {
      for (let o = nameEnd + 10; o + 4 <= end;) {
        const code = wire.readUInt16BE(o);
        const len = wire.readUInt16BE(o + 2);
        if (o + 4 + len > end) return false;
        if (code === CHECK_OPTION_CODE) return len === token.length && timingSafeEqual(wire.subarray(o + 4, o + 4 + len), token);
        o += 4 + len;
      }
      return false;
    }
    pos = end;
  }
  return false;
}
