// DoH and DoT with real clients (kdig +https / +tls, curl --doh-url) against
// a real Gatehouse with nsd behind it: the same answers and policy as port
// 53; identity from a Chrome-style hashed path or a device token deciding the
// group; outside the school's networks no identity means 403 / REFUSED
// (unknown, revoked or none alike); the transport and `remote` in the query
// log; and malformed requests answered with their HTTP status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { havePrograms, findProgram } from '../helpers/programs.js';
import { frame, readFramed } from '../helpers/client.js';
import { INSIDE, OUTSIDE, SALT, kdigEncrypted, startEncrypted, type EncryptedGatehouse } from '../helpers/encrypted.js';
import { saveDevice } from '../../src/identity/devices.js';
import { issueToken, revokeToken } from '../../src/identity/device-tokens.js';
import { search } from '../../src/store/search.js';

const run = promisify(execFile);
const enabled = havePrograms('kdig', 'nsd', 'curl', 'openssl');

/** Chrome's hash of an identifier, by openssl (independent of the code under test). */
async function chromeHash(value: string): Promise<string> {
  const child = execFile('openssl', ['dgst', '-sha256', '-r']);
  child.stdin!.end(SALT + value);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await once(child, 'close');
  return out.split(' ')[0].toUpperCase();
}

/** A DNS query for `name` (type A), as the wire carries it. */
function query(name: string, id = 0): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([Buffer.from([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

/** curl against the DoH server: the HTTP status, from `from`; `body` goes to curl's stdin (for `--data-binary @-`). */
async function curlStatus(e: EncryptedGatehouse, path: string, args: string[] = [], from = INSIDE, body?: Buffer): Promise<string> {
  const child = execFile(findProgram('curl')!, [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--max-time',
    '15',
    '--interface',
    from,
    '--cacert',
    e.certs.ca,
    ...args,
    `https://127.0.0.1:${e.dohPort}${path}`,
  ]);
  child.stdin!.end(body);
  let code = '';
  child.stdout!.on('data', (d) => (code += d));
  await once(child, 'close');
  return code;
}

/**
 * A TCP relay from loopback to the DoT port (connecting from INSIDE) that
 * counts the TLS application-data records the server sends back.
 */
async function recordCountingRelay(dotPort: number): Promise<{ port: number; records: () => number; close: () => void }> {
  let records = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: dotPort, localAddress: INSIDE });
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // TLS records: type (23 = application data), version, 2-byte length.
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt16BE(3)) {
        if (pending[0] === 23) records++;
        pending = pending.subarray(5 + pending.readUInt16BE(3));
      }
      client.write(chunk);
    });
    client.pipe(upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, records: () => records, close: () => server.close() };
}

describe.runIf(enabled)('DoH and DoT with real clients', () => {
  let e: EncryptedGatehouse;
  let page: http.Server;
  let pagePort: number;
  beforeAll(async () => {
    e = await startEncrypted({
      admin: true,
      extra: 'admin: { listen: "127.0.0.1:0", metrics: { networks: ["127.0.0.0/8"] }, blockPage: { enabled: false } }',
    });
    page = http.createServer((_req, res) => res.end('only Gatehouse knows this page\n'));
    page.listen(0, '127.0.0.1');
    await once(page, 'listening');
    pagePort = (page.address() as { port: number }).port;
  }, 60_000);
  afterAll(async () => {
    page?.close();
    await e?.stop();
  });

  it('answers kdig over DoH (POST and GET, HTTP/2) and over DoT in school as over UDP', async () => {
    for (const how of [{}, { get: true }, { dot: true }]) {
      const r = await kdigEncrypted(e, how, 'www.gh.test');
      expect(r.status, r.raw).toBe('NOERROR');
      expect(r.answers).toEqual(['192.0.2.10']);
    }
    // In school, no identity: the address's group (guests) blocks adult.
    const blocked = await kdigEncrypted(e, {}, 'adult.gh.test');
    expect(blocked.answers).toEqual(['127.0.0.1']);
    expect(blocked.raw).toMatch(/EDE: 15 \(Blocked\)/);
  });

  it('sends the answers to pipelined DoT queries read together in one TLS record, not one record each', async () => {
    const relay = await recordCountingRelay(e.dotPort);
    // TLS 1.2: after the handshake every application-data record is an answer (1.3 adds session tickets).
    const socket = tls.connect({
      host: '127.0.0.1',
      port: relay.port,
      servername: 'dns.test',
      ca: readFileSync(e.certs.ca),
      maxVersion: 'TLSv1.2',
    });
    try {
      await once(socket, 'secureConnect');
      // A cached name (warmed by the first query) and a blocked one: both answered at once, while the chunk is read.
      socket.write(frame(query('www.gh.test', 1)));
      await readFramed(socket, 1);
      const before = relay.records();
      const names = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'www.gh.test' : 'adult.gh.test'));
      const answers = readFramed(socket, names.length);
      socket.write(Buffer.concat(names.map((n, i) => frame(query(n, 100 + i)))));
      const got = await answers;
      expect(got.map((a) => a.readUInt16BE(0)).sort((a, b) => a - b)).toEqual(names.map((_, i) => 100 + i));
      // The 20 queries arrive in one TLS record, so the server reads them as one chunk. Uncorked, the
      // first answer went out alone and the other 19 queued behind it: 2 records.
      expect(relay.records() - before).toBe(1);
    } finally {
      socket.destroy();
      relay.close();
    }
  });

  it('resolves for curl --doh-url, which then loads a page whose name only Gatehouse knows', async () => {
    const device = saveDevice(e.gh.app.db, { mac: 'aa:bb:cc:00:01:01', name: 'Laptop 12' }, 'test');
    const { token } = issueToken(e.gh.app.db, { device, group: 'staff', actor: 'test' });
    e.gh.app.encrypted!.credentials.refresh();
    const { stdout } = await run(
      findProgram('curl')!,
      ['-s', '--cacert', e.certs.ca, '--doh-url', `https://127.0.0.1:${e.dohPort}/dns-query/${token}`, `http://page.gh.test:${pagePort}/`],
      { timeout: 15_000 },
    );
    expect(stdout).toBe('only Gatehouse knows this page\n');
  });

  it('filters a Chrome-style hashed path from outside the school with that person’s policy', async () => {
    const pupil = `/dns-query/${await chromeHash('pupil1@school.example')}`;
    const teacher = `/dns-query/${await chromeHash('teacher1@school.example')}`;
    const asPupil = await kdigEncrypted(e, { doh: pupil, from: OUTSIDE }, 'adult.gh.test');
    expect(asPupil.answers, asPupil.raw).toEqual(['127.0.0.1']);
    expect(asPupil.raw).toMatch(/Blocked: Adult/);
    const asTeacher = await kdigEncrypted(e, { doh: teacher, from: OUTSIDE }, 'adult.gh.test');
    expect(asTeacher.answers, asTeacher.raw).toEqual(['192.0.2.66']);
  });

  it('refuses requests from outside without a known identity: 403 for DoH, REFUSED for DoT, counted', async () => {
    const before = e.gh.app.admission.stats.remoteRefused;
    const unknown = await chromeHash('stranger@school.example');
    for (const path of ['/dns-query', `/dns-query/${unknown}`, '/dns-query/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'])
      expect(await curlStatus(e, `${path}?dns=${query('www.gh.test').toString('base64url')}`, [], OUTSIDE)).toBe('403');
    for (const sni of [undefined, 'dns.test', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.dns.test']) {
      const r = await kdigEncrypted(e, { dot: true, sni, from: OUTSIDE }, 'www.gh.test');
      expect(r.status, r.raw).toBe('REFUSED');
      expect(r.answers).toEqual([]);
    }
    expect(e.gh.app.admission.stats.remoteRefused - before).toBe(6);
    const metrics = await (await fetch(`${e.gh.app.adminUrl}/metrics`)).text();
    expect(Number(/gatehouse_dns_refused_remote_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(6);
    expect(metrics).toMatch(/gatehouse_dns_queries_total\{transport="doh"\} [1-9]/);
    expect(metrics).toMatch(/gatehouse_dns_queries_total\{transport="dot"\} [1-9]/);
    // In school the same unknown identifier is just the address.
    const inside = await kdigEncrypted(e, { doh: `/dns-query/${unknown}` }, 'www.gh.test');
    expect(inside.answers).toEqual(['192.0.2.10']);
  });

  it('takes a device token over DoT (first label of the name) and DoH (path), and a revoked token stops working', async () => {
    const device = saveDevice(e.gh.app.db, { mac: 'aa:bb:cc:00:01:02', name: 'iPad 3' }, 'test');
    const t = issueToken(e.gh.app.db, { device, group: 'pupils', actor: 'test' });
    e.gh.app.encrypted!.credentials.refresh();
    const sni = `${t.token}.dns.test`;
    const dot = await kdigEncrypted(e, { dot: true, sni, from: OUTSIDE }, 'adult.gh.test');
    expect(dot.answers, dot.raw).toEqual(['127.0.0.1']);
    const doh = await kdigEncrypted(e, { doh: `/dns-query/${t.token}`, from: OUTSIDE }, 'www.gh.test');
    expect(doh.answers, doh.raw).toEqual(['192.0.2.10']);
    revokeToken(e.gh.app.db, t.id, 'test');
    e.gh.app.encrypted!.credentials.poll();
    expect((await kdigEncrypted(e, { dot: true, sni, from: OUTSIDE }, 'www.gh.test')).status).toBe('REFUSED');
    expect(await curlStatus(e, `/dns-query/${t.token}?dns=${query('www.gh.test').toString('base64url')}`, [], OUTSIDE)).toBe('403');
  });

  it('logs the transport, the public address and the link `remote` for outside requests, and the identity’s group', async () => {
    const pupil = `/dns-query/${await chromeHash('pupil1@school.example')}`;
    await kdigEncrypted(e, { doh: pupil, from: OUTSIDE }, 'log-remote.gh.test');
    await kdigEncrypted(e, { dot: true }, 'log-inside.gh.test');
    await e.gh.app.queryLog.flush();
    const rows = search(e.gh.app.db, { from: Date.now() - 600_000, to: Date.now() + 1000, domain: 'log-', limit: 100 }).rows;
    const remote = rows.find((r) => r.name === 'log-remote.gh.test')!;
    expect(remote).toMatchObject({ client: OUTSIDE, transport: 'doh', link: 'remote', group: 'pupils' });
    const inside = rows.find((r) => r.name === 'log-inside.gh.test')!;
    expect(inside).toMatchObject({ client: INSIDE, transport: 'dot', group: 'guests' });
    expect(inside.link).not.toBe('remote');
  });

  it('alerts on a block from outside the school as in school, with the public address and the group', async () => {
    const pupil = `/dns-query/${await chromeHash('pupil1@school.example')}`;
    const blocked = await kdigEncrypted(e, { doh: pupil, from: OUTSIDE }, 'adult.gh.test');
    expect(blocked.answers).toEqual(['127.0.0.1']);
    await e.gh.app.queryLog.flush();
    const deadline = Date.now() + 5000;
    const find = () => e.gh.app.alerts.list({ limit: 100 }).items.find((a) => a.domain === 'adult.gh.test' && a.client === OUTSIDE);
    while (!find() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(find()).toMatchObject({ category: 'adult', severity: 'high', group: 'pupils', client: OUTSIDE });
  });

  it('answers malformed DoH with its HTTP status and keeps serving', async () => {
    const q = query('www.gh.test').toString('base64url');
    expect(await curlStatus(e, `/dns-query?dns=${q.slice(0, -1)}*`)).toBe('400'); // not base64url
    expect(await curlStatus(e, `/dns-query?dns=`)).toBe('400');
    expect(await curlStatus(e, `/dns-query`)).toBe('400'); // GET without ?dns=
    expect(await curlStatus(e, `/dns-query?dns=AAAA`)).toBe('400'); // 3 bytes: no DNS message
    expect(await curlStatus(e, `/other?dns=${q}`)).toBe('404');
    expect(await curlStatus(e, `/dns-query`, ['-X', 'PUT'])).toBe('405');
    expect(await curlStatus(e, `/dns-query`, ['-H', 'content-type: application/json', '--data-binary', 'x'])).toBe('415');
    const big = Buffer.alloc(70_000, 1);
    expect(await curlStatus(e, '/dns-query', ['-H', 'content-type: application/dns-message', '--data-binary', '@-'], INSIDE, big)).toBe(
      '413',
    );
    // HTTP/1.1 too.
    expect(await curlStatus(e, `/dns-query?dns=${q}`, ['--http1.1'])).toBe('200');
    expect(await curlStatus(e, `/dns-query`, ['--http1.1', '-X', 'DELETE'])).toBe('405');
    expect((await kdigEncrypted(e, {}, 'www.gh.test')).answers).toEqual(['192.0.2.10']);
  });
});
