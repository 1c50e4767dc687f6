// The UDP upstream's socket pool (upstream-udp.ts): a socket that reported an
// error is retired, closed once its queries are done, and never used again.
import { afterEach, describe, expect, it } from 'vitest';
import type dgram from 'node:dgram';
import { UdpUpstream } from '../../src/resolver/upstream-udp.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';

/** example.test A IN, in wire form. */
const QUESTION = Buffer.from([7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0, 0, 1, 0, 1]);

let fake: FakeUpstream | undefined;
let upstream: UdpUpstream | undefined;
afterEach(async () => {
  upstream?.close();
  await fake?.stop();
});

function poolSockets(u: UdpUpstream): dgram.Socket[] {
  return (u as unknown as { slots: { socket: dgram.Socket }[] }).slots.map((s) => s.socket);
}

describe('UDP upstream socket pool', () => {
  it('answers every query after a socket error: the retired socket is replaced, not reused once closed', async () => {
    fake = await startFakeUpstream({ 'example.test': '192.0.2.1' });
    upstream = new UdpUpstream(fake.url, '127.0.0.1', fake.port);
    // Fill the pool (four sockets, used in turn).
    for (let i = 0; i < 4; i++) expect((await upstream.query(QUESTION, false, false, 2000)).length).toBeGreaterThan(12);
    const [first] = poolSockets(upstream);
    first.emit('error', Object.assign(new Error('recvmsg ENOBUFS'), { code: 'ENOBUFS' }));
    // The retired socket had nothing pending, so it is closed now; the next round must not send on it.
    for (let i = 0; i < 8; i++) {
      const answer = await upstream.query(QUESTION, false, false, 2000);
      expect(answer.readUInt16BE(6)).toBe(1); // one answer record
    }
    expect(poolSockets(upstream)).not.toContain(first);
    expect(fake.queries).toBe(12);
  });
});
