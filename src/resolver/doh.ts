// DNS over HTTPS (RFC 8484) on `doh.listen`: GET with ?dns=<base64url> and
// POST with an application/dns-message body, over HTTP/2 (what browsers and
// dnsperf use) and HTTP/1.1, both over TLS (tls-front.ts picks by ALPN).
//
// Paths: /dns-query, and /dns-query/{identifier…}: a device token, or the
// hashes Chromebooks put there (identity/credentials.ts). Each message runs
// the same chain as UDP and TCP (server.ts answer), with the identity its
// path carries. From outside the school's networks a request without a known
// identity gets 403, counted, and the same for an unknown identifier as for
// none. Bad requests get their HTTP status and never reach the chain: 400
// (no or bad ?dns=, a message that is no DNS query), 404 (another path),
// 405 (another method), 413 (a body over 65,535 bytes, RFC 8484 §6: a DNS
// message's limit), 415 (another media type).
//
// What keeps one client from holding up the others (the same on HTTP/2 and
// HTTP/1.1 where it applies): the connection slots of tls-front.ts (per
// address and in all; idle connections are closed first to make room); at
// most `maxConcurrentStreams` streams at once per connection, at most
// `streamsPerSecond` new streams a second (past it the connection gets GOAWAY
// ENHANCE_YOUR_CALM and is closed, as for a rapid-reset flood); a whole
// request in `requestTimeoutMs`; header lists of 16 KiB; nghttp2's own limits
// on invalid frames, resets and memory per session.
//
// Answers carry Cache-Control: no-store. RFC 8484 §5.1 only asks that an HTTP
// cache keep an answer no longer than its smallest TTL; here the answer also
// depends on who asked (the identity in the path) and on a policy that may
// change at any moment, so no cache should keep it at all.
import http from 'node:http';
import http2 from 'node:http2';
import type tls from 'node:tls';
import type { DohConfig } from './encrypted-config.js';
import type { Admission } from './admission.js';
import { ADMIT_REMOTE, NOT_ALLOWED, RATE_LIMITED } from './admission.js';
import type { Credentials } from '../identity/credentials.js';
import type { DnsServer } from './server.js';
import type { TcpConnection } from './tcp-connections.js';
import type { Logger } from '../log.js';

const DNS_MESSAGE = 'application/dns-message';
const PATH = '/dns-query';
/** RFC 8484 §6: a DNS message is at most 65,535 bytes. */
const MAX_MESSAGE = 65_535;
/** base64url of the largest message, without padding. */
const MAX_ENCODED = Math.ceil((MAX_MESSAGE * 4) / 3);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAX_HEADER_LIST = 16 * 1024;

/** The slot and the stream-rate bucket of one HTTP/2 connection. */
interface SessionState {
  conn: TcpConnection;
  tokens: number;
  last: number;
}
const STATE = Symbol('gatehouse.doh.session');
const SLOT = Symbol('gatehouse.doh.slot');

export interface DohDeps {
  config: () => DohConfig;
  server: Pick<DnsServer, 'answer' | 'turnAway' | 'isDraining'>;
  admission: Pick<Admission, 'checkEncrypted'>;
  credentials: Pick<Credentials, 'byPath'>;
  logger: Logger;
}

export interface DohStats {
  requests: number;
  http2: number;
  http1: number;
  /** Responses other than 200, by status. */
  status: Record<number, number>;
  /** HTTP/2 connections closed for opening streams too fast. */
  flooded: number;
}

type Respond = (status: number, answer?: Buffer) => void;

/** What a request body gives: the message, or why there is none. */
type Body = (done: (message: Buffer | 413 | 408 | null) => void) => void;

const ERROR_HEADERS: Record<number, http2.OutgoingHttpHeaders> = {};
function errorHeaders(status: number): http2.OutgoingHttpHeaders {
  return (ERROR_HEADERS[status] ??= {
    ':status': status,
    'content-length': 0,
    'cache-control': 'no-store',
    ...(status === 405 ? { allow: 'GET, POST' } : {}),
  });
}

/** The ?dns= parameter of a query string, or undefined. */
function dnsParam(path: string, from: number): string | undefined {
  let i = from;
  while (i < path.length) {
    let end = path.indexOf('&', i);
    if (end < 0) end = path.length;
    if (path.startsWith('dns=', i)) return path.slice(i + 4, end);
    i = end + 1;
  }
  return undefined;
}

/** application/dns-message, ignoring case and parameters. */
function isDnsMessage(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === DNS_MESSAGE;
}

export class DohServer {
  readonly stats: DohStats = { requests: 0, http2: 0, http1: 0, status: {}, flooded: 0 };
  private h2: http2.Http2Server;
  private h1: http.Server;
  /** The slot of the socket being handed to the HTTP/2 server (its 'session' event fires at once). */
  private attaching: TcpConnection | undefined;

  constructor(private readonly deps: DohDeps) {
    this.h2 = this.newHttp2();
    this.h1 = this.newHttp1();
  }

  /** New limits (SIGHUP) apply to new connections. */
  reconfigure(): void {
    this.h2 = this.newHttp2();
    this.h1 = this.newHttp1();
  }

  /** A connection finished its TLS handshake: HTTP/2 when it chose h2 in ALPN, else HTTP/1.1. */
  serve(socket: tls.TLSSocket, conn: TcpConnection): void {
    if (socket.alpnProtocol === 'h2') {
      this.attaching = conn;
      try {
        this.h2.emit('connection', socket);
      } finally {
        this.attaching = undefined;
      }
    } else {
      (socket as unknown as Record<symbol, TcpConnection>)[SLOT] = conn;
      this.h1.emit('connection', socket);
    }
  }

  private newHttp2(): http2.Http2Server {
    const c = this.deps.config();
    const server = http2.createServer({
      settings: { maxConcurrentStreams: c.maxConcurrentStreams, maxHeaderListSize: MAX_HEADER_LIST, enablePush: false },
      maxHeaderListPairs: 64,
      maxSessionMemory: 4,
      maxOutstandingPings: 4,
      maxSessionInvalidFrames: 100,
      maxSessionRejectedStreams: 100,
      // RST_STREAM floods (CVE-2023-44487): nghttp2 ends a session past this burst and rate.
      ...({ streamResetBurst: 100, streamResetRate: 33 } as object),
    });
    server.on('session', (session: http2.ServerHttp2Session) => {
      const conn = this.attaching!;
      const state: SessionState = { conn, tokens: c.streamsPerSecond * 2, last: performance.now() };
      (session as unknown as Record<symbol, SessionState>)[STATE] = state;
      session.on('error', () => undefined);
    });
    server.on('sessionError', () => undefined);
    server.on('stream', (stream, headers) => this.onStream(stream, headers));
    return server;
  }

  private newHttp1(): http.Server {
    const c = this.deps.config();
    const server = http.createServer(
      {
        requestTimeout: c.requestTimeoutMs,
        headersTimeout: c.requestTimeoutMs,
        keepAliveTimeout: c.idleTimeoutMs,
        maxHeaderSize: MAX_HEADER_LIST,
        connectionsCheckingInterval: Math.min(1000, c.requestTimeoutMs),
      },
      (req, res) => this.onHttp1(req, res),
    );
    server.on('clientError', (_err, socket) => socket.destroy());
    return server;
  }

  /** A token bucket per connection on new streams: a flood of them (opened and reset) closes the connection. */
  private takeStream(state: SessionState): boolean {
    const now = performance.now();
    const rate = this.deps.config().streamsPerSecond;
    state.tokens = Math.min(rate * 2, state.tokens + ((now - state.last) * rate) / 1000);
    state.last = now;
    if (state.tokens < 1) return false;
    state.tokens--;
    return true;
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const session = stream.session!;
    const state = (session as unknown as Record<symbol, SessionState>)[STATE];
    if (!this.takeStream(state)) {
      this.stats.flooded++;
      session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
      return;
    }
    this.stats.http2++;
    const conn = state.conn;
    conn.queryStarted();
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      conn.queryFinished();
    };
    stream.on('close', finish);
    stream.on('error', () => undefined);
    const respond: Respond = (status, answer) => {
      this.count(status);
      if (stream.destroyed || stream.closed || stream.headersSent) return;
      if (answer === undefined) {
        stream.respond(errorHeaders(status), { endStream: true });
        return;
      }
      stream.respond({ ':status': 200, 'content-type': DNS_MESSAGE, 'content-length': answer.length, 'cache-control': 'no-store' });
      stream.end(answer);
    };
    // A body that trickles in is cut off (HTTP/1.1 has the http server's requestTimeout for that).
    const body: Body = (done) => {
      let settled = false;
      const once = (message: Buffer | 413 | 408 | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        done(message);
      };
      const timer = setTimeout(() => once(408), this.deps.config().requestTimeoutMs);
      readBody(stream, once);
    };
    const length = headers['content-length'];
    this.request(
      headers[':method'] ?? '',
      headers[':path'] ?? '',
      headers['content-type'],
      length === undefined ? -1 : Number(length),
      conn.address,
      session.socket?.remotePort ?? 0,
      body,
      respond,
    );
  }

  private onHttp1(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.stats.http1++;
    const conn = (req.socket as unknown as Record<symbol, TcpConnection>)[SLOT];
    conn.queryStarted();
    let finished = false;
    res.on('close', () => {
      if (finished) return;
      finished = true;
      conn.queryFinished();
    });
    const respond: Respond = (status, answer) => {
      this.count(status);
      if (res.headersSent || res.destroyed) return;
      if (answer === undefined) {
        res.writeHead(status, { 'content-length': 0, 'cache-control': 'no-store', ...(status === 405 ? { allow: 'GET, POST' } : {}) });
        res.end();
        // A body we did not read would be taken for the next request.
        if (req.method === 'POST' && !req.complete) req.socket.destroySoon();
        return;
      }
      res.writeHead(200, { 'content-type': DNS_MESSAGE, 'content-length': answer.length, 'cache-control': 'no-store' });
      res.end(answer);
    };
    const length = req.headers['content-length'];
    this.request(
      req.method ?? '',
      req.url ?? '',
      req.headers['content-type'],
      length === undefined ? -1 : Number(length),
      conn.address,
      req.socket.remotePort ?? 0,
      (done) => readBody(req, done),
      respond,
    );
  }

  private count(status: number): void {
    this.stats.requests++;
    if (status !== 200) this.stats.status[status] = (this.stats.status[status] ?? 0) + 1;
  }

  /** One request, whichever HTTP it came over. */
  private request(
    method: string,
    path: string,
    contentType: string | undefined,
    length: number,
    address: string,
    port: number,
    body: Body,
    respond: Respond,
  ): void {
    const q = path.indexOf('?');
    const pathname = q < 0 ? path : path.slice(0, q);
    let identifiers: string | undefined;
    if (pathname !== PATH && pathname !== PATH + '/') {
      if (!pathname.startsWith(PATH + '/')) return respond(404);
      identifiers = pathname.slice(PATH.length + 1);
    }
    if (method === 'GET') {
      const dns = q < 0 ? undefined : dnsParam(path, q + 1);
      if (dns === undefined || dns.length === 0 || dns.length > MAX_ENCODED || dns.length % 4 === 1 || !BASE64URL.test(dns))
        return respond(400);
      return this.query(Buffer.from(dns, 'base64url'), identifiers, address, port, respond);
    }
    if (method === 'POST') {
      if (!isDnsMessage(contentType)) return respond(415);
      if (length > MAX_MESSAGE) return respond(413);
      return body((message) => {
        if (message === null) return respond(400);
        if (typeof message === 'number') return respond(message);
        this.query(message, identifiers, address, port, respond);
      });
    }
    respond(405);
  }

  private query(message: Buffer, identifiers: string | undefined, address: string, port: number, respond: Respond): void {
    const { server, admission, credentials } = this.deps;
    if (server.isDraining) return respond(503);
    const credential = identifiers !== undefined ? credentials.byPath(identifiers) : undefined;
    const verdict = admission.checkEncrypted(address, credential?.key, performance.now());
    if (verdict === NOT_ALLOWED) return respond(403);
    const reply = (answer: Buffer) => respond(200, answer);
    const answered =
      verdict === RATE_LIMITED
        ? server.turnAway(message, verdict, 'doh', reply)
        : server.answer(message, address, port, 'doh', reply, credential?.identity, verdict === ADMIT_REMOTE);
    // Dropped: no DNS query in it (too short, a response).
    if (!answered) respond(400);
  }
}

/** Read a request body of at most MAX_MESSAGE bytes: the bytes, 413 past the cap, null when the stream ended early. */
function readBody(stream: NodeJS.ReadableStream & { destroy?: () => void }, done: (message: Buffer | 413 | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  let settled = false;
  const settle = (m: Buffer | 413 | null) => {
    if (settled) return;
    settled = true;
    done(m);
  };
  stream.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > MAX_MESSAGE) {
      over = true;
      settle(413);
      return;
    }
    chunks.push(chunk);
  });
  stream.on('end', () => settle(over ? 413 : size === 0 ? null : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
  stream.on('aborted', () => settle(null));
  stream.on('error', () => settle(null));
}
