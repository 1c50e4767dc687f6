// Each way the UDP listener can read and write packets (udp-socket.ts):
// the native batch addon, Node's socket handle, and plain dgram. The same
// real traffic goes through each: dig over IPv4 and IPv6, a burst bigger than
// one batch from several clients mixing cache hits and misses, and an
// oversized packet, with each answer checked against its own question.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { havePrograms } from '../helpers/programs.js';
import { startNsd, zone, type NsdServer } from '../helpers/nsd.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { dig } from '../helpers/dig.js';
import { buildQuery } from '../helpers/client.js';
import { batchAddon } from '../../src/resolver/udp-batch.js';
import type { UdpMode } from '../../src/resolver/udp-socket.js';

const ready = havePrograms('nsd', 'dig');
const modes: UdpMode[] = ['batch', 'handle', 'dgram'];

describe('the batch addon', () => {
  it.skipIf(process.env.CI !== 'true')('is built under CI, so the fast path is the one tested', () => {
    expect(batchAddon(), 'npm install did not build build/Release/udp_batch.node (see its node-gyp output)').toBeDefined();
  });
});

describe.skipIf(!ready).each(modes)('UDP listener in %s mode', (mode) => {
  const available = mode !== 'batch' || batchAddon() !== undefined;
  let nsd: NsdServer;
  let gh: Running;
  const clients: string[] = [];
  const saved = process.env.GATEHOUSE_UDP;

  beforeAll(async () => {
    if (!available) return;
    const names = Array.from({ length: 200 }, (_, i) => `h${i} IN A 192.0.2.${i % 250}`);
    nsd = await startNsd({ 'modes.test': zone('modes.test', ['www IN A 192.0.2.10', ...names]) });
    process.env.GATEHOUSE_UDP = mode;
    gh = await startGatehouse(baseConfig([{ name: 'p', upstreams: [`udp://127.0.0.1:${nsd.port}`], timeoutMs: 2000 }]).replace('["127.0.0.1:0"]', '["127.0.0.1:0", "[::1]:0"]'));
    gh.app.server.addObserver({ onAnswer: (q) => void clients.push(q.client.address) });
  });
  afterEach(() => void (clients.length = 0));
  afterAll(async () => {
    if (saved === undefined) delete process.env.GATEHOUSE_UDP;
    else process.env.GATEHOUSE_UDP = saved;
    await gh?.stop();
    await nsd?.stop();
  });

  it.skipIf(!available)('listens in that mode on both addresses', () => {
    expect(gh.app.server.udpModes()).toEqual([mode, mode]);
  });

  it.skipIf(!available)('answers dig from another client, a miss then a hit, and knows the client address', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await dig('127.0.0.1', gh.port, 'www.modes.test', 'A', ['-b', '127.0.0.5']);
      expect(r.answers[0]?.data).toBe('192.0.2.10');
    }
    expect(clients).toEqual(['127.0.0.5', '127.0.0.5']);
  });

  it.skipIf(!available)('answers on the IPv6 listener with the client written as ::1', async () => {
    const six = gh.app.server.addresses().udp[1].port;
    const r = await dig('::1', six, 'www.modes.test');
    expect(r.answers[0]?.data).toBe('192.0.2.10');
    expect(clients).toEqual(['::1']);
  });

  it.skipIf(!available)('answers a burst of 600 queries from three clients, each with its own answer', async () => {
    const sockets = await Promise.all(
      ['127.0.0.6', '127.0.0.7', '127.0.0.8'].map(async (from) => {
        const s = dgram.createSocket('udp4');
        s.bind(0, from);
        await once(s, 'listening');
        return s;
      }),
    );
    const answers = new Map<string, string>();
    const expected = new Map<string, string>();
    for (const s of sockets) s.on('message', (msg) => {
      const p = dnsPacket.decode(msg);
      const a = p.answers?.[0];
      answers.set(`${s.address().address}/${p.id}/${p.questions?.[0]?.name}`, a && a.type === 'A' ? String(a.data) : String(p.rcode));
    });
    // Half the names are new to the cache (answered later, outside their batch), half are repeats.
    for (let i = 0; i < 600; i++) {
      const s = sockets[i % 3];
      const n = i % 300 < 150 ? i % 200 : (i * 7) % 200;
      const name = `h${n}.modes.test`;
      const id = i + 1;
      expected.set(`${s.address().address}/${id}/${name}`, `192.0.2.${n % 250}`);
      s.send(buildQuery(name, 'A', { id }), gh.port, '127.0.0.1');
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5)); // keep under the kernel's socket buffers
    }
    const deadline = Date.now() + 10_000;
    while (answers.size < expected.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of sockets) s.close();
    expect(answers).toEqual(expected);
  });

  it.skipIf(!available)('drops a packet bigger than any query and goes on answering', async () => {
    const s = dgram.createSocket('udp4');
    s.send(Buffer.alloc(6000, 7), gh.port, '127.0.0.1');
    s.close();
    const r = await dig('127.0.0.1', gh.port, 'www.modes.test');
    expect(r.answers[0]?.data).toBe('192.0.2.10');
  });
});
