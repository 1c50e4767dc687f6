// The TLS side shared by the DoH and DoT servers: TCP listeners, connection
// slots, and the TLS handshake on each accepted socket.
//
// A connection takes its slot (tcp-connections.ts) when it is accepted, before
// the handshake, so a flood of connections that never finish one (a slow
// handshake, a half-open socket) competes for the same slots as real clients:
// past a cap the least recently active idle connection goes first, and one
// address can hold only `maxPerClient`. A handshake that does not finish in
// `handshakeTimeoutMs` is dropped. Each socket gets the certificate in use
// when it arrives, so a reload (SIGHUP) applies to the next connection and
// never cuts one that is open.
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import type { Logger } from '../log.js';
import { TcpConnections, type TcpConnection, type TcpLimits, type TcpStats } from './tcp-connections.js';
import { splitHostPort } from './server.js';

export interface TlsFrontOptions {
  /** `doh` or `dot`, for the service log. */
  name: string;
  listen: string[];
  alpn: string[];
  limits: TcpLimits;
  handshakeTimeoutMs: number;
  /** The certificate in use (tls-certs.ts). */
  context: () => tls.SecureContext;
  logger: Logger;
  /** A connection finished its handshake: serve it. Its slot is released when the socket closes. */
  onSecure(socket: tls.TLSSocket, conn: TcpConnection): void;
}

export interface TlsFrontStats extends TcpStats {
  /** Handshakes that failed (bad client, wrong protocol) or did not finish in time. */
  handshakeFailed: number;
  handshakeTimedOut: number;
  open: number;
}

export class TlsFront {
  private readonly servers = new Map<string, net.Server>();
  private readonly slots: TcpConnections;
  readonly stats: TlsFrontStats = { evicted: 0, rejected: 0, idleClosed: 0, handshakeFailed: 0, handshakeTimedOut: 0, open: 0 };
  private closing = false;

  constructor(private options: TlsFrontOptions) {
    this.slots = new TcpConnections(options.limits, this.stats);
  }

  setLimits(limits: TcpLimits, handshakeTimeoutMs: number): void {
    this.options = { ...this.options, limits, handshakeTimeoutMs };
    this.slots.setLimits(limits);
  }

  async start(): Promise<void> {
    for (const address of this.options.listen) await this.listenOn(address);
  }

  /** Open listeners for new addresses and close removed ones (SIGHUP). */
  async relisten(listen: string[]): Promise<void> {
    this.options = { ...this.options, listen };
    for (const address of listen) if (!this.servers.has(address)) await this.listenOn(address);
    for (const [address, server] of this.servers) {
      if (listen.includes(address)) continue;
      this.servers.delete(address);
      server.close();
    }
  }

  addresses(): net.AddressInfo[] {
    return [...this.servers.values()].map((s) => s.address() as net.AddressInfo);
  }

  /** Open connections (for draining and tests). */
  connections(): IterableIterator<TcpConnection> {
    return this.slots.all();
  }

  /** Stop accepting; `destroy` ends the open connections too. */
  async stop(): Promise<void> {
    this.closing = true;
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
    for (const c of [...this.slots.all()]) c.socket.destroy();
  }

  private async listenOn(address: string): Promise<void> {
    const { host, port } = splitHostPort(address);
    const server = net.createServer({ noDelay: true }, (raw) => this.onConnection(raw));
    server.listen({ host, port, ipv6Only: host.includes(':') });
    await once(server, 'listening');
    server.on('error', (err) => this.options.logger.error({ err, address }, `${this.options.name} listener error`));
    this.servers.set(address, server);
    const bound = server.address() as net.AddressInfo;
    this.options.logger.info({ address: `${host}:${bound.port}` }, `${this.options.name.toUpperCase()} listening`);
  }

  private onConnection(raw: net.Socket): void {
    if (this.closing) return void raw.destroy();
    const conn = this.slots.admit(raw, raw.remoteAddress ?? '');
    if (conn === undefined) return void raw.destroy();
    this.stats.open = this.slots.size;
    raw.on('close', () => {
      this.slots.release(conn);
      this.stats.open = this.slots.size;
    });
    raw.on('error', () => undefined);
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: this.options.context(), ALPNProtocols: this.options.alpn });
    const timer = setTimeout(() => {
      this.stats.handshakeTimedOut++;
      raw.destroy();
    }, this.options.handshakeTimeoutMs);
    timer.unref();
    let secured = false;
    socket.once('secure', () => {
      secured = true;
      clearTimeout(timer);
      // What tls.Server does on a finished handshake (onServerSocketSecure): the
      // HTTP/2 session waits for this flag to clear before it reads the socket.
      (socket as unknown as { secureConnecting: boolean }).secureConnecting = false;
      this.options.onSecure(socket, conn);
    });
    socket.on('error', () => {
      // A client that gives up or speaks something else: nothing to answer, nobody to tell.
      if (!secured) this.stats.handshakeFailed++;
      clearTimeout(timer);
      raw.destroy();
    });
  }
}
