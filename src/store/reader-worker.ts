// The read-only side of the store in its own thread: searches and reports can
// take from milliseconds to seconds on a year of data, and must not hold the
// event loop that answers DNS. Requests are handled one at a time, in order.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './db.js';
import { readers, type ReaderControl, type ReaderRequest, type ReaderReply } from './reader-protocol.js';
import { setLiveIllegalTest } from './search.js';
import { illegalNameTest } from '../lists/illegal-names.js';
import { runInBackground } from '../util/background.js';

runInBackground();

const port = parentPort!;
const db = openDatabase((workerData as { path: string }).path, { readonly: true });

port.on('message', (msg: ReaderRequest | ReaderControl) => {
  if ('type' in msg) {
    if (msg.type === 'illegal') {
      setLiveIllegalTest(db, msg.data ? illegalNameTest(msg.data) : null);
      return;
    }
    db.close();
    port.close();
    return;
  }
  let reply: ReaderReply;
  try {
    const fn = readers[msg.fn] as (d: typeof db, arg: unknown) => unknown;
    reply = { id: msg.id, ok: true, value: fn(db, msg.arg) };
  } catch (err) {
    const e = err as Error & { code?: string };
    reply = { id: msg.id, ok: false, message: e.message, code: e.code };
  }
  port.postMessage(reply);
});
port.postMessage({ id: 0, ok: true, value: 'ready' } satisfies ReaderReply);
