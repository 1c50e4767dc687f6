// DNS over TLS (RFC 7858): TCP's length-prefixed messages (RFC 7766 framing,
// several queries in flight per connection, answered as they complete) inside
// TLS, on `dot.listen` (port 853).
//
// The name the client asked for in its TLS handshake (SNI) carries the
// device's identity: Android's Private DNS and Apple's DNS Settings profiles
// connect to a host name, and `<token>.dns.school.example` puts a device token
// (identity/device-tokens.ts) in its first label. Every query then runs the
// same chain as UDP and TCP with that identity. From outside the school's
// networks a connection without a known token gets REFUSED for each query
// (EDE 18), counted, and the same whether its label is an unknown token,
// a revoked one, or none.
import type tls from 'node:tls';
import type { Admission } from './admission.js';
import { ADMIT_REMOTE, NOT_ALLOWED, RATE_LIMITED } from './admission.js';
import type { Credential, Credentials } from '../identity/credentials.js';
import type { DnsServer } from './server.js';
import type { TcpConnection } from './tcp-connections.js';
import { serveFramed } from './framing.js';

export interface DotDeps {
  server: Pick<DnsServer, 'answer' | 'turnAway'>;
  admission: Pick<Admission, 'checkEncrypted'>;
  credentials: Pick<Credentials, 'byToken' | 'generation'>;
  /** tls.hostname: the suffix after the token label. */
  hostname: () => string;
}

export interface DotStats {
  queries: number;
  /** Connections whose name carried a label (a token, known or not). */
  withLabel: number;
}

/** The token label of `<token>.<hostname>`, or undefined when the name is the hostname itself, another name, or none. */
export function tokenLabel(servername: string | false | null | undefined, hostname: string): string | undefined {
  if (typeof servername !== 'string' || servername.length <= hostname.length + 1) return undefined;
  const name = servername.toLowerCase();
  if (!name.endsWith(hostname) || name[name.length - hostname.length - 1] !== '.') return undefined;
  const label = name.slice(0, name.length - hostname.length - 1);
  return label.includes('.') ? undefined : label;
}

export class DotServer {
  readonly stats: DotStats = { queries: 0, withLabel: 0 };

  constructor(private readonly deps: DotDeps) {}

  /** A connection finished its handshake (tls-front.ts): read its queries until it closes. */
  serve(socket: tls.TLSSocket, conn: TcpConnection): void {
    const { server, admission, credentials } = this.deps;
    const label = tokenLabel(socket.servername, this.deps.hostname());
    if (label !== undefined) this.stats.withLabel++;
    const address = conn.address;
    const port = socket.remotePort ?? 0;
    // Looked up once per connection, and again only when the tokens change (a revoked one stops at once).
    let generation = -1;
    let credential: Credential | undefined;
    serveFramed(
      socket,
      conn,
      (message, reply) => {
        this.stats.queries++;
        if (label !== undefined && generation !== credentials.generation) {
          generation = credentials.generation;
          credential = credentials.byToken(label);
        }
        const verdict = admission.checkEncrypted(address, credential?.key, performance.now());
        if (verdict === NOT_ALLOWED || verdict === RATE_LIMITED) return server.turnAway(message, verdict, 'dot', reply);
        return server.answer(message, address, port, 'dot', reply, credential?.identity, verdict === ADMIT_REMOTE);
      },
      () => undefined,
    );
  }
}
