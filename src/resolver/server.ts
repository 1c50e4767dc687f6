// The DNS listeners: UDP and TCP (RFC 7766) on every `dns.listen` address.
// A packet is decoded (header and question only), handed to the chain, and
// the answer finished: the client's ID and letter case (the one place they
// are written), then TC when it does not fit the client's UDP buffer. Nothing here waits on a database, a disk or an alert channel:
// observers (query log, alerts) are called after the answer has been sent.
import net from 'node:net';
import { once } from 'node:events';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Answer, Group, Next, Query } from './types.js';
import {
  errorResponse,
  finishResponse,
  parseFailureResponse,
  parseQuery,
  RCODE,
  truncate,
  EDE,
  TYPE_AXFR,
  TYPE_IXFR,
  type Ede,
} from './wire.js';
import { listenUdp, type Reply, type UdpListener, type UdpMode } from './udp-socket.js';
import { TcpConnections, type TcpConnection, type TcpStats } from './tcp-connections.js';
import { serveFramed } from './framing.js';
import type { ClientIdentity } from '../identity/types.js';
import { ADMIT, NOT_ALLOWED, type Admission, type Verdict } from './admission.js';

export interface QueryObserver {
  onAnswer(q: Query, answer: Answer, latencyUs: number): void;
}

export interface ServerOptions {
  listen: string[];
  udpSize: number;
  tcpIdleTimeoutMs: number;
  tcpMaxConnections: number;
  tcpMaxPerClient: number;
  drainTimeoutMs: number;
  logger: Logger;
}

/** The server's options from a config's `dns` section. */
export function serverOptions(config: Config, logger: Logger): ServerOptions {
  const { listen, udpSize, tcpIdleTimeoutMs, tcpMaxConnections, tcpMaxPerClient, drainTimeoutMs } = config.dns;
  return { listen, udpSize, tcpIdleTimeoutMs, tcpMaxConnections, tcpMaxPerClient, drainTimeoutMs, logger };
}

export interface ServerStats {
  queries: number;
  udp: number;
  tcp: number;
  /** DoH and DoT queries admitted to the chain (those turned away from outside are admission's remoteRefused). */
  doh: number;
  dot: number;
  formerr: number;
  notimp: number;
  dropped: number;
  truncated: number;
  servfail: number;
  inflight: number;
  tcpConnections: number;
  /** TCP connections closed to make room, turned away with every slot busy, closed for being idle. */
  tcpSlots: TcpStats;
}

/** Extended DNS Error "Prohibited" (RFC 8914 §4.19) for the sources turned away, encoded once each (wire.ts edeOption). */
const NOT_ALLOWED_EDE: Ede = { code: EDE.PROHIBITED, text: 'not an allowed network' };
const RATE_LIMITED_EDE: Ede = { code: EDE.PROHIBITED, text: 'rate limited' };

export class DnsServer {
  /** Listeners by `dns.listen` address, in the order they were opened. */
  private listeners = new Map<string, { udp: UdpListener; tcp: net.Server }>();
  /** Open TCP connections and their slots (per client and in all). */
  private readonly connections: TcpConnections;
  private draining = false;
  private observers: QueryObserver[] = [];
  private placeholderGroup: Group = { index: -1, name: '', unfiltered: false };
  readonly stats: ServerStats = {
    queries: 0,
    udp: 0,
    tcp: 0,
    doh: 0,
    dot: 0,
    formerr: 0,
    notimp: 0,
    dropped: 0,
    truncated: 0,
    servfail: 0,
    inflight: 0,
    tcpConnections: 0,
    tcpSlots: { evicted: 0, rejected: 0, idleClosed: 0 },
  };
  /** Who may ask and how fast (admission.ts); none: everyone, unlimited. */
  private admission: Pick<Admission, 'check'> | undefined;

  constructor(
    private options: ServerOptions,
    private chain: Next,
  ) {
    this.connections = new TcpConnections(tcpLimits(options), this.stats.tcpSlots);
  }

  /** SIGTERM: no new queries are taken. */
  get isDraining(): boolean {
    return this.draining;
  }

  setAdmission(admission: Pick<Admission, 'check'>): void {
    this.admission = admission;
  }

  /** Replace the chain (SIGHUP): queries already in it finish on the old one. */
  setChain(chain: Next): void {
    this.chain = chain;
  }

  /** New `dns` settings (SIGHUP): TCP limits apply at once; `listen` when `relisten` is called. */
  configure(config: Config): void {
    this.options = serverOptions(config, this.options.logger);
    this.connections.setLimits(tcpLimits(this.options));
  }

  addObserver(observer: QueryObserver): void {
    this.observers = [...this.observers, observer];
  }

  async start(): Promise<void> {
    for (const address of this.options.listen) await this.listenOn(address);
  }

  /** Open listeners for addresses added to `dns.listen`, close removed ones (SIGHUP). */
  async relisten(listen: string[]): Promise<void> {
    for (const address of listen) if (!this.listeners.has(address)) await this.listenOn(address);
    for (const [address, l] of this.listeners) {
      if (listen.includes(address)) continue;
      this.listeners.delete(address);
      l.tcp.close();
      await l.udp.close();
      this.options.logger.info({ address }, 'DNS listener closed');
    }
  }

  /** The bound addresses, in `dns.listen` order (tests listen on port 0). */
  addresses(): { udp: net.AddressInfo[]; tcp: net.AddressInfo[] } {
    const all = [...this.listeners.values()];
    return { udp: all.map((l) => l.udp.address()), tcp: all.map((l) => l.tcp.address() as net.AddressInfo) };
  }

  /** How each UDP listener reads and writes packets (see udp-socket.ts), in `dns.listen` order. */
  udpModes(): UdpMode[] {
    return [...this.listeners.values()].map((l) => l.udp.mode);
  }

  /** Stop taking queries, let those in flight finish (up to drainTimeoutMs), then close. */
  async stop(): Promise<void> {
    this.draining = true;
    for (const l of this.listeners.values()) l.tcp.close();
    const deadline = Date.now() + this.options.drainTimeoutMs;
    while (this.stats.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const conn of [...this.connections.all()]) conn.socket.destroy();
    await Promise.all([...this.listeners.values()].map((l) => l.udp.close()));
    this.listeners.clear();
  }

  private async listenOn(address: string): Promise<void> {
    const { host, port } = splitHostPort(address);
    for (let attempt = 1; ; attempt++) {
      const udp = await listenUdp(
        host,
        port,
        (packet, from, fromPort, reply) => this.onUdp(packet, from, fromPort, reply),
        (err) => this.options.logger.error({ err, address }, 'UDP socket error'),
      );
      // The TCP listener takes the UDP listener's port, so port 0 gives one port for both.
      const tcpPort = port === 0 ? udp.address().port : port;
      // No server.maxConnections: the slots (tcp-connections.ts) close an idle connection to make room instead.
      const server = net.createServer({ noDelay: true }, (socket) => this.onTcpConnection(socket));
      try {
        server.listen({ host, port: tcpPort, ipv6Only: host.includes(':') });
        await once(server, 'listening');
      } catch (err) {
        await udp.close();
        // With port 0 the number the kernel gave UDP may be held for TCP by another socket: try another.
        if (port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
        throw err;
      }
      server.on('error', (err) => this.options.logger.error({ err, address }, 'TCP listener error'));
      this.listeners.set(address, { udp, tcp: server });
      this.options.logger.info({ udp: `${host}:${udp.address().port}`, udpMode: udp.mode }, 'DNS listening on UDP and TCP');
      return;
    }
  }

  private onUdp(packet: Buffer, address: string, port: number, reply: Reply): void {
    if (this.draining) return;
    this.stats.udp++;
    this.handle(packet, address, port, 'udp', reply);
  }

  private onTcpConnection(socket: net.Socket): void {
    if (this.draining) return void socket.destroy();
    const conn: TcpConnection | undefined = this.connections.admit(socket, socket.remoteAddress ?? '');
    if (conn === undefined) return void socket.destroy();
    this.stats.tcpConnections = this.connections.size;
    const address = conn.address;
    serveFramed(
      socket,
      conn,
      (message, reply) => {
        this.stats.tcp++;
        return this.handle(message, address, socket.remotePort ?? 0, 'tcp', reply);
      },
      () => {
        this.connections.release(conn);
        this.stats.tcpConnections = this.connections.size;
      },
    );
  }

  /** Answer one UDP or TCP message; false when it is dropped without an answer. */
  private handle(packet: Buffer, address: string, port: number, transport: 'udp' | 'tcp', reply: Reply): boolean {
    const receivedAt = performance.now();
    // Before anything is decoded: a source that may not ask, or asks too fast, costs next to nothing.
    if (this.admission !== undefined) {
      const verdict = this.admission.check(address, transport === 'udp', receivedAt);
      if (verdict !== ADMIT) return this.turnAway(packet, verdict, transport, reply);
    }
    return this.resolve(packet, address, port, transport, reply, receivedAt, undefined, false);
  }

  /**
   * Answer one DNS message that arrived over DoH or DoT (doh.ts, dot.ts),
   * which have admitted it already: by source address inside the school's
   * networks, by the identity its request carries from outside them
   * (admission.ts checkEncrypted). `identity` is what that identifier says
   * (the identify link then uses it instead of the address's); `remote`
   * marks a request from outside the school's networks.
   */
  answer(
    packet: Buffer,
    address: string,
    port: number,
    transport: 'doh' | 'dot',
    reply: Reply,
    identity: ClientIdentity | undefined,
    remote: boolean,
  ): boolean {
    if (this.draining) return false;
    this.stats[transport]++;
    return this.resolve(packet, address, port, transport, reply, performance.now(), identity, remote);
  }

  /** Decode, run the chain, finish: the one path every transport's queries take. */
  private resolve(
    packet: Buffer,
    address: string,
    port: number,
    transport: Query['transport'],
    reply: Reply,
    receivedAt: number,
    identity: ClientIdentity | undefined,
    remote: boolean,
  ): boolean {
    const parsed = parseQuery(packet);
    if (typeof parsed === 'string') {
      if (parsed === 'drop') {
        this.stats.dropped++;
        return false;
      }
      if (parsed === 'notimp') this.stats.notimp++;
      else this.stats.formerr++;
      reply(parseFailureResponse(packet, parsed, this.options.udpSize));
      return true;
    }
    this.stats.queries++;
    const q: Query = {
      id: parsed.id,
      name: parsed.name,
      type: parsed.type,
      klass: parsed.klass,
      questionEnd: parsed.questionEnd,
      edns: parsed.edns,
      udpSize: parsed.udpSize,
      dnssecOk: parsed.dnssecOk,
      checkingDisabled: parsed.checkingDisabled,
      recursionDesired: parsed.recursionDesired,
      transport,
      client: { address, port, group: this.placeholderGroup, identity, remote },
      wire: packet,
      receivedAt,
    };
    if (q.klass !== 1 || q.type === TYPE_AXFR || q.type === TYPE_IXFR) {
      // Only the Internet class is resolved; zone transfers are not ours to give.
      this.finish(q, this.refuse(q), reply);
      return true;
    }
    this.stats.inflight++;
    let result: Answer | Promise<Answer>;
    try {
      result = this.chain(q);
    } catch (err) {
      result = this.internalError(q, err);
    }
    if (result instanceof Promise) {
      result.then(
        (answer) => this.done(q, answer, reply),
        (err) => this.done(q, this.internalError(q, err), reply),
      );
    } else {
      this.done(q, result, reply);
    }
    return true;
  }

  /**
   * A source outside dns.allowNetworks gets REFUSED; one over its rate limit
   * gets an empty TC=1 answer over UDP (retry over TCP) and REFUSED over TCP
   * (see admission.ts for why), as do DoT queries (dot.ts). Neither reaches the
   * chain or the query log: admission.ts counts them and reports the excess
   * once a period.
   */
  turnAway(packet: Buffer, verdict: Verdict, transport: Query['transport'], reply: Reply): boolean {
    const parsed = parseQuery(packet);
    if (typeof parsed === 'string') return false; // not worth an answer
    const refused = verdict === NOT_ALLOWED || transport !== 'udp';
    const out = errorResponse(packet, refused ? RCODE.REFUSED : RCODE.NOERROR, {
      questionEnd: parsed.questionEnd,
      edns: parsed.edns,
      udpSize: this.options.udpSize,
      dnssecOk: parsed.dnssecOk,
      ede: parsed.edns && refused ? (verdict === NOT_ALLOWED ? NOT_ALLOWED_EDE : RATE_LIMITED_EDE) : undefined,
    });
    if (!refused) out[2] |= 0x02; // TC
    reply(out);
    return true;
  }

  private done(q: Query, answer: Answer, reply: (answer: Buffer) => void): void {
    this.stats.inflight--;
    this.finish(q, answer, reply);
  }

  /** The one last step of every answer: the client's ID and letter case (wire.ts), then the fit to UDP. */
  private finish(q: Query, answer: Answer, reply: (answer: Buffer) => void): void {
    let wire = answer.wire;
    finishResponse(wire, q);
    if (q.transport === 'udp') {
      const limit = q.edns ? Math.min(q.udpSize, this.options.udpSize) : 512;
      if (wire.length > limit) {
        wire = truncate(wire, q.questionEnd, q.edns, this.options.udpSize, q.dnssecOk);
        this.stats.truncated++;
      }
    }
    if (answer.rcode === RCODE.SERVFAIL) this.stats.servfail++;
    reply(wire);
    const observers = this.observers;
    if (observers.length === 0) return;
    const latencyUs = ((performance.now() - q.receivedAt) * 1000) | 0;
    for (let i = 0; i < observers.length; i++) {
      try {
        observers[i].onAnswer(q, answer, latencyUs);
      } catch (err) {
        this.options.logger.error({ err }, 'query observer failed');
      }
    }
  }

  private refuse(q: Query): Answer {
    const wire = errorResponse(q.wire, RCODE.REFUSED, {
      questionEnd: q.questionEnd,
      edns: q.edns,
      udpSize: this.options.udpSize,
      dnssecOk: q.dnssecOk,
      ede: q.edns ? { code: EDE.NOT_SUPPORTED, text: 'only class IN queries are answered' } : undefined,
    });
    return { wire, rcode: RCODE.REFUSED, source: 'error' };
  }

  private internalError(q: Query, err: unknown): Answer {
    // Never the name: it may be in an illegal category, and the service log must hold none.
    this.options.logger.error({ err, type: q.type }, 'query failed inside the chain');
    const wire = errorResponse(q.wire, RCODE.SERVFAIL, {
      questionEnd: q.questionEnd,
      edns: q.edns,
      udpSize: this.options.udpSize,
      dnssecOk: q.dnssecOk,
    });
    return { wire, rcode: RCODE.SERVFAIL, source: 'error' };
  }
}

export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`bad listen address ${address}`);
  return { host: m[1], port: Number(m[2]) };
}

function tcpLimits(o: ServerOptions) {
  return { idleTimeoutMs: o.tcpIdleTimeoutMs, maxConnections: o.tcpMaxConnections, maxPerClient: o.tcpMaxPerClient };
}
