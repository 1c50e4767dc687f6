// A UDP listening socket with the lightest receive and send path Node allows.
//
// Node's dgram adds an event emission per packet on receive and a DNS lookup
// (of an IP literal), a closure and a nextTick per packet on send. Measured
// here, a bare echo server does about 86k packets/s through dgram and about
// 99k/s when it talks to the socket's libuv handle directly, so when that
// handle is reachable we use it. The handle is internal to Node; if it is not
// there (a future Node), we fall back to the public API and lose only speed.
import dgram from 'node:dgram';
import { once } from 'node:events';

export type PacketHandler = (packet: Buffer, address: string, port: number) => void;

export interface UdpListener {
  readonly socket: dgram.Socket;
  readonly fast: boolean;
  send(packet: Buffer, address: string, port: number): void;
  close(): Promise<void>;
}

interface UdpHandle {
  onmessage: (nread: number, handle: unknown, buf: Buffer, rinfo: { address: string; port: number }) => void;
  send(req: object, list: Buffer[], count: number, port: number, address: string, hasCallback: boolean): number;
}

type SendWrapClass = new () => object;

function internals(socket: dgram.Socket): { handle: UdpHandle; SendWrap: SendWrapClass } | undefined {
  if (process.env.GATEHOUSE_PORTABLE_UDP === '1') return undefined;
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

export async function listenUdp(host: string, port: number, onPacket: PacketHandler): Promise<UdpListener> {
  const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: host.includes(':') });
  socket.bind(port, host);
  await once(socket, 'listening');
  // Busy resolvers need room for bursts in the kernel's queues.
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
    socket.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    /* limited by net.core.rmem_max: the default still works */
  }
  const inner = internals(socket);
  if (inner) {
    const { handle, SendWrap } = inner;
    const original = handle.onmessage;
    handle.onmessage = (nread, h, buf, rinfo) => {
      if (nread < 0) return original.call(handle, nread, h, buf, rinfo); // errors go through Node's path
      onPacket(buf, rinfo.address, rinfo.port);
    };
    return {
      socket,
      fast: true,
      // A failed send (full socket buffer) loses the answer, as a lost packet would; the client retries.
      send: (packet, address, p) => void handle.send(new SendWrap(), [packet], 1, p, address, false),
      close: () => closeSocket(socket),
    };
  }
  socket.on('message', (msg, rinfo) => onPacket(msg, rinfo.address, rinfo.port));
  return {
    socket,
    fast: false,
    send: (packet, address, p) => socket.send(packet, p, address),
    close: () => closeSocket(socket),
  };
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
