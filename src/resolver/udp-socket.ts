// A UDP listening socket with the lightest receive and send path available.
//
// Three ways in, fastest first; `GATEHOUSE_UDP=batch|handle|dgram` forces one:
// - batch: the native addon (udp-batch.c) reads and writes up to 64 packets
//   per system call and calls JavaScript once per batch. Linux, when `npm
//   install` could build it.
// - handle: Node's dgram adds an event emission per packet on receive and a
//   DNS lookup (of an IP literal), a closure and a nextTick per packet on
//   send. Talking to the socket's libuv handle directly skips them. The
//   handle is internal to Node, so we check it is there.
// - dgram: the public API, on any platform and any Node.
// Measured here, bare echo servers do about 86k packets/s through dgram,
// about 99k/s through the handle and about 150k/s through the batch addon.
import dgram from 'node:dgram';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { batchAddon, listenUdpBatch } from './udp-batch.js';

/** Sends the answer to the packet it was given with. */
export type Reply = (answer: Buffer) => void;
export type PacketHandler = (packet: Buffer, address: string, port: number, reply: Reply) => void;
export type UdpMode = 'batch' | 'handle' | 'dgram';

export interface UdpListener {
  readonly mode: UdpMode;
  address(): AddressInfo;
  close(): Promise<void>;
}

interface UdpHandle {
  onmessage: (nread: number, handle: unknown, buf: Buffer, rinfo: { address: string; port: number }) => void;
  send(req: object, list: Buffer[], count: number, port: number, address: string, hasCallback: boolean): number;
}

type SendWrapClass = new () => object;

/** The mode asked for in GATEHOUSE_UDP, if any (an unknown value is an error, not a silent default). */
function requestedMode(): UdpMode | undefined {
  const asked = process.env.GATEHOUSE_UDP;
  if (asked === undefined || asked === '') return undefined;
  if (asked === 'batch' || asked === 'handle' || asked === 'dgram') return asked;
  throw new Error(`GATEHOUSE_UDP must be batch, handle or dgram, not ${JSON.stringify(asked)}`);
}

export async function listenUdp(host: string, port: number, handler: PacketHandler, onError: (err: unknown) => void): Promise<UdpListener> {
  const onPacket: PacketHandler = (packet, address, fromPort, reply) => {
    // Port 0 is spoofed: no answer can reach it (and dgram's send() throws on it).
    if (fromPort === 0) return;
    // A handler that throws loses its own packet, not the listener.
    try {
      handler(packet, address, fromPort, reply);
    } catch (err) {
      onError(err);
    }
  };
  const asked = requestedMode();
  if (asked === undefined || asked === 'batch') {
    const native = batchAddon();
    if (native) return listenUdpBatch(native, host, port, onPacket);
    if (asked === 'batch')
      throw new Error('GATEHOUSE_UDP=batch, but the native addon is not built (run npm install with a C compiler, on Linux)');
  }
  const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: host.includes(':') });
  socket.bind(port, host);
  await once(socket, 'listening'); // rejects with the bind error (EADDRINUSE, ...)
  socket.on('error', onError);
  // Busy resolvers need room for bursts in the kernel's queues.
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
    socket.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    /* limited by net.core.rmem_max: the default still works */
  }
  const close = () => closeSocket(socket);
  const address = () => socket.address();
  const inner = asked === 'dgram' ? undefined : internals(socket);
  if (inner) {
    const { handle, SendWrap } = inner;
    const original = handle.onmessage;
    handle.onmessage = (nread, h, buf, rinfo) => {
      if (nread < 0) return original.call(handle, nread, h, buf, rinfo); // errors go through Node's path
      const { address: from, port: fromPort } = rinfo;
      // A failed send (full socket buffer) loses the answer, as a lost packet would; the client retries.
      onPacket(buf, from, fromPort, (answer) => void handle.send(new SendWrap(), [answer], 1, fromPort, from, false));
    };
    return { mode: 'handle', address, close };
  }
  if (asked === 'handle') throw new Error('GATEHOUSE_UDP=handle, but this Node does not expose the socket handle');
  socket.on('message', (msg, { address: from, port: fromPort }) => {
    onPacket(msg, from, fromPort, (answer) => {
      try {
        socket.send(answer, fromPort, from);
      } catch (err) {
        onError(err);
      }
    });
  });
  return { mode: 'dgram', address, close };
}

function internals(socket: dgram.Socket): { handle: UdpHandle; SendWrap: SendWrapClass } | undefined {
  try {
    const stateSymbol = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
    const handle = stateSymbol && (socket as unknown as Record<symbol, { handle?: UdpHandle }>)[stateSymbol]?.handle;
    const binding = (process as unknown as { binding(name: string): { SendWrap?: SendWrapClass } }).binding('udp_wrap');
    if (!handle || typeof handle.send !== 'function' || typeof handle.onmessage !== 'function' || !binding.SendWrap) return undefined;
    return { handle, SendWrap: binding.SendWrap };
  } catch {
    return undefined;
  }
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
