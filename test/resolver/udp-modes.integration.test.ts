// Each way the UDP listener can read and write packets (udp-socket.ts):
// the native batch addon, Node's socket handle, and plain dgram. The same
// real traffic goes through each: dig over IPv4 and IPv6, a burst bigger than
// one batch from several clients mixing cache hits and misses, and an
// oversized packet, with each answer checked against its own question.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { findProgram, havePrograms } from '../helpers/programs.js';
import { startNsd, zone, type NsdServer } from '../helpers/nsd.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { dig } from '../helpers/dig.js';
import { buildQuery, decodeReply } from '../helpers/client.js';
import { batchAddon } from '../../src/resolver/udp-batch.js';
import type { UdpMode } from '../../src/resolver/udp-socket.js';

const ready = havePrograms('nsd', 'dig');

// A UDP packet with source port 0 can only be made with a raw socket: python3
// as root (CI runs as root; elsewhere the test says why it skips).
const python = findProgram('python3');
const rawSockets = python !== null && process.getuid?.() === 0;
if (!rawSockets) console.warn('udp-modes: skipping the source-port-0 test (needs python3 and root for a raw socket)');

function sendFromPortZero(port: number, payload: Buffer): void {
  const script = [
    'import socket, struct, sys',
    'data = bytes.fromhex(sys.argv[2])',
    's = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)',
    // UDP header: source port 0, destination, length, checksum 0 (none)
    "s.sendto(struct.pack('!HHHH', 0, int(sys.argv[1]), 8 + len(data), 0) + data, ('127.0.0.1', 0))",
  ].join('\n');
  execFileSync(python!, ['-c', script, String(port), payload.toString('hex')]);
}
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
    gh = await startGatehouse(
      baseConfig([{ name: 'p', upstreams: [`udp://127.0.0.1:${nsd.port}`], timeoutMs: 2000 }]).replace(
        '["127.0.0.1:0"]',
        '["127.0.0.1:0", "[::1]:0"]',
      ),
    );
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
    // Every reply is kept: a query answered twice, or a reply that is not an answer, must show.
    const answers = new Map<string, string[]>();
    const expected = new Map<string, string[]>();
    for (const s of sockets)
      s.on('message', (msg) => {
        const p = decodeReply(msg);
        const a = p.answers?.[0];
        const key = `${s.address().address}/${p.id}/${p.questions?.[0]?.name}`;
        answers.set(key, [
          ...(answers.get(key) ?? []),
          p.type === 'response' && a?.type === 'A' ? String(a.data) : `not an answer: ${p.type} ${p.rcode}`,
        ]);
      });
    // Half the names are new to the cache (answered later, outside their batch), half are repeats.
    for (let i = 0; i < 600; i++) {
      const s = sockets[i % 3];
      const n = i % 300 < 150 ? i % 200 : (i * 7) % 200;
      const name = `h${n}.modes.test`;
      const id = i + 1;
      expected.set(`${s.address().address}/${id}/${name}`, [`192.0.2.${n % 250}`]);
      s.send(buildQuery(name, 'A', { id }), gh.port, '127.0.0.1');
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5)); // keep under the kernel's socket buffers
    }
    const deadline = Date.now() + 10_000;
    while (answers.size < expected.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100)); // room for a second, wrong reply to arrive
    for (const s of sockets) s.close();
    expect(answers).toEqual(expected);
  });

  it.skipIf(!available)('answers a cache miss on the IPv6 listener (the late answer goes out alone)', async () => {
    const six = gh.app.server.addresses().udp[1].port;
    const r = await dig('::1', six, 'h199.modes.test');
    expect(r.answers[0]?.data).toBe('192.0.2.199');
  });

  it.skipIf(!available)(
    'a query longer than any real one: batch drops it unread, the others answer it (the bytes after the question are ignored); both go on answering',
    async () => {
      const formerr = gh.app.server.stats.formerr;
      const query = buildQuery('www.modes.test', 'A', { id: 4242 });
      const big = Buffer.concat([query, Buffer.alloc(6000 - query.length, 7)]); // a real header and question, then 6 KB
      const s = dgram.createSocket('udp4');
      const replies: Buffer[] = [];
      s.on('message', (m) => replies.push(m));
      s.send(big, gh.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 300));
      s.close();
      expect(gh.app.server.stats.formerr).toBe(formerr);
      if (mode === 'batch') expect(replies).toEqual([]);
      else expect(replies.map((m) => [decodeReply(m).id, decodeReply(m).rcode])).toEqual([[4242, 'NOERROR']]);
      const r = await dig('127.0.0.1', gh.port, 'www.modes.test');
      expect(r.answers[0]?.data).toBe('192.0.2.10');
    },
  );

  it.skipIf(!available || !rawSockets)(
    'ignores a query from source port 0 (spoofed: no answer can reach it) and goes on answering',
    async () => {
      const before = gh.app.server.stats.udp;
      sendFromPortZero(gh.port, buildQuery('www.modes.test', 'A', { id: 777 }));
      await new Promise((r) => setTimeout(r, 200));
      expect(gh.app.server.stats.udp).toBe(before);
      const r = await dig('127.0.0.1', gh.port, 'www.modes.test');
      expect(r.answers[0]?.data).toBe('192.0.2.10');
    },
  );
});
