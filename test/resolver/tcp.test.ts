// RFC 7766 behaviour of the TCP listener: pipelined queries, idle timeout, connection cap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { buildQuery } from '../helpers/client.js';

function frame(packet: Buffer): Buffer {
  const out = Buffer.alloc(packet.length + 2);
  out.writeUInt16BE(packet.length);
  packet.copy(out, 2);
  return out;
}

describe('TCP listener', () => {
  let up: FakeUpstream;
  let gh: Running;
  beforeAll(async () => {
    up = await startFakeUpstream({ 'a.test': '192.0.2.1', 'b.test': '192.0.2.2', 'slow.test': '192.0.2.3' });
    gh = await startGatehouse(
      baseConfig([{ name: 'p', upstreams: [up.url] }], 'health: { probeIntervalMs: 60000 }').replace(
        'listen: ["127.0.0.1:0"]',
        'listen: ["127.0.0.1:0"]\n  tcpIdleTimeoutMs: 1000\n  tcpMaxConnections: 2',
      ),
    );
  });
  afterAll(async () => {
    await gh.stop();
    await up.stop();
  });

  it('answers several pipelined queries on one connection, sent in one write', async () => {
    const socket = net.connect(gh.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(Buffer.concat([frame(buildQuery('a.test', 'A', { id: 1 })), frame(buildQuery('b.test', 'A', { id: 2 }))]));
    const answers = await new Promise<dnsPacket.DecodedPacket[]>((resolve) => {
      let buf = Buffer.alloc(0);
      const got: dnsPacket.DecodedPacket[] = [];
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          got.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (got.length === 2) resolve(got);
      });
    });
    socket.destroy();
    const byId = new Map(answers.map((a) => [a.id, a.answers![0].data]));
    expect(byId.get(1)).toBe('192.0.2.1');
    expect(byId.get(2)).toBe('192.0.2.2');
  });

  it('closes an idle connection after tcpIdleTimeoutMs', async () => {
    const socket = net.connect(gh.port, '127.0.0.1');
    const started = Date.now();
    await new Promise((r) => socket.once('close', r));
    const idle = Date.now() - started;
    expect(idle).toBeGreaterThanOrEqual(900);
    expect(idle).toBeLessThan(5000);
  });

  it('refuses connections beyond tcpMaxConnections', async () => {
    const open: net.Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = net.connect(gh.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      open.push(s);
    }
    await new Promise((r) => setTimeout(r, 50));
    const third = net.connect(gh.port, '127.0.0.1');
    const closedQuickly = await new Promise<boolean>((resolve) => {
      third.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 800);
    });
    for (const s of open) s.destroy();
    third.destroy();
    expect(closedQuickly).toBe(true);
  });
});
