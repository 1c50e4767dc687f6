// A validating upstream's DNSSEC verdicts, end to end through Gatehouse with
// two loopback fake upstreams (primary: a validator; satellite: a resolver
// that does not validate and has the forged data):
// - SERVFAIL with a DNSSEC EDE is the answer: the client gets it with the
//   upstream's EDE code and text, the satellite is never asked, and the
//   primary link counts no failure;
// - a plain SERVFAIL still counts against the link and tries the next one;
// - AD reaches a client that set DO or AD, and only such a client.
// The same with real unbound and nsd: test/integration/unbound-recursion.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { BOGUS_TEXT, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { ask, exchange, toReply } from '../helpers/client.js';

let primary: FakeUpstream;
let satellite: FakeUpstream;
let gh: Running;

interface EdeOption {
  code: number;
  data: Buffer;
}
function edes(packet: dnsPacket.DecodedPacket): { code: number; text: string }[] {
  const opt = packet.additionals?.find((a) => a.type === 'OPT') as unknown as { options: EdeOption[] } | undefined;
  return (opt?.options ?? [])
    .filter((o) => o.code === 15)
    .map((o) => ({ code: o.data.readUInt16BE(0), text: o.data.subarray(2).toString() }));
}

/** A query with the header flags given (RD always), optionally with EDNS and DO. */
function query(name: string, flags: number, edns?: { dnssecOk: boolean }): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED | flags,
    questions: [{ type: 'A', name }],
    additionals: edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: edns.dnssecOk ? dnsPacket.DNSSEC_OK : 0 } as unknown as dnsPacket.Answer]
      : [],
  });
}

beforeAll(async () => {
  primary = await startFakeUpstream({ 'signed.test': '192.0.2.10' });
  satellite = await startFakeUpstream({ 'signed.test': '192.0.2.10', 'bad.test': '192.0.2.66' });
  gh = await startGatehouse(
    baseConfig(
      [
        { name: 'primary', upstreams: [primary.url] },
        { name: 'satellite', upstreams: [satellite.url] },
      ],
      // No probes during the test: every query the satellite sees is a client's.
      'cache: { maxEntries: 1000 }\nhealth: { failAfter: 3, probeIntervalMs: 600000 }',
    ),
  );
});
afterAll(async () => {
  await gh.stop();
  await primary.stop();
  await satellite.stop();
});
beforeEach(() => {
  gh.app.cache.clear();
  for (const up of [primary, satellite]) {
    up.queries = 0;
    up.behaviour = 'answer';
    up.validated = false;
  }
});

describe('a validator’s DNSSEC verdict (SERVFAIL with a DNSSEC EDE)', () => {
  it('reaches the client with the upstream’s EDE code and text, and never goes to the satellite link', async () => {
    primary.behaviour = 'bogus';
    for (let i = 0; i < 5; i++) {
      const r = await ask(gh.port, 'bad.test', 'A', { edns: 1232, dnssecOk: i % 2 === 0 });
      expect(r.rcode).toBe('SERVFAIL');
      expect(r.addresses).toEqual([]);
      expect(edes(r.packet)).toEqual([{ code: 6, text: BOGUS_TEXT.replace('<name>', '<bad.test. A IN>') }]);
    }
    expect(primary.queries).toBe(5); // a SERVFAIL is never cached
    expect(satellite.queries).toBe(0);
    const status = gh.app.links.status();
    expect(status.current).toBe('primary');
    expect(status.links[0]).toMatchObject({ name: 'primary', state: 'up', consecutiveFailures: 0, failures: 0 });
  });

  it('over TCP too, and a client without EDNS gets the SERVFAIL without an OPT record', async () => {
    primary.behaviour = 'bogus';
    const tcp = await ask(gh.port, 'bad.test', 'A', { edns: 1232, tcp: true });
    expect(tcp.rcode).toBe('SERVFAIL');
    expect(edes(tcp.packet).map((e) => e.code)).toEqual([6]);
    const plain = await ask(gh.port, 'bad.test');
    expect(plain.rcode).toBe('SERVFAIL');
    expect(plain.packet.additionals ?? []).toEqual([]);
    expect(satellite.queries).toBe(0);
  });

  it('unlike a plain SERVFAIL, which counts against the link and is asked again on the satellite link', async () => {
    primary.behaviour = 'servfail';
    const r = await ask(gh.port, 'bad.test', 'A', { edns: 1232 });
    expect(r.rcode).toBe('NOERROR');
    expect(r.addresses).toEqual(['192.0.2.66']);
    expect(satellite.queries).toBe(1);
    expect(gh.app.links.status().links[0].consecutiveFailures).toBe(1);
    // One good answer from the primary ends the run of failures.
    primary.behaviour = 'answer';
    expect((await ask(gh.port, 'signed.test')).addresses).toEqual(['192.0.2.10']);
    expect(gh.app.links.status().links[0].consecutiveFailures).toBe(0);
  });
});

describe('the AD bit', () => {
  beforeEach(() => {
    primary.validated = true;
  });

  it('is asked of the upstream even when the client sets neither DO nor AD', async () => {
    await exchange(gh.port, query('signed.test', 0));
    expect(primary.lastQueryFlags & dnsPacket.AUTHENTIC_DATA).toBe(dnsPacket.AUTHENTIC_DATA);
  });

  it.each([
    ['AD=1, no EDNS', dnsPacket.AUTHENTIC_DATA, undefined, true],
    ['AD=1, EDNS without DO', dnsPacket.AUTHENTIC_DATA, { dnssecOk: false }, true],
    ['DO=1', 0, { dnssecOk: true }, true],
    ['neither DO nor AD', 0, { dnssecOk: false }, false],
    ['neither, no EDNS', 0, undefined, false],
  ])('client with %s: AD %s', async (_, flags, edns, expected) => {
    // Twice: from the upstream, then from the cache (filled by another kind of client first).
    await exchange(gh.port, query('signed.test', flags ^ dnsPacket.AUTHENTIC_DATA, edns));
    for (let i = 0; i < 2; i++) {
      const r = toReply(await exchange(gh.port, query('signed.test', flags, edns)));
      expect(r.addresses).toEqual(['192.0.2.10']);
      expect(((r.packet.flags ?? 0) & dnsPacket.AUTHENTIC_DATA) !== 0).toBe(expected);
    }
  });

  it('is never set on an answer the upstream did not validate', async () => {
    primary.validated = false;
    const r = toReply(await exchange(gh.port, query('signed.test', dnsPacket.AUTHENTIC_DATA, { dnssecOk: true })));
    expect((r.packet.flags ?? 0) & dnsPacket.AUTHENTIC_DATA).toBe(0);
  });
});
