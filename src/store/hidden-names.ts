// Names in an illegal category (IWF, CTIRU) never reach the database: the
// query-log observer swaps each one for a keyed hash before the row leaves the
// main thread, so the file, its WAL and every backup hold at most
// "~illegal <HMAC>", never the name. The same name always gives the same hash,
// so repeats can still be counted (rollups, top lists), but without the key
// nobody can test a guess against the log, and the key lives in its own file
// beside the database (query-names.key, 0600), not in it or in a backup.
//
// The prefix holds a space, which no name from the wire can: wire.ts escapes
// every byte at or below 0x20 (as \032), so a hidden name never collides
// with a real one and is recognised by its first characters alone.
import { createHmac } from 'node:crypto';
import { keyFileBeside, loadKeyFile } from '../util/key-file.js';

export const HIDDEN_NAME_PREFIX = '~illegal ';
/** What every page, export and command shows in place of a hidden name. */
export const WITHHELD_NAME = '(withheld: illegal content)';
/** First name after every hidden one in text order (for range scans of the name index). */
export const HIDDEN_NAME_END = '~illegal!';
const KEY_BYTES = 32;
/** 128 bits of the HMAC-SHA256: collisions among a log's names are out of reach. */
const HASH_HEX = 32;

export function isHiddenName(name: string): boolean {
  return name.startsWith(HIDDEN_NAME_PREFIX);
}

/** The name as it may be shown. */
export function shownName(name: string): string {
  return isHiddenName(name) ? WITHHELD_NAME : name;
}

export function hiddenNamesKeyPath(storePath: string): string {
  return keyFileBeside(storePath, 'query-names.key');
}

export class NameHider {
  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`the name key must be ${KEY_BYTES} bytes`);
  }

  /** The stored form of an illegal-category name. Already hidden names are returned as they are. */
  hide(name: string): string {
    if (isHiddenName(name)) return name;
    return HIDDEN_NAME_PREFIX + createHmac('sha256', this.key).update(name, 'latin1').digest('hex').slice(0, HASH_HEX);
  }
}

/** The hider for the database at `storePath`, its key file made at first use. */
export function loadNameHider(storePath: string): NameHider {
  return new NameHider(loadKeyFile(hiddenNamesKeyPath(storePath), KEY_BYTES));
}
