// The batched UDP listener: JavaScript's half of udp-batch.c (read that
// file's header for the shared-buffer contract).
//
// Each batch arrives as one call. Every packet is copied out of the shared
// buffer before it is handled, because an answer that is not ready at once (a
// cache miss) keeps its query for later and the next batch reuses the slot.
// An answer given while its batch is still open is written into the packet's
// own slot and leaves with the rest of the batch in one sendmmsg(2); a later
// one goes out alone.
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { PacketHandler, UdpListener } from './udp-socket.js';

interface BatchAddon {
  listen(host: string, port: number, onBatch: (count: number) => void): [handle: object, shared: Buffer, boundPort: number];
  send(handle: object, packet: Buffer, host: string, port: number): boolean;
  close(handle: object): void;
  readonly BATCH: number;
  readonly SLOT: number;
  readonly META: number;
}

// Meta record fields (uint32 each), as written by udp-batch.c.
const LENGTH = 0;
const PORT = 1;
const FAMILY = 2;
const ADDRESS = 3;
const ANSWER_LENGTH = 7;
const SCOPE = 8;

const ADDRESS_CACHE_LIMIT = 65_536;

let addon: BatchAddon | null | undefined;

/** The built addon, or undefined when it was not built or cannot load here. */
export function batchAddon(): BatchAddon | undefined {
  if (addon === undefined) {
    addon = null;
    if (process.platform === 'linux') {
      try {
        // build/ sits at the package root, two levels above both src/resolver and dist/resolver.
        addon = createRequire(import.meta.url)('../../build/Release/udp_batch.node') as BatchAddon;
      } catch {
        addon = null;
      }
    }
  }
  return addon ?? undefined;
}

export function listenUdpBatch(native: BatchAddon, host: string, port: number, onPacket: PacketHandler): UdpListener {
  const { SLOT, META, BATCH } = native;
  let batch = 0; // odd while a batch is being handled
  let closed = false;
  // Client addresses as text, by their raw bytes: a school has a few thousand
  // clients, so formatting each address once saves a string per query.
  const names = new Map<number | string, string>();

  const [handle, shared, boundPort] = native.listen(host, port, (count) => {
    batch++;
    try {
      readBatch(count);
    } finally {
      batch++; // closes the batch: later answers go out alone
    }
  });
  const meta = new Uint32Array(shared.buffer, shared.byteOffset + BATCH * SLOT, BATCH * META);
  const metaBytes = new Uint8Array(shared.buffer, shared.byteOffset + BATCH * SLOT, BATCH * META * 4);
  // The slots as a plain byte array: TypedArray set() copies without Buffer.copy's trip into C++ (about 0.2 µs a packet each way).
  const slots = new Uint8Array(shared.buffer, shared.byteOffset, BATCH * SLOT);

  function readBatch(count: number): void {
    for (let i = 0; i < count && !closed; i++) {
      const m = i * META;
      const length = meta[m + LENGTH];
      if (length === 0) continue; // too long for a slot: no real query is
      const start = i * SLOT;
      const packet = Buffer.allocUnsafe(length);
      packet.set(slots.subarray(start, start + length));
      const address = addressAt(m);
      const clientPort = meta[m + PORT];
      const open = batch;
      onPacket(packet, address, clientPort, (answer) => {
        if (batch === open && answer.length <= SLOT) {
          slots.set(answer, start);
          meta[m + ANSWER_LENGTH] = answer.length;
        } else if (!closed) {
          // A refused send (full socket buffer) loses the answer, as a lost packet would; the client retries.
          native.send(handle, answer, address, clientPort);
        }
      });
    }
  }

  function addressAt(m: number): string {
    const v6 = meta[m + FAMILY] === 6;
    // A link-local IPv6 client keeps its interface as a numeric zone ("fe80::1%2"), so a late answer goes out on the right link.
    const key = v6
      ? `${meta[m + ADDRESS]},${meta[m + ADDRESS + 1]},${meta[m + ADDRESS + 2]},${meta[m + ADDRESS + 3]}%${meta[m + SCOPE]}`
      : meta[m + ADDRESS];
    let name = names.get(key);
    if (name === undefined) {
      const at = (m + ADDRESS) * 4;
      name = ipaddr.fromByteArray(Array.from(metaBytes.subarray(at, at + (v6 ? 16 : 4)))).toString();
      if (v6 && meta[m + SCOPE] !== 0) name += `%${meta[m + SCOPE]}`;
      if (names.size >= ADDRESS_CACHE_LIMIT) names.clear();
      names.set(key, name);
    }
    return name;
  }

  const info: AddressInfo = { address: host, family: host.includes(':') ? 'IPv6' : 'IPv4', port: boundPort };
  return {
    mode: 'batch',
    address: () => info,
    close: async () => {
      if (closed) return;
      closed = true;
      native.close(handle);
    },
  };
}
