// Failover between internet links with real nsd upstreams that give
// different answers for the same name; and the TCP and TLS transports.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { havePrograms } from '../helpers/programs.js';
import { startNsd, zone } from '../helpers/nsd.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { ask } from '../helpers/client.js';
import { StreamUpstream } from '../../src/resolver/upstream-stream.js';
import { probeQuestion } from '../../src/resolver/links.js';

const ready = havePrograms('nsd');
const primaryZone = zone('link.test', ['which IN A 192.0.2.1']);
const backupZone = zone('link.test', ['which IN A 198.51.100.1']);

async function waitFor(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${limitMs} ms`);
}

describe.skipIf(!ready)('internet links', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('fails over to the backup when the primary stops answering, and fails back once it has been healthy', async () => {
    const primary = await startNsd({ 'link.test': primaryZone });
    const backup = await startNsd({ 'link.test': backupZone });
    cleanup.push(
      () => backup.stop(),
      () => primary.stop(),
    );
    const gh: Running = await startGatehouse(
      baseConfig(
        [
          // Timeouts far above nsd's answer time on a starved CI machine: a
          // slow answer must not count as a failure (which would flap the links).
          { name: 'primary', upstreams: [`udp://127.0.0.1:${primary.port}`], timeoutMs: 1000 },
          { name: 'satellite', upstreams: [`udp://127.0.0.1:${backup.port}`], timeoutMs: 3000 },
        ],
        'cache: { maxEntries: 0 }\nhealth: { failAfter: 2, failbackAfterMs: 1500, probeIntervalMs: 500, probeName: link.test, probeType: SOA }',
      ),
    );
    cleanup.push(() => gh.stop());
    const switches: string[] = [];
    gh.app.links.on('switch', (s: { to: string }) => switches.push(s.to));
    const which = async () => (await ask(gh.port, 'which.link.test', 'A', { timeoutMs: 6000 })).addresses[0];

    expect(await which()).toBe('192.0.2.1');
    expect(gh.app.links.status().current).toBe('primary');

    // The primary goes silent (its process stopped, its ports kept: nothing else can take them).
    primary.pause();
    // Even the first query after the failure is answered (by trying the next link).
    expect(await which()).toBe('198.51.100.1');
    // Two failed probes (500 ms apart, 1 s timeout each): a few seconds at most.
    await waitFor(async () => gh.app.links.status().current === 'satellite', 8000);
    expect(await which()).toBe('198.51.100.1');
    const status = gh.app.links.status();
    expect(status.links.find((l) => l.name === 'primary')?.state).toBe('down');
    expect(status.lastSwitch).toMatchObject({ from: 'primary', to: 'satellite' });

    primary.resume();
    // No flapping: still on the satellite link right after the primary returns…
    expect(await which()).toBe('198.51.100.1');
    // …and back on the primary once it has been healthy for failbackAfterMs.
    await waitFor(async () => (await which()) === '192.0.2.1', 12_000);
    expect(gh.app.links.status().current).toBe('primary');
    expect(switches).toEqual(['satellite', 'primary']);
  }, 60_000);

  it('drops answers whose ID or question do not match and waits for the real one', async () => {
    const { startFakeUpstream } = await import('../helpers/fake-upstream.js');
    const up = await startFakeUpstream({ 'x.test': '192.0.2.9' });
    cleanup.push(() => up.stop());
    const gh = await startGatehouse(
      baseConfig([{ name: 'p', upstreams: [up.url], timeoutMs: 300 }], 'cache: { maxEntries: 0 }\nhealth: { probeIntervalMs: 60000 }'),
    );
    cleanup.push(() => gh.stop());
    for (const behaviour of ['wrong-id', 'wrong-question'] as const) {
      up.behaviour = behaviour;
      expect((await ask(gh.port, 'x.test')).rcode).toBe('SERVFAIL');
    }
    up.behaviour = 'answer';
    expect((await ask(gh.port, 'x.test')).addresses).toEqual(['192.0.2.9']);
  });

  it('retries over TCP when the upstream truncates', async () => {
    const { startFakeUpstream } = await import('../helpers/fake-upstream.js');
    const up = await startFakeUpstream({ 'x.test': '192.0.2.9' });
    cleanup.push(() => up.stop());
    up.behaviour = 'truncate';
    const gh = await startGatehouse(baseConfig([{ name: 'p', upstreams: [up.url] }], 'health: { probeIntervalMs: 60000 }'));
    cleanup.push(() => gh.stop());
    expect((await ask(gh.port, 'x.test')).addresses).toEqual(['192.0.2.9']);
    expect(up.tcpQueries).toBe(1);
  });

  it('resolves over tcp:// and over tls:// with the server name verified', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-tls-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=dns.school.test',
        '-addext',
        'subjectAltName=DNS:dns.school.test',
      ],
      { stdio: 'ignore' },
    );
    const nsd = await startNsd({ 'link.test': primaryZone });
    const tlsNsd = await startNsd({ 'link.test': primaryZone }, { tls: { keyFile: key, certFile: cert } });
    cleanup.push(
      () => nsd.stop(),
      () => tlsNsd.stop(),
    );
    const tlsPort = tlsNsd.tcpPort;
    const tcp = await startGatehouse(
      baseConfig([{ name: 'p', upstreams: [`tcp://127.0.0.1:${nsd.tcpPort}`], timeoutMs: 2000 }], 'health: { probeIntervalMs: 60000 }'),
    );
    cleanup.push(() => tcp.stop());
    expect((await ask(tcp.port, 'which.link.test')).addresses).toEqual(['192.0.2.1']);

    const tlsConfig = (name: string) =>
      [
        'dns: { listen: ["127.0.0.1:0"] }',
        `links: [{ name: p, upstreams: ["tls://127.0.0.1:${tlsPort}"], timeoutMs: 2000, tlsServerName: ${name}, tlsCaFile: ${cert} }]`,
        'groups: [{ name: everyone, default: true }]',
        'health: { probeIntervalMs: 60000 }',
      ].join('\n');
    const good = await startGatehouse(tlsConfig('dns.school.test'));
    cleanup.push(() => good.stop());
    expect((await ask(good.port, 'which.link.test')).addresses).toEqual(['192.0.2.1']);
    const wrongName = await startGatehouse(tlsConfig('evil.example'));
    cleanup.push(() => wrongName.stop());
    expect((await ask(wrongName.port, 'which.link.test')).rcode).toBe('SERVFAIL');

    // A reconnection resumes the TLS session (one round trip saved on the satellite link).
    const upstream = new StreamUpstream(`tls://127.0.0.1:${tlsPort}`, '127.0.0.1', tlsPort, {
      servername: 'dns.school.test',
      caFile: cert,
    });
    cleanup.push(async () => upstream.close());
    const question = probeQuestion('which.link.test', 'A');
    await upstream.query(question, false, false, 5000);
    expect(upstream.resumed).toBe(false);
    await new Promise((r) => setTimeout(r, 100)); // TLS 1.3 tickets arrive after the handshake
    upstream.disconnect();
    const again = await upstream.query(question, false, false, 5000);
    expect(again.readUInt16BE(6)).toBe(1); // one answer
    expect(upstream.resumed).toBe(true);
  });
});
