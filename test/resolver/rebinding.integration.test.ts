// DNS rebinding protection through the real server: nsd serves public names
// with private addresses; dig gets them without, except under allowDomains;
// Gatehouse's own block answer (127.0.0.1) stays; /metrics counts removals.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from '../helpers/dig.js';
import { startNsd, zone, type NsdServer } from '../helpers/nsd.js';
import { havePrograms } from '../helpers/programs.js';
import { startGatehouse, type Running } from '../helpers/gatehouse.js';

const run = havePrograms('nsd', 'dig');

describe.skipIf(!run)('DNS rebinding protection with nsd and dig', () => {
  let nsd: NsdServer;
  let gh: Running;
  let dir: string;
  beforeAll(async () => {
    nsd = await startNsd({
      'public.test': zone('public.test', [
        'www IN A 192.0.2.10',
        'rebind IN A 10.0.0.5',
        'loop IN A 127.0.0.1',
        'mixed IN A 192.0.2.11',
        'mixed IN A 192.168.1.1',
        'v6 IN AAAA fe80::1',
        'v6 IN AAAA 2001:db8::11',
        'mapped IN AAAA ::ffff:172.16.0.9',
        'intranet IN CNAME web.corp.school.test.',
        'blocked IN A 192.0.2.66',
      ]),
      'corp.school.test': zone('corp.school.test', ['dc IN A 10.1.1.1', 'web IN A 10.1.1.80']),
    });
    dir = mkdtempSync(join(tmpdir(), 'gh-rebind-'));
    writeFileSync(join(dir, 'blocked.txt'), 'blocked.public.test\n');
    gh = await startGatehouse(
      [
        'dns:',
        '  listen: ["127.0.0.1:0"]',
        '  rebindProtection: { allowDomains: [corp.school.test] }',
        `links: [{ name: p, upstreams: ["udp://127.0.0.1:${nsd.port}"], timeoutMs: 1000 }]`,
        'health: { probeIntervalMs: 60000 }',
        'categories: [{ id: adult, name: Adult }]',
        `lists: [{ id: b, category: adult, source: "file:${join(dir, 'blocked.txt')}", format: domains }]`,
        'groups: [{ name: everyone, default: true, block: [adult] }]',
        'admin: { listen: "127.0.0.1:0", metrics: { networks: ["127.0.0.0/8"] }, blockPage: { enabled: false } }',
      ].join('\n'),
      { admin: true },
    );
  });
  afterAll(async () => {
    await gh?.stop();
    await nsd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = async (name: string, type = 'A') => {
    const r = await dig('127.0.0.1', gh.port, name, type);
    return `${r.status} ${r.answers.map((a) => `${a.type}=${a.data}`).join(' ')}`.trim();
  };

  it.each([
    ['www.public.test', 'A', 'NOERROR A=192.0.2.10'],
    ['rebind.public.test', 'A', 'NOERROR'],
    ['loop.public.test', 'A', 'NOERROR'],
    ['mixed.public.test', 'A', 'NOERROR A=192.0.2.11'],
    ['v6.public.test', 'AAAA', 'NOERROR AAAA=2001:db8::11'],
    ['mapped.public.test', 'AAAA', 'NOERROR'],
    ['dc.corp.school.test', 'A', 'NOERROR A=10.1.1.1'],
    ['intranet.public.test', 'A', 'NOERROR CNAME=web.corp.school.test. A=10.1.1.80'],
    // Gatehouse's own block answer is not an upstream answer: its 127.0.0.1 stays.
    ['blocked.public.test', 'A', 'NOERROR A=127.0.0.1'],
  ])('%s %s → %s', async (name, type, expected) => {
    expect(await ask(name, type)).toBe(expected);
    // And the same from the cache.
    expect(await ask(name, type)).toBe(expected);
  });

  it('counts the removals in /metrics', async () => {
    const metrics = await (await fetch(`${gh.app.adminUrl}/metrics`)).text();
    // rebind, loop, mixed, v6, mapped: one upstream answer each (the second ask was a cache hit or a refetch of the same).
    const answers = Number(/gatehouse_dns_rebinding_removed_total\{unit="answers"\} (\d+)/.exec(metrics)?.[1]);
    expect(answers).toBeGreaterThanOrEqual(5);
    expect(gh.app.rebinding.stats.records).toBeGreaterThanOrEqual(5);
  });
});
