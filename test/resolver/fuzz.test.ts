// Thousands of random and mutated packets at the server; it must still answer
// a normal query correctly afterwards, and never crash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import net from 'node:net';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { ask, buildQuery } from '../helpers/client.js';

// A small deterministic PRNG, so a failure can be reproduced from the seed.
function prng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('fuzz', () => {
  let up: FakeUpstream;
  let gh: Running;
  beforeAll(async () => {
    up = await startFakeUpstream({ 'ok.test': '192.0.2.80' });
    gh = await startGatehouse(
      // 6000 packets from one address in a second or two: over the per-client rate limit, which is not under test here.
      baseConfig([{ name: 'p', upstreams: [up.url], timeoutMs: 200 }], 'health: { probeIntervalMs: 60000 }').replace(
        'listen: ["127.0.0.1:0"]',
        'listen: ["127.0.0.1:0"]\n  rateLimit: { enabled: false }',
      ),
    );
  });
  afterAll(async () => {
    await gh.stop();
    await up.stop();
  });

  it('survives 6000 random and mutated UDP packets', async () => {
    const rand = prng(20261123);
    const seeds = [
      buildQuery('ok.test'),
      buildQuery('ok.test', 'AAAA', { edns: 1232 }),
      buildQuery('x.ok.test', 'TXT', { edns: 4096, dnssecOk: true }),
    ];
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    let replies = 0;
    socket.on('message', () => replies++);
    for (let i = 0; i < 6000; i++) {
      let packet: Buffer;
      const kind = i % 4;
      if (kind === 0) {
        packet = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
      } else {
        packet = Buffer.from(seeds[i % seeds.length]);
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) packet[Math.floor(rand() * packet.length)] = Math.floor(rand() * 256);
        if (kind === 2) packet = packet.subarray(0, Math.floor(rand() * packet.length));
        if (kind === 3) packet = Buffer.concat([packet, Buffer.from([0xc0, 0x0c, 0xc0, 0x0c])]);
      }
      socket.send(packet, gh.port, '127.0.0.1');
      if (i % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 500));
    socket.close();
    const s = gh.app.server.stats;
    expect(s.formerr + s.dropped + s.queries + s.notimp).toBeGreaterThan(5000);
    expect(replies).toBeGreaterThan(0);
    // Still answering, and answering right.
    const r = await ask(gh.port, 'ok.test');
    expect(r.addresses).toEqual(['192.0.2.80']);
  });

  it('survives broken TCP framing and answers on a fresh connection', async () => {
    const rand = prng(7);
    for (let i = 0; i < 50; i++) {
      const socket = net.connect(gh.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
      socket.write(junk);
      socket.destroy();
    }
    expect((await ask(gh.port, 'ok.test', 'A', { tcp: true })).addresses).toEqual(['192.0.2.80']);
  });
});
