// Secret keys that live in their own files beside the database, never in it: a
// copy of the database (a backup, a disk image of the file alone) then holds
// nothing that opens, forges or reverses what the keys protect. Used for the
// TOTP sealing key (admin/secret-box.ts), the key that hides illegal names in
// the query log (store/hidden-names.ts) and the self-test's traffic token
// (checks/check-token.ts).
//
// A key file is made at first use, readable by the service user only (0600),
// and never replaced: a damaged file is an error for a person to look at.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** `name` in the directory that holds the database file. */
export function keyFileBeside(storePath: string, name: string): string {
  return join(dirname(storePath), name);
}

/** The key (`bytes` long) from its file, made with mode 0600 when there is none. */
export function loadKeyFile(file: string, bytes: number): Buffer {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    // 'wx': never overwrite a key another process just made.
    try {
      writeFileSync(file, randomBytes(bytes).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readKeyFile(file, bytes);
}

/** The key from an existing file (a second process, e.g. `gatehouse check`); throws when it is missing, unreadable or damaged. */
export function readKeyFile(file: string, bytes: number): Buffer {
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  if (key.length !== bytes) throw new Error(`${file} is not a Gatehouse secret key (expected ${bytes * 2} hex digits)`);
  try {
    chmodSync(file, 0o600);
  } catch {
    // Not the owner (a reader such as `gatehouse check`): the owner's start fixes the mode.
  }
  return key;
}
