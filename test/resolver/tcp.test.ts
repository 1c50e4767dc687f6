// RFC 7766 behaviour of the TCP listener: pipelined queries, idle timeout, connection cap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { ask, buildQuery, frame, readFramed, recordData } from '../helpers/client.js';
import { dig } from '../helpers/dig.js';

describe('TCP listener', () => {
  let up: FakeUpstream;
  let gh: Running;
  beforeAll(async () => {
    up = await startFakeUpstream({ 'a.test': '192.0.2.1', 'b.test': '192.0.2.2', 'slow.test': '192.0.2.3' });
    gh = await startGatehouse(
      baseConfig([{ name: 'p', upstreams: [up.url], timeoutMs: 3000 }], 'health: { probeIntervalMs: 60000 }').replace(
        'listen: ["127.0.0.1:0"]',
        'listen: ["127.0.0.1:0"]\n  tcpIdleTimeoutMs: 3000\n  tcpMaxConnections: 2',
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
    const answers = (await readFramed(socket, 2)).map((m) => dnsPacket.decode(m));
    socket.destroy();
    const byId = new Map(answers.map((a) => [a.id, recordData(a.answers![0])]));
    expect(byId.get(1)).toBe('192.0.2.1');
    expect(byId.get(2)).toBe('192.0.2.2');
  });

  it('closes an idle connection after tcpIdleTimeoutMs', async () => {
    const socket = net.connect(gh.port, '127.0.0.1');
    const started = Date.now();
    await new Promise((r) => socket.once('close', r));
    const idle = Date.now() - started;
    expect(idle).toBeGreaterThanOrEqual(2900);
    expect(idle).toBeLessThan(8000);
  });

  it('closes the least recently active idle connection to make room for a new one (RFC 7766 §6.2.3)', async () => {
    const open: net.Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = net.connect(gh.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      open.push(s);
      await new Promise((r) => setTimeout(r, 20));
    }
    const firstClosed = new Promise<boolean>((resolve) => {
      open[0].once('close', () => resolve(true));
      setTimeout(() => resolve(false), 2000); // within the 3 s idle timeout: only making room closes it
    });
    const reply = await ask(gh.port, 'a.test', 'A', { tcp: true });
    expect(reply.addresses).toEqual(['192.0.2.1']);
    expect(await firstClosed).toBe(true);
    expect(open[1].destroyed).toBe(false);
    for (const s of open) s.destroy();
  });

  it('turns a new connection away only when every slot has a query in flight', async () => {
    up.delayMs = 2500; // longer than the 100 ms + 2 s below, within the 3 s link timeout
    const busy: net.Socket[] = [];
    const answered: Promise<unknown>[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = net.connect(gh.port, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        s.write(frame(buildQuery(`slow${i}.test`, 'A', { id: 10 + i })));
        answered.push(new Promise((r) => s.once('data', r)));
        busy.push(s);
      }
      await new Promise((r) => setTimeout(r, 100));
      const third = net.connect(gh.port, '127.0.0.1');
      const closedQuickly = await new Promise<boolean>((resolve) => {
        third.once('close', () => resolve(true));
        setTimeout(() => resolve(false), 2000);
      });
      third.destroy();
      expect(closedQuickly).toBe(true);
      expect(busy.every((s) => !s.destroyed)).toBe(true);
      await Promise.all(answered); // the slow answers still arrive on the busy connections
    } finally {
      up.delayMs = 0;
      for (const s of busy) s.destroy();
    }
  });
});

/** Open a connection from `from` and send one byte of a never-finished query every `everyMs`. */
function trickle(port: number, from: string, everyMs: number): { socket: net.Socket; closed: Promise<number>; stop(): void } {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  const started = Date.now();
  const bytes = frame(buildQuery('never-finished.test', 'A'));
  let sent = 0;
  const timer = setInterval(() => {
    // Never the last byte: the query must stay incomplete.
    if (socket.writable && sent < bytes.length - 1) socket.write(bytes.subarray(sent, ++sent));
  }, everyMs);
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  return {
    socket,
    closed,
    stop() {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

describe('TCP slots under a slow-loris from one address', () => {
  let up: FakeUpstream;
  let gh: Running;
  beforeAll(async () => {
    up = await startFakeUpstream({ 'a.test': '192.0.2.1' });
    gh = await startGatehouse(
      baseConfig([{ name: 'p', upstreams: [up.url] }], 'health: { probeIntervalMs: 60000 }').replace(
        'listen: ["127.0.0.1:0"]',
        'listen: ["127.0.0.1:0"]\n  tcpIdleTimeoutMs: 1500\n  tcpMaxConnections: 20\n  tcpMaxPerClient: 5',
      ),
    );
  });
  afterAll(async () => {
    await gh.stop();
    await up.stop();
  });

  it('counts idleness from the last complete query, not the last byte', async () => {
    const t = trickle(gh.port, '127.0.0.5', 200);
    const closedAfter = await Promise.race([t.closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
    t.stop();
    expect(closedAfter).toBeGreaterThanOrEqual(1400);
    expect(closedAfter).toBeLessThan(4000);
  });

  it('keeps answering another address over TCP while one address trickles on every slot it can get', async () => {
    // As many connections as the whole server has slots, one byte every 200 ms on each.
    const loris = Array.from({ length: 20 }, () => trickle(gh.port, '127.0.0.5', 200));
    try {
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 3; i++) {
        const r = await dig('127.0.0.1', gh.port, 'a.test', 'A', ['+tcp', '-b', '127.0.0.6']);
        expect(r.status).toBe('NOERROR');
        expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.1']);
      }
      const open = loris.filter((l) => !l.socket.destroyed && !l.socket.closed).length;
      expect(open).toBeLessThanOrEqual(5);
      expect(gh.app.server.stats.tcpSlots.evicted).toBeGreaterThanOrEqual(15);
    } finally {
      for (const l of loris) l.stop();
    }
  });

  it('with every slot held by idle connections from many addresses, a new client still gets in', async () => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const s = net.connect({ port: gh.port, host: '127.0.0.1', localAddress: `127.0.1.${10 + i}` });
        s.on('error', () => undefined);
        await new Promise((r) => s.once('connect', r));
        held.push(s);
      }
      await new Promise((r) => setTimeout(r, 50));
      const r = await dig('127.0.0.1', gh.port, 'a.test', 'A', ['+tcp', '-b', '127.0.0.7']);
      expect(r.status).toBe('NOERROR');
      expect(gh.app.server.stats.tcpConnections).toBeLessThanOrEqual(20);
    } finally {
      for (const s of held) s.destroy();
    }
  });
});
