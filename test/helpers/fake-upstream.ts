// A scriptable loopback upstream for unit tests: answers from a table, and can
// be told to delay, drop, SERVFAIL (plain, or as a validator does for a name
// that failed DNSSEC) or send garbage. Counts the queries it sees.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { frame } from './client.js';

export type Behaviour = 'answer' | 'drop' | 'servfail' | 'bogus' | 'wrong-id' | 'wrong-question' | 'truncate';

export interface FakeUpstream {
  port: number;
  url: string;
  tcpUrl: string;
  queries: number;
  tcpQueries: number;
  behaviour: Behaviour;
  delayMs: number;
  /** name → A address (or TXT text when the value starts with "txt:"). */
  records: Map<string, string>;
  /**
   * name → several records, answered by type, and all of them for ANY (as a
   * server that does not minimise ANY, RFC 8482, would answer).
   */
  rrsets: Map<string, dnsPacket.Answer[]>;
  ttl: number;
  /** Answer as a validator whose answers all validated: AD set when the query had DO or AD (RFC 6840 §5.8). */
  validated: boolean;
  /** Header flag bytes (2 and 3) of the last query seen. */
  lastQueryFlags: number;
  stop(): Promise<void>;
}

/** The text of the EDE that behaviour 'bogus' sends, as unbound words it. */
export const BOGUS_TEXT = 'validation failure <name>: signature crypto failed';

export async function startFakeUpstream(records: Record<string, string> = {}, host = '127.0.0.1'): Promise<FakeUpstream> {
  const tcp = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        fake.tcpQueries++;
        const answer = respond(msg, false);
        if (!answer) continue;
        const framed = frame(answer);
        setTimeout(() => socket.writable && socket.write(framed), fake.delayMs);
      }
    });
    socket.on('error', () => undefined);
  });
  const { udp, port } = await listenPair(tcp, host);
  const sockets = new Set<net.Socket>();
  tcp.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const fake: FakeUpstream = {
    port,
    url: `udp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tcpUrl: `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    queries: 0,
    tcpQueries: 0,
    behaviour: 'answer',
    delayMs: 0,
    records: new Map(Object.entries(records)),
    rrsets: new Map(),
    ttl: 300,
    validated: false,
    lastQueryFlags: 0,
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise((r) => udp.close(() => r(undefined))), new Promise((r) => tcp.close(() => r(undefined)))]);
    },
  };

  function respond(msg: Buffer, overUdp: boolean): Buffer | undefined {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const q = query.questions![0];
    fake.lastQueryFlags = msg.readUInt16BE(2);
    const dnssecOk = (query.additionals ?? []).some(
      (a) => a.type === 'OPT' && ((a as { flags?: number }).flags ?? 0) & dnsPacket.DNSSEC_OK,
    );
    const ad = fake.validated && (dnssecOk || (fake.lastQueryFlags & dnsPacket.AUTHENTIC_DATA) !== 0) ? dnsPacket.AUTHENTIC_DATA : 0;
    const base = {
      type: 'response' as const,
      id: query.id!,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | ad,
      questions: [q],
    };
    switch (fake.behaviour) {
      case 'drop':
        return undefined;
      case 'servfail':
        return dnsPacket.encode({ ...base, flags: base.flags | 2 }); // rcode SERVFAIL
      case 'bogus': {
        // SERVFAIL with EDE 6 (DNSSEC Bogus), as unbound answers a name whose signature fails.
        const ede = Buffer.concat([Buffer.from([0, 6]), Buffer.from(BOGUS_TEXT.replace('<name>', `<${q.name}. A IN>`))]);
        const opt = { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [{ code: 15, data: ede }] };
        return dnsPacket.encode({
          ...base,
          flags: (base.flags & ~dnsPacket.AUTHENTIC_DATA) | 2,
          additionals: [opt as unknown as dnsPacket.Answer],
        });
      }
      case 'wrong-id':
        return dnsPacket.encode({ ...base, id: (query.id! + 1) & 0xffff });
      case 'wrong-question':
        return dnsPacket.encode({ ...base, questions: [{ ...q, name: 'other.' + q.name }] });
      case 'truncate':
        if (overUdp) return dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE });
    }
    const rrsets = fake.rrsets.get(q.name.toLowerCase());
    if (rrsets !== undefined)
      return dnsPacket.encode({ ...base, answers: rrsets.filter((r) => (q.type as string) === 'ANY' || r.type === q.type) });
    const value = fake.records.get(q.name.toLowerCase());
    if (value === undefined) {
      return dnsPacket.encode({
        ...base,
        flags: base.flags | 3, // rcode NXDOMAIN
        authorities: [
          {
            type: 'SOA',
            name: 'test',
            ttl: fake.ttl,
            data: { mname: 'ns.test', rname: 'admin.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
          },
        ],
      } as dnsPacket.Packet);
    }
    const answers: dnsPacket.Answer[] = value.startsWith('txt:')
      ? [{ type: 'TXT', name: q.name, ttl: fake.ttl, data: value.slice(4) }]
      : q.type === 'A'
        ? [{ type: 'A', name: q.name, ttl: fake.ttl, data: value }]
        : [];
    return dnsPacket.encode({ ...base, answers });
  }

  udp.on('message', (msg, rinfo) => {
    fake.queries++;
    const answer = respond(msg, true);
    if (!answer) return;
    const send = () => udp.send(answer, rinfo.port, rinfo.address, () => undefined);
    if (fake.delayMs > 0) setTimeout(send, fake.delayMs);
    else send();
  });
  return fake;
}

/**
 * UDP on port 0, then TCP on the port UDP got (one port for both, as for a
 * real server). Another socket may hold that number for TCP already: then
 * both are given up and the kernel asked again (as server.ts does).
 */
async function listenPair(tcp: net.Server, host: string): Promise<{ udp: dgram.Socket; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((r) => udp.bind(0, host, () => r()));
    const port = udp.address().port;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, port };
    } catch (err) {
      udp.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw err;
    }
  }
}
