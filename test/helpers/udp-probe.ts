// Is a DNS server up yet? One query over UDP, any answer counts: what the
// helpers that start nsd and unbound wait for.
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

/** True when host:port answers a query for `name` (any rcode) within 200 ms. */
export async function answersOnUdp(host: string, port: number, name: string, type: 'SOA' | 'A'): Promise<boolean> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      s.on('message', () => {
        clearTimeout(timer);
        resolve(true);
      });
      s.on('error', () => resolve(false));
      s.send(dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), port, host);
    });
  } finally {
    s.close();
  }
}
