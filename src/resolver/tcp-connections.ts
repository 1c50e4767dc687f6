// The TCP connection slots of the DNS listeners (RFC 7766 §6.2.3).
//
// A connection is idle when it has no query in flight; its idle time counts
// from the last complete query it sent (or from when it opened), not from the
// last byte, so a client that trickles one byte a second cannot hold a slot
// past `tcpIdleTimeoutMs`. One client address may hold `tcpMaxPerClient`
// connections and all clients together `tcpMaxConnections`. When a new
// connection would pass either cap, the least recently active idle connection
// (that client's own first) is closed to make room, as RFC 7766 suggests; only
// when none is idle is the new connection turned away.
import type net from 'node:net';

export interface TcpLimits {
  idleTimeoutMs: number;
  maxConnections: number;
  maxPerClient: number;
}

export interface TcpStats {
  /** Connections closed to make room for a new one. */
  evicted: number;
  /** New connections turned away because every slot was busy. */
  rejected: number;
  /** Connections closed for being idle. */
  idleClosed: number;
}

/** One open connection, as the slots see it. */
export class TcpConnection {
  /** When the last complete query arrived (or the connection opened), performance.now() ms. */
  lastActive: number;
  /** Queries received and not yet answered. */
  pending = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: net.Socket,
    readonly address: string,
    private readonly slots: TcpConnections,
  ) {
    this.lastActive = performance.now();
  }

  /** A complete query arrived. */
  queryStarted(): void {
    this.pending++;
    this.lastActive = performance.now();
  }

  /** Its answer was written. */
  queryFinished(): void {
    this.pending--;
    this.lastActive = performance.now();
  }

  /** (Re)arm the idle timer. */
  arm(idleTimeoutMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.slots.checkIdle(this), idleTimeoutMs);
    this.timer.unref();
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** How long a gracefully closed connection may take to finish before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

export class TcpConnections {
  private readonly open = new Set<TcpConnection>();
  private readonly perClient = new Map<string, number>();
  constructor(
    private limits: TcpLimits,
    readonly stats: TcpStats = { evicted: 0, rejected: 0, idleClosed: 0 },
  ) {}

  setLimits(limits: TcpLimits): void {
    this.limits = limits;
  }

  get size(): number {
    return this.open.size;
  }

  all(): IterableIterator<TcpConnection> {
    return this.open.values();
  }

  /**
   * Take a slot for a new connection, closing an idle one to make room if
   * needed. Returns undefined (and the caller destroys the socket) when every
   * slot is busy with queries in flight.
   */
  admit(socket: net.Socket, address: string): TcpConnection | undefined {
    const { maxPerClient, maxConnections } = this.limits;
    if ((this.perClient.get(address) ?? 0) >= maxPerClient && !this.evictIdle(address)) {
      this.stats.rejected++;
      return undefined;
    }
    if (this.open.size >= maxConnections && !this.evictIdle(undefined)) {
      this.stats.rejected++;
      return undefined;
    }
    const conn = new TcpConnection(socket, address, this);
    this.open.add(conn);
    this.perClient.set(address, (this.perClient.get(address) ?? 0) + 1);
    conn.arm(this.limits.idleTimeoutMs);
    return conn;
  }

  /** The connection closed (either side): give its slot back. */
  release(conn: TcpConnection): void {
    if (!this.open.delete(conn)) return;
    conn.disarm();
    const n = (this.perClient.get(conn.address) ?? 1) - 1;
    if (n > 0) this.perClient.set(conn.address, n);
    else this.perClient.delete(conn.address);
  }

  /** Called by a connection's idle timer: close it if it has been idle long enough, else wait for the rest. */
  checkIdle(conn: TcpConnection): void {
    const { idleTimeoutMs } = this.limits;
    const idleFor = performance.now() - conn.lastActive;
    if (conn.pending > 0 || idleFor < idleTimeoutMs) {
      conn.arm(Math.max(10, idleTimeoutMs - (conn.pending > 0 ? 0 : idleFor)));
      return;
    }
    this.stats.idleClosed++;
    this.close(conn, true);
  }

  /** Close the least recently active idle connection (of `address` only, when given). */
  private evictIdle(address: string | undefined): boolean {
    let oldest: TcpConnection | undefined;
    // A linear scan, only when a cap is reached: no bookkeeping per query.
    for (const c of this.open) {
      if (c.pending > 0 || (address !== undefined && c.address !== address)) continue;
      if (oldest === undefined || c.lastActive < oldest.lastActive) oldest = c;
    }
    if (oldest === undefined) return false;
    this.stats.evicted++;
    this.close(oldest, false);
    return true;
  }

  /** Give the slot back at once; an idle close is graceful (FIN), an eviction is not. */
  private close(conn: TcpConnection, graceful: boolean): void {
    this.release(conn);
    if (!graceful) {
      conn.socket.destroy();
      return;
    }
    conn.socket.end();
    // A peer that never closes its side must not keep the socket alive.
    setTimeout(() => conn.socket.destroy(), CLOSE_GRACE_MS).unref();
  }
}
