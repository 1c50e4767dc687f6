// Real UDP and TCP syslog listeners, with an RFC 5424 parser and RFC 6587
// octet-counting framing for TCP.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type AddressInfo, type Socket as NetSocket } from 'node:net';

export interface Syslog5424 {
  pri: number;
  facility: number;
  severity: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: Map<string, Map<string, string>>;
  msg: string;
}

const HEADER = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) /;

/** Parse one RFC 5424 message; throws when it does not conform. */
export function parse5424(line: string): Syslog5424 {
  const m = HEADER.exec(line);
  if (!m) throw new Error(`not RFC 5424: ${line.slice(0, 80)}`);
  const pri = Number(m[1]);
  let rest = line.slice(m[0].length);
  const sd = new Map<string, Map<string, string>>();
  if (rest.startsWith('-')) rest = rest.slice(1);
  else {
    while (rest.startsWith('[')) {
      const idEnd = rest.search(/[ \]]/);
      const id = rest.slice(1, idEnd);
      const params = new Map<string, string>();
      let i = idEnd;
      while (rest[i] === ' ') {
        const eq = rest.indexOf('=', i);
        const name = rest.slice(i + 1, eq);
        if (rest[eq + 1] !== '"') throw new Error('SD-PARAM value not quoted');
        let j = eq + 2;
        let value = '';
        while (rest[j] !== '"') {
          if (j >= rest.length) throw new Error('unterminated SD-PARAM');
          if (rest[j] === '\\' && '"\\]'.includes(rest[j + 1])) j++;
          value += rest[j++];
        }
        params.set(name, value);
        i = j + 1;
      }
      if (rest[i] !== ']') throw new Error('SD-ELEMENT not closed');
      sd.set(id, params);
      rest = rest.slice(i + 1);
    }
  }
  if (rest.startsWith(' ')) rest = rest.slice(1);
  return {
    pri,
    facility: pri >> 3,
    severity: pri & 7,
    version: Number(m[2]),
    timestamp: m[3],
    hostname: m[4],
    appName: m[5],
    procId: m[6],
    msgId: m[7],
    sd,
    msg: rest,
  };
}

export class SyslogSink {
  private constructor(
    readonly lines: string[],
    private readonly udp: UdpSocket | null,
    private readonly tcp: Server | null,
    readonly port: number,
    private readonly connections: Set<NetSocket> = new Set(),
  ) {}

  static async udp(): Promise<SyslogSink> {
    const socket = createSocket('udp4');
    const lines: string[] = [];
    socket.on('message', (buf) => lines.push(buf.toString('utf8')));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new SyslogSink(lines, socket, null, socket.address().port);
  }

  /** On a port the kernel picks. */
  static async tcp(): Promise<SyslogSink> {
    const lines: string[] = [];
    const connections = new Set<NetSocket>();
    const server = createServer((conn) => {
      connections.add(conn);
      conn.on('close', () => connections.delete(conn));
      conn.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      conn.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        // Octet counting: "LEN SP MSG", repeated.
        for (;;) {
          const sp = buf.indexOf(0x20);
          if (sp < 0) return;
          const len = Number(buf.subarray(0, sp).toString('ascii'));
          if (!Number.isInteger(len) || len <= 0) {
            lines.push('!bad-frame');
            conn.destroy();
            return;
          }
          if (buf.length < sp + 1 + len) return;
          lines.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
          buf = buf.subarray(sp + 1 + len);
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new SyslogSink(lines, null, server, (server.address() as AddressInfo).port, connections);
  }

  private stopped = false;

  /**
   * What a restart of the collector does to its senders, without giving up
   * the port: every connection is reset and what was received is forgotten.
   */
  restart(): void {
    for (const conn of this.connections) conn.resetAndDestroy();
    this.lines.length = 0;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.udp) await new Promise<void>((resolve) => this.udp!.close(() => resolve()));
    if (this.tcp) {
      const server = this.tcp;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Open connections would keep close() waiting; the sender reconnects.
      for (const c of this.connections) c.destroy();
      await closed;
    }
  }
}
