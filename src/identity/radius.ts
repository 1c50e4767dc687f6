// The RADIUS accounting server (RFC 2866): the Wi-Fi controller, NPS or
// FreeRADIUS sends Start, Interim-Update and Stop for each session, and the
// framed address of a session is its user's for the session's life. A packet
// from an address no client network covers, with a wrong authenticator
// (wrong secret) or with broken attributes is dropped and counted, never
// answered (RFC 2866 §4.1: a request that fails validation is silently
// discarded). Everything else is recorded, then answered, so a NAS that gets
// its Accounting-Response can rely on Gatehouse having the session.
// Runs on the main thread, off the query path: a UDP socket of its own.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import ipaddr from 'ipaddr.js';
import type { Logger } from '../log.js';
import type { RadiusConfig } from './config.js';
import { accountingResponse, readAccountingRequest, type AccountingRequest } from './radius-packet.js';
import { IdentityError } from './errors.js';

export interface RadiusStats {
  received: number;
  answered: number;
  unknownClient: number;
  badAuthenticator: number;
  malformed: number;
  notAccounting: number;
  starts: number;
  interims: number;
  stops: number;
  /** Stops for a session other than the one now on that address (a late retransmission). */
  staleStops: number;
}

/** What the server reports to the identity service. */
export interface RadiusSink {
  /** Returns false for a Stop of a session that is no longer the one on its address. */
  session(request: AccountingRequest, nas: string): boolean;
  /** Accounting-On / Off: the NAS restarted, so all its sessions are over. */
  nasRestarted(nas: string): void;
}

interface Client {
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
  secret: string;
  secretBytes: Buffer;
}

export class RadiusServer {
  readonly stats: RadiusStats = {
    received: 0,
    answered: 0,
    unknownClient: 0,
    badAuthenticator: 0,
    malformed: 0,
    notAccounting: 0,
    starts: 0,
    interims: 0,
    stops: 0,
    staleStops: 0,
  };
  private socket: dgram.Socket | undefined;
  private readonly clients: Client[];

  constructor(
    private readonly config: RadiusConfig,
    private readonly sink: RadiusSink,
    private readonly logger: Logger,
  ) {
    this.clients = config.clients
      .map((c) => {
        let secret = c.secret;
        if (secret === undefined) {
          try {
            secret = readFileSync(c.secretFile!, 'utf8').split(/\r?\n/)[0];
          } catch (err) {
            throw new IdentityError(
              'GH_ERR_IDENTITY_RADIUS',
              `cannot read identity.radius secretFile ${c.secretFile}: ${(err as Error).message}`,
            );
          }
          if (!secret) throw new IdentityError('GH_ERR_IDENTITY_RADIUS', `identity.radius secretFile ${c.secretFile} is empty`);
        }
        return { range: ipaddr.parseCIDR(c.network), secret, secretBytes: Buffer.from(secret, 'utf8') };
      })
      // Most specific network first, so the first match is the right client.
      .sort((a, b) => b.range[1] - a.range[1]);
  }

  async start(): Promise<void> {
    const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(this.config.listen)!;
    const host = m[1];
    const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: host.includes(':') });
    socket.on('message', (msg, from) => this.onMessage(socket, msg, from));
    socket.on('error', (err) => this.logger.error({ err }, 'RADIUS socket error'));
    socket.bind(Number(m[2]), host);
    try {
      await once(socket, 'listening');
    } catch (err) {
      socket.close();
      throw new IdentityError(
        'GH_ERR_IDENTITY_RADIUS',
        `identity.radius cannot listen on ${this.config.listen}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    this.socket = socket;
    this.logger.info({ listen: `${host}:${socket.address().port}` }, 'RADIUS accounting listening');
  }

  /** The bound port (tests listen on port 0). */
  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  private clientFor(address: string): Client | undefined {
    let ip: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      ip = ipaddr.process(address);
    } catch {
      return undefined;
    }
    return this.clients.find((c) => c.range[0].kind() === ip.kind() && ip.match(c.range));
  }

  private onMessage(socket: dgram.Socket, msg: Buffer, from: dgram.RemoteInfo): void {
    this.stats.received++;
    if (from.port === 0) return;
    const client = this.clientFor(from.address);
    if (!client) {
      this.stats.unknownClient++;
      return;
    }
    const result = readAccountingRequest(msg, client.secretBytes);
    if (!result.ok) {
      if (result.reason === 'authenticator') this.stats.badAuthenticator++;
      else if (result.reason === 'malformed') this.stats.malformed++;
      else this.stats.notAccounting++;
      return;
    }
    const { request } = result;
    const nas = ipaddr.process(from.address).toString();
    try {
      if (request.status === 'Accounting-On' || request.status === 'Accounting-Off') this.sink.nasRestarted(nas);
      else if (request.status !== 'other') {
        if (request.status === 'Start') this.stats.starts++;
        else if (request.status === 'Interim-Update') this.stats.interims++;
        else this.stats.stops++;
        if (!this.sink.session(request, nas)) this.stats.staleStops++;
      }
    } catch (err) {
      // Not recorded: no answer, so the NAS sends it again.
      this.logger.error({ err }, 'RADIUS accounting request could not be recorded');
      return;
    }
    socket.send(accountingResponse(result.decoded, client.secret), from.port, from.address);
    this.stats.answered++;
  }
}
