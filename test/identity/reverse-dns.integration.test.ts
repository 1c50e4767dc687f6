// Reverse DNS from a real nsd serving an in-addr.arpa zone, as a school's
// domain controller would: a query from an address in identity.reverseDns.networks
// leads (after its answer) to one PTR look-up, and the address then carries
// the PTR name as its device name; an address without a PTR record gets no
// name and is not asked again before negativeTtlSeconds; addresses outside
// the networks are never asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePrograms } from '../helpers/programs.js';
import { startNsd, zone, type NsdServer } from '../helpers/nsd.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGatehouse, baseConfig, type Running } from '../helpers/gatehouse.js';
import { dig } from '../helpers/dig.js';

const ready = havePrograms('nsd', 'dig');

describe.skipIf(!ready)('reverse DNS names from nsd', () => {
  let nsd: NsdServer;
  let upstream: FakeUpstream;
  let gh: Running;

  beforeAll(async () => {
    nsd = await startNsd({
      '0.0.127.in-addr.arpa': zone('0.0.127.in-addr.arpa', [
        '60 120 IN PTR pc01.school.example.',
        '62 IN PTR bad\\000name.school.example.',
      ]),
    });
    upstream = await startFakeUpstream({ 'www.school.test': '192.0.2.1' });
    gh = await startGatehouse(
      baseConfig(
        [{ name: 'primary', upstreams: [upstream.url] }],
        `identity: { reverseDns: { server: "127.0.0.1:${nsd.port}", networks: [127.0.0.0/24], minTtlSeconds: 60, negativeTtlSeconds: 900 } }`,
      ),
    );
  });
  afterAll(async () => {
    await gh?.stop();
    await upstream?.stop();
    await nsd?.stop();
  });

  it('names a device from its PTR record, off the query path', async () => {
    const r = await dig('127.0.0.1', gh.port, 'www.school.test', 'A', ['-b', '127.0.0.60']);
    expect(r.answers[0]?.data).toBe('192.0.2.1');
    await expect.poll(() => gh.app.identity.lookup('127.0.0.60')?.deviceName).toBe('pc01.school.example');
    expect(gh.app.identity.lookup('127.0.0.60')).toMatchObject({ from: { deviceName: 'ptr' } });
    expect(gh.app.identity.lookup('127.0.0.60')?.deviceId).toBeGreaterThan(0);
    // Stored with its TTL (bounded by minTtlSeconds), plus the grace before the re-lookup.
    const rec = gh.app.identity.map.get('ptr', '127.0.0.60')!;
    expect(rec.expiresAt - rec.updatedAt).toBeGreaterThanOrEqual(120_000);
    expect(rec.expiresAt - rec.updatedAt).toBeLessThanOrEqual(120_000 + 61_000);
    // Asked once, however many queries follow.
    const lookups = gh.app.identity.status().reverseDns!.lookups;
    for (let i = 0; i < 3; i++) await dig('127.0.0.1', gh.port, 'www.school.test', 'A', ['-b', '127.0.0.60']);
    expect(gh.app.identity.status().reverseDns!.lookups).toBe(lookups);
  });

  it('gives no name where there is no PTR record, or only an unusable one', async () => {
    const before = gh.app.identity.status().reverseDns!;
    await dig('127.0.0.1', gh.port, 'www.school.test', 'A', ['-b', '127.0.0.61']);
    await dig('127.0.0.1', gh.port, 'www.school.test', 'A', ['-b', '127.0.0.62']);
    await expect.poll(() => gh.app.identity.status().reverseDns!.noName - before.noName).toBe(2);
    expect(gh.app.identity.lookup('127.0.0.61')).toBeUndefined();
    expect(gh.app.identity.lookup('127.0.0.62')).toBeUndefined();
    await dig('127.0.0.1', gh.port, 'www.school.test', 'A', ['-b', '127.0.0.61']);
    expect(gh.app.identity.status().reverseDns!.lookups).toBe(before.lookups + 2);
  });

  it('never asks about addresses outside identity.reverseDns.networks', async () => {
    const before = gh.app.identity.status().reverseDns!.lookups;
    await dig('127.0.0.1', gh.port, 'www.school.test', 'A', ['-b', '127.0.1.5']);
    await new Promise((r) => setTimeout(r, 300));
    expect(gh.app.identity.status().reverseDns!.lookups).toBe(before);
  });
});
