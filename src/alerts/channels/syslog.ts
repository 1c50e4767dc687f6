// Syslog to a SIEM: RFC 5424 lines over UDP (RFC 5426, one line per datagram,
// fire-and-forget) or TCP (RFC 6587 octet counting: "LEN SP MSG"), where a
// down collector is noticed and the outbox retries.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6, type Socket } from 'node:net';
import { syslogFacilities, type SyslogConfig } from '../config.js';
import type { Channel, OutgoingMessage } from '../types.js';
import { syslogLines, truncateUtf8 } from './syslog-format.js';

/** RFC 5426: receivers should take 2048 bytes; bigger datagrams may be dropped. */
const UDP_MAX = 2048;

export class SyslogChannel implements Channel {
  readonly name = 'syslog' as const;
  private readonly facility: number;
  private udp: UdpSocket | null = null;
  private tcp: Socket | null = null;
  private tcpReady: Promise<Socket> | null = null;

  constructor(private readonly config: SyslogConfig) {
    this.facility = syslogFacilities[config.facility];
  }

  async send(m: OutgoingMessage): Promise<void> {
    const lines = syslogLines(m, this.facility, this.config.appName);
    if (this.config.protocol === 'udp') {
      for (const line of lines) await this.sendUdp(Buffer.from(truncateUtf8(line, UDP_MAX), 'utf8'));
    } else {
      const frames = lines.map((l) => `${Buffer.byteLength(l, 'utf8')} ${l}`).join('');
      await this.sendTcp(Buffer.from(frames, 'utf8'));
    }
  }

  private sendUdp(buf: Buffer): Promise<void> {
    if (!this.udp) {
      this.udp = createSocket(isIPv6(this.config.host) ? 'udp6' : 'udp4');
      this.udp.on('error', () => this.dropUdp());
      this.udp.unref();
    }
    const udp = this.udp;
    return new Promise((resolve, reject) => {
      udp.send(buf, this.config.port, this.config.host, (err) => (err ? reject(err) : resolve()));
    });
  }

  private dropUdp(): void {
    this.udp?.close();
    this.udp = null;
  }

  private async sendTcp(buf: Buffer): Promise<void> {
    const socket = await this.connectTcp();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.dropTcp(socket);
        reject(new Error('syslog write timed out'));
      }, this.config.timeoutMs);
      socket.write(buf, (err) => {
        clearTimeout(timer);
        if (err) {
          this.dropTcp(socket);
          reject(err);
        } else resolve();
      });
    });
  }

  private connectTcp(): Promise<Socket> {
    if (this.tcpReady) return this.tcpReady;
    const socket = connect({ host: this.config.host, port: this.config.port, timeout: this.config.timeoutMs });
    this.tcp = socket;
    this.tcpReady = new Promise<Socket>((resolve, reject) => {
      socket.once('connect', () => {
        socket.setTimeout(0);
        resolve(socket);
      });
      socket.once('timeout', () => socket.destroy(new Error('syslog connect timed out')));
      socket.once('error', (err) => {
        this.dropTcp(socket);
        reject(err);
      });
    });
    // The collector closing the connection means: reconnect before the next line.
    socket.once('end', () => this.dropTcp(socket));
    socket.once('close', () => this.dropTcp(socket));
    socket.on('data', () => undefined);
    // An unused rejection (nobody waiting) must not become an unhandled one.
    this.tcpReady.catch(() => undefined);
    return this.tcpReady;
  }

  /** Forget the connection, but only if it is still the current one. */
  private dropTcp(socket: Socket | null = this.tcp): void {
    if (socket === null || this.tcp !== socket) return;
    socket.destroy();
    this.tcp = null;
    this.tcpReady = null;
  }

  async close(): Promise<void> {
    this.dropUdp();
    const socket = this.tcp;
    if (socket && !socket.connecting && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        socket.end(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.dropTcp(socket);
  }
}
