// DoH and DoT under abuse from outside the school, with a real client (kdig)
// in school checking that nobody else is held up: connections that never
// start their TLS handshake, a DoT connection that stops halfway through a
// message, an HTTP/2 client opening and cancelling streams as fast as it can
// (rapid reset), and a POST body that trickles in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import http2 from 'node:http2';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { havePrograms } from '../helpers/programs.js';
import { OUTSIDE, kdigEncrypted, startEncrypted, type EncryptedGatehouse } from '../helpers/encrypted.js';

const enabled = havePrograms('kdig', 'nsd', 'openssl');

/**
 * kdig in school over DoT and DoH: both answer (the abuse holds no one up).
 * kdig runs with +retry=0 +time=3, so a client held up by the abuse gets no
 * answer; no wall-clock assertion of our own, which a starved CI machine's
 * process start-up alone could break.
 */
async function othersServed(e: EncryptedGatehouse): Promise<void> {
  for (const how of [{ dot: true }, {}]) {
    const r = await kdigEncrypted(e, how, 'www.gh.test');
    expect(r.answers, r.raw).toEqual(['192.0.2.10']);
  }
}

const closed = (s: net.Socket) => (s.destroyed ? Promise.resolve() : once(s, 'close').then(() => undefined));

describe.runIf(enabled)('DoH and DoT under abuse', () => {
  let e: EncryptedGatehouse;
  beforeAll(async () => {
    e = await startEncrypted({
      tls: 'handshakeTimeoutMs: 800',
      doh: 'streamsPerSecond: 50, requestTimeoutMs: 500',
      dot: 'idleTimeoutMs: 1000',
    });
  }, 60_000);
  afterAll(async () => {
    await e?.stop();
  });

  it('bounds connections that never handshake to maxPerClient, closes them at the timeout, and serves others meanwhile', async () => {
    const before = e.gh.app.encrypted!.status().dot!.connections;
    const timedOutBefore = before.handshakeTimedOut;
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 60; i++) {
      const s = net.connect({ host: '127.0.0.1', port: e.dotPort, localAddress: OUTSIDE });
      s.on('error', () => undefined);
      sockets.push(s);
    }
    await Promise.all(sockets.map((s) => (s.connecting ? once(s, 'connect').catch(() => undefined) : undefined)));
    await new Promise((r) => setTimeout(r, 100));
    // One address holds at most maxPerClient (32) slots: the rest pushed its own oldest out.
    expect(e.gh.app.encrypted!.status().dot!.connections.open).toBeLessThanOrEqual(32);
    await othersServed(e);
    await Promise.all(sockets.map(closed));
    const after = e.gh.app.encrypted!.status().dot!.connections;
    expect(after.handshakeTimedOut - timedOutBefore).toBeGreaterThan(0);
    expect(after.handshakeTimedOut - timedOutBefore + (after.evicted - before.evicted)).toBeGreaterThanOrEqual(60);
  }, 30_000);

  it('closes a DoT connection that stops halfway through a message once idle, serving others meanwhile', async () => {
    const s = tls.connect({
      host: '127.0.0.1',
      port: e.dotPort,
      localAddress: OUTSIDE,
      servername: 'dns.test',
      ca: readFileSync(e.certs.ca),
      ALPNProtocols: ['dot'],
    } as tls.ConnectionOptions);
    s.on('error', () => undefined);
    await once(s, 'secureConnect');
    // A length prefix of 48 bytes, and then only 3 of them.
    s.write(Buffer.from([0, 48, 1, 2, 3]));
    const started = performance.now();
    await othersServed(e);
    await closed(s);
    // dot.idleTimeoutMs is 1000: closed by then, not left open for ever.
    expect(performance.now() - started).toBeLessThan(5000);
  }, 30_000);

  it('closes an HTTP/2 connection that opens and cancels streams too fast, freeing its slot, and serves others meanwhile', async () => {
    const doh = () => e.gh.app.encrypted!.status().doh!;
    const flooded = doh().stats.flooded;
    const session = http2.connect(`https://127.0.0.1:${e.dohPort}`, {
      ca: readFileSync(e.certs.ca),
      servername: 'dns.test',
      localAddress: OUTSIDE,
    } as http2.SecureClientSessionOptions);
    session.on('error', () => undefined);
    await once(session, 'connect');
    expect(doh().connections.open).toBe(1);
    // Rapid reset: open a stream and cancel it at once, as fast as the client can (streamsPerSecond is 50).
    const deadline = Date.now() + 5000;
    while (doh().stats.flooded === flooded && Date.now() < deadline) {
      for (let i = 0; i < 20 && !session.destroyed; i++) {
        const st = session.request({ ':path': '/dns-query?dns=AAABAAABAAAAAAAAA3d3dwJnaAR0ZXN0AAABAAE', ':method': 'GET' });
        st.on('error', () => undefined);
        st.close(http2.constants.NGHTTP2_CANCEL);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(doh().stats.flooded).toBe(flooded + 1);
    // The server ended that connection itself: its TCP socket and its slot are gone.
    const until = Date.now() + 2000;
    while (doh().connections.open > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(doh().connections.open).toBe(0);
    session.destroy();
    await othersServed(e);
  }, 30_000);

  it('answers a POST whose body trickles in with 408 after requestTimeoutMs, serving others meanwhile', async () => {
    const session = http2.connect(`https://127.0.0.1:${e.dohPort}`, { ca: readFileSync(e.certs.ca), servername: 'dns.test' });
    session.on('error', () => undefined);
    const st = session.request({ ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' });
    st.write(Buffer.from([0, 1]));
    const started = performance.now();
    const [headers] = (await once(st, 'response')) as [http2.IncomingHttpHeaders];
    expect(headers[':status']).toBe(408);
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
    session.destroy();
    await othersServed(e);
  }, 30_000);
});
