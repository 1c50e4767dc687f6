// A small DNS client for tests: one query over UDP or TCP, from a chosen
// loopback source address, decoded with dns-packet.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export interface AskOptions {
  tcp?: boolean;
  /** Source address to send from (127.0.0.N simulates another client). */
  from?: string;
  server?: string;
  edns?: number | false;
  dnssecOk?: boolean;
  id?: number;
  timeoutMs?: number;
}

/** A decoded DNS message with its RCODE (dns-packet sets it; its types leave it out). */
export type DecodedReply = dnsPacket.DecodedPacket & { rcode: string };

export function decodeReply(raw: Buffer): DecodedReply {
  return dnsPacket.decode(raw) as DecodedReply;
}

/** The data of a record, whatever its type (an OPT record has none). */
export function recordData(a: dnsPacket.Answer): unknown {
  return (a as { data?: unknown }).data;
}

export interface Reply {
  packet: DecodedReply;
  raw: Buffer;
  rcode: string;
  addresses: string[];
  ttls: number[];
}

export function buildQuery(name: string, type: dnsPacket.RecordType = 'A', opts: AskOptions = {}): Buffer {
  const additionals =
    opts.edns === false || opts.edns === undefined
      ? []
      : [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: opts.edns,
            flags: opts.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
            options: [],
          } as unknown as dnsPacket.Answer,
        ];
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? Math.floor(Math.random() * 65535),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
    additionals,
  });
}

export async function ask(port: number, name: string, type: dnsPacket.RecordType = 'A', opts: AskOptions = {}): Promise<Reply> {
  const raw = await exchange(port, buildQuery(name, type, opts), opts);
  return toReply(raw);
}

export function toReply(raw: Buffer): Reply {
  const packet = decodeReply(raw);
  return {
    packet,
    raw,
    rcode: packet.rcode ?? 'NOERROR',
    addresses: (packet.answers ?? []).filter((a) => a.type === 'A' || a.type === 'AAAA').map((a) => String(recordData(a))),
    ttls: (packet.answers ?? []).map((a) => (a as { ttl?: number }).ttl ?? 0),
  };
}

/** Send raw bytes and return the raw reply (rejects on timeout). */
export function exchange(port: number, packet: Buffer, opts: AskOptions = {}): Promise<Buffer> {
  const server = opts.server ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 3000;
  if (opts.tcp) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: server, port, localAddress: opts.from });
      const timer = setTimeout(() => (socket.destroy(), reject(new Error('timeout'))), timeoutMs);
      let buf = Buffer.alloc(0);
      socket.on('connect', () => socket.write(frame(packet)));
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(timer);
          socket.destroy();
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      });
      socket.on('error', (e) => (clearTimeout(timer), reject(e)));
    });
  }
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => (socket.close(), reject(new Error('timeout'))), timeoutMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.bind(0, opts.from, () => socket.send(packet, port, server));
  });
}

/** A DNS message with its two-byte length in front, as TCP and DNS over TLS carry it (RFC 1035 §4.2.2). */
export function frame(packet: Buffer): Buffer {
  const out = Buffer.alloc(packet.length + 2);
  out.writeUInt16BE(packet.length);
  packet.copy(out, 2);
  return out;
}

/** The next `count` length-prefixed messages from a stream (TCP or TLS); stops listening once it has them. */
export function readFramed(socket: net.Socket, count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const messages: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        messages.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (messages.length < count) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve(messages);
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}
