// The erase worker: erases one person (erase.ts) on its own connection, so the
// admin UI's erasure (table rebuilds, free pages zeroed, the WAL truncated:
// seconds on a large file) never stalls DNS answers on the service's thread.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../store/db.js';
import { erasePerson, type EraseOptions } from './erase.js';
import { IdentityError } from './errors.js';
import { getPerson } from './person.js';

const { path, personId, options } = workerData as { path: string; personId: number; options: EraseOptions };

try {
  const db = openDatabase(path);
  try {
    const person = getPerson(db, personId);
    if (!person) throw new IdentityError('GH_ERR_IDENTITY_NOT_FOUND', `no person #${personId}`);
    parentPort!.postMessage({ ok: true, result: erasePerson(db, person, options) });
  } finally {
    db.close();
  }
} catch (err) {
  const e = err as { code?: string; message: string };
  parentPort!.postMessage({ ok: false, identity: err instanceof IdentityError, code: e.code, message: e.message });
}
