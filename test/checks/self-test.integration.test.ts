// The self-test against the real Gatehouse on loopback: lists from files, the
// real policy, a fake upstream on 127.0.0.1. Pupils query from 127.0.0.2, staff
// from 127.0.0.3, guests from 127.0.0.1.
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Gatehouse } from '../../src/app.js';
import { parseConfig, type Config } from '../../src/config.js';
import { formatTable, runSelfTest } from '../../src/checks/self-test.js';
import { createLogger } from '../../src/log.js';

let dir: string;
let upstream: dgram.Socket;
let app: Gatehouse;
let config: Config;
let server: string;

/** Answers every question with 192.0.2.1, like a working internet resolver. */
async function startUpstream(): Promise<number> {
  upstream = dgram.createSocket('udp4');
  upstream.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const reply = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions,
      answers: q.questions!.filter((x) => x.type === 'A').map((x) => ({ type: 'A' as const, name: x.name, ttl: 300, data: '192.0.2.1' })),
    });
    upstream.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((ok) => upstream.bind(0, '127.0.0.1', () => ok()));
  return upstream.address().port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-selftest-'));
  writeFileSync(join(dir, 'iwf.txt'), 'iwf-test.gatehouse.test\n');
  writeFileSync(join(dir, 'adult.txt'), 'adult-example.gatehouse.test\n');
  writeFileSync(join(dir, 'social.txt'), 'social-example.gatehouse.test\n');
  const upstreamPort = await startUpstream();
  const text = `
dns: { listen: ["127.0.0.1:0"], block: { mode: address, a: 192.0.2.99, aaaa: "::1" } }
links: [{ name: primary, upstreams: ["udp://127.0.0.1:${upstreamPort}"], timeoutMs: 500 }]
health: { probeIntervalMs: 60000 }
categories:
  - { id: iwf, name: IWF, illegal: true, severity: critical }
  - { id: adult, name: Adult, severity: high }
  - { id: social, name: Social }
lists:
  - { id: iwf, category: iwf, source: "file:iwf.txt", format: domains }
  - { id: adult, category: adult, source: "file:adult.txt", format: domains }
  - { id: social, category: social, source: "file:social.txt", format: domains }
groups:
  - { name: pupils, networks: ["127.0.0.2/32"], block: [adult, social] }
  - { name: staff, networks: ["127.0.0.3/32"], block: [] }
  - { name: guests, default: true, block: [adult] }
store: { path: data/gatehouse.db }
checks:
  names: { iwf: [iwf-test.gatehouse.test], adult: [adult-example.gatehouse.test], social: [social-example.gatehouse.test] }
  allowed: [www.example.org]
  timeoutMs: 1000
`;
  config = parseConfig(text, join(dir, 'gatehouse.yaml'));
  app = buildApp(config, { admin: false, logger: createLogger('silent') });
  await app.start();
  const bound = app.server.addresses().udp[0];
  server = `127.0.0.1:${bound.port}`;
});

afterAll(async () => {
  await app?.stop();
  upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('self-test against the real resolver', () => {
  it('passes: illegal blocked for all, categories per group, allowed names and the DoH canary', async () => {
    const r = await runSelfTest({ config, server, localAddresses: ['127.0.0.1'] });
    expect(r.failed, formatTable(r)).toBe(0);
    expect(r.ok).toBe(true);
    const row = (group: string, category: string) => r.cases.find((c) => c.group === group && c.category === category)!;
    expect(row('staff', 'iwf')).toMatchObject({ source: '127.0.0.3', expected: 'blocked', actual: 'blocked' });
    expect(row('staff', 'adult')).toMatchObject({ expected: 'allowed', actual: 'allowed' });
    expect(row('pupils', 'social')).toMatchObject({ source: '127.0.0.2', expected: 'blocked', actual: 'blocked' });
    expect(row('guests', 'social')).toMatchObject({ source: '127.0.0.1', expected: 'allowed', actual: 'allowed' });
    expect(row('guests', 'canary')).toMatchObject({ expected: 'blocked', actual: 'blocked' });
    expect(row('pupils', 'adult').detail).toMatch(/EDE 1[57]/);
  });

  it('fails when the running filter differs from the config', async () => {
    // The config now says staff block social, but the running service was not reloaded.
    const changed = parseConfig(
      JSON.stringify({
        ...JSON.parse(JSON.stringify(config)),
        groups: config.groups.map((g) => (g.name === 'staff' ? { ...g, block: ['social'] } : g)),
      }),
      join(dir, 'gatehouse.yaml'),
    );
    const r = await runSelfTest({ config: changed, server, localAddresses: ['127.0.0.1'], groups: ['staff'] });
    expect(r.ok).toBe(false);
    expect(r.cases.filter((c) => !c.ok).map((c) => `${c.group}/${c.category}:${c.actual}`)).toEqual(['staff/social:allowed']);
  });
});
