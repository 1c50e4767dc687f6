// DNS over TCP (RFC 7766) or TLS (RFC 7858) to one upstream: one persistent
// connection, queries pipelined on it and matched by ID, reopened on demand
// and closed when idle.
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { buildQuery, matchesQuery, randomId, UpstreamError, type Pending, type Upstream } from './upstream.js';

const IDLE_CLOSE_MS = 10_000;

export interface TlsOptions {
  servername: string;
  caFile?: string;
}

export class StreamUpstream implements Upstream {
  private socket: net.Socket | undefined;
  private pending = new Map<number, Pending>();
  private buffered: Buffer = Buffer.alloc(0);
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly ca: Buffer | undefined;
  /** The last TLS session, so a reconnection resumes it and skips a round trip (the satellite's 600 ms). */
  private tlsSession: Buffer | undefined;
  /** Whether the current TLS connection resumed a session (for status and tests). */
  resumed = false;

  constructor(
    readonly url: string,
    private readonly host: string,
    private readonly port: number,
    private readonly tlsOptions?: TlsOptions,
    private readonly sourceAddress?: string,
  ) {
    this.ca = tlsOptions?.caFile ? readFileSync(tlsOptions.caFile) : undefined;
  }

  query(question: Buffer, dnssecOk: boolean, checkingDisabled: boolean, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new UpstreamError('GH_ERR_UPSTREAM_CLOSED', `${this.url} is closed`));
    const socket = this.connection();
    let id = randomId();
    while (this.pending.has(id)) id = randomId();
    const packet = buildQuery(id, question, dnssecOk, checkingDisabled);
    const framed = Buffer.allocUnsafe(packet.length + 2);
    framed.writeUInt16BE(packet.length, 0);
    packet.copy(framed, 2);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.scheduleIdleClose();
        reject(new UpstreamError('GH_ERR_UPSTREAM_TIMEOUT', `${this.url} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { question, resolve, reject, timer });
      socket.write(framed);
    });
  }

  close(): void {
    this.closed = true;
    this.dropConnection(new UpstreamError('GH_ERR_UPSTREAM_CLOSED', `${this.url} closed`));
  }

  /** Close the connection now (the next query opens a new one). */
  disconnect(): void {
    this.dropConnection();
  }

  private connection(): net.Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const base = { host: this.host, port: this.port, localAddress: this.sourceAddress };
    let socket: net.Socket;
    if (this.tlsOptions) {
      const secure = tls.connect({
        ...base,
        servername: this.tlsOptions.servername,
        ca: this.ca,
        rejectUnauthorized: true,
        session: this.tlsSession,
      });
      secure.on('session', (session: Buffer) => (this.tlsSession = session));
      secure.on('secureConnect', () => (this.resumed = secure.isSessionReused()));
      socket = secure;
    } else {
      socket = net.connect(base);
    }
    socket.setNoDelay(true);
    this.buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err?: Error) => {
      if (this.socket !== socket) return;
      this.dropConnection(new UpstreamError('GH_ERR_UPSTREAM_NETWORK', `${this.url}: ${err?.message ?? 'connection closed'}`));
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
    socket.unref();
    this.socket = socket;
    return socket;
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 2) {
      const length = this.buffered.readUInt16BE(0);
      if (this.buffered.length < 2 + length) break;
      const message = this.buffered.subarray(2, 2 + length);
      this.buffered = this.buffered.subarray(2 + length);
      if (message.length < 2) continue;
      const id = message.readUInt16BE(0);
      const p = this.pending.get(id);
      if (!p || !matchesQuery(message, id, p.question)) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.resolve(Buffer.from(message)); // copy: the stream buffer is reused
    }
    this.scheduleIdleClose();
  }

  private scheduleIdleClose(): void {
    if (this.pending.size > 0 || !this.socket) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.dropConnection(), IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  private dropConnection(err?: Error): void {
    const socket = this.socket;
    this.socket = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err ?? new UpstreamError('GH_ERR_UPSTREAM_CLOSED', `${this.url} closed`));
    }
    this.pending.clear();
    socket?.destroy();
  }
}
