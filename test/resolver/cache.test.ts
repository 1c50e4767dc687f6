import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { ask } from '../helpers/client.js';

describe('cache', () => {
  let up: FakeUpstream;
  let gh: Running;
  let clock = 1_000_000;
  const now = () => clock;

  const records = { 'a.test': '192.0.2.1', 'b.test': '192.0.2.2', 'c.test': '192.0.2.3' };

  // One server for the file (starting one costs a second); each test starts from an empty cache.
  beforeAll(async () => {
    up = await startFakeUpstream(records);
    gh = await startGatehouse(
      baseConfig(
        [{ name: 'primary', upstreams: [up.url] }],
        'cache: { prefetchMinHits: 2, staleAnswerAfterMs: 200 }\nhealth: { probeIntervalMs: 60000 }',
      ),
      { now },
    );
  });
  afterAll(async () => {
    await gh.stop();
    await up.stop();
  });
  beforeEach(() => {
    clock = 1_000_000;
    gh.app.cache.clear();
    gh.app.cache.stats.stale = 0;
    up.queries = 0;
    up.delayMs = 0;
    up.behaviour = 'answer';
    up.records = new Map(Object.entries(records));
  });

  it('answers a second query from the cache with the client ID and ageing TTLs', async () => {
    const first = await ask(gh.port, 'a.test', 'A', { id: 1111 });
    expect(first.addresses).toEqual(['192.0.2.1']);
    expect(first.ttls).toEqual([300]);
    clock += 100_000; // 100 s later
    const second = await ask(gh.port, 'a.test', 'A', { id: 2222 });
    expect(second.packet.id).toBe(2222);
    expect(second.ttls).toEqual([200]);
    expect(up.queries).toBe(1);
  });

  it("keeps the client's letter case in the question", async () => {
    await ask(gh.port, 'a.test');
    const r = await ask(gh.port, 'A.TeSt');
    expect(r.packet.questions![0].name).toBe('A.TeSt');
    expect(up.queries).toBe(1);
  });

  it('expires entries when their TTL runs out', async () => {
    await ask(gh.port, 'a.test');
    clock += 301_000;
    await ask(gh.port, 'a.test');
    expect(up.queries).toBe(2);
  });

  it('caches NXDOMAIN for min(SOA TTL, MINIMUM) (RFC 2308)', async () => {
    const r = await ask(gh.port, 'nx.test');
    expect(r.rcode).toBe('NXDOMAIN');
    clock += 59_000;
    expect((await ask(gh.port, 'nx.test')).rcode).toBe('NXDOMAIN');
    expect(up.queries).toBe(1);
    clock += 2_000; // past the SOA MINIMUM of 60 s
    await ask(gh.port, 'nx.test');
    expect(up.queries).toBe(2);
  });

  it('never caches SERVFAIL', async () => {
    up.behaviour = 'servfail';
    expect((await ask(gh.port, 'a.test')).rcode).toBe('SERVFAIL');
    up.behaviour = 'answer';
    expect((await ask(gh.port, 'a.test')).addresses).toEqual(['192.0.2.1']);
  });

  it('keys on the DO bit', async () => {
    await ask(gh.port, 'a.test', 'A', { edns: 1232 });
    await ask(gh.port, 'a.test', 'A', { edns: 1232, dnssecOk: true });
    expect(up.queries).toBe(2);
  });

  it('adds an OPT record only for clients that sent one', async () => {
    await ask(gh.port, 'a.test');
    const plain = await ask(gh.port, 'a.test');
    expect(plain.packet.additionals?.some((a) => a.type === 'OPT') ?? false).toBe(false);
    const edns = await ask(gh.port, 'a.test', 'A', { edns: 4096 });
    expect(edns.packet.additionals?.find((a) => a.type === 'OPT')).toMatchObject({ udpPayloadSize: 1232 });
  });

  it('shares one upstream query between identical questions in flight', async () => {
    up.delayMs = 100;
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(gh.port, 'b.test', 'A', { id: i + 1 })));
    expect(replies.map((r) => r.packet.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(replies.every((r) => r.addresses[0] === '192.0.2.2')).toBe(true);
    expect(up.queries).toBe(1);
  });

  it('prefetches a popular entry before it expires', async () => {
    await ask(gh.port, 'c.test');
    await ask(gh.port, 'c.test');
    expect(up.queries).toBe(1);
    clock += 275_000; // inside the last tenth of the 300 s TTL
    up.records.set('c.test', '192.0.2.33');
    expect((await ask(gh.port, 'c.test')).addresses).toEqual(['192.0.2.3']); // served from cache…
    await expect.poll(() => up.queries).toBe(2); // …while it was refreshed in the background
    // …and its answer stored: the cache serves the new one (no second prefetch while one is under way)…
    await expect.poll(async () => (await ask(gh.port, 'c.test')).addresses).toEqual(['192.0.2.33']);
    clock += 30_000; // …still after the old expiry
    expect((await ask(gh.port, 'c.test')).addresses).toEqual(['192.0.2.33']);
    expect(up.queries).toBe(2);
  });

  it('serves stale answers when every link is down (RFC 8767)', async () => {
    await ask(gh.port, 'a.test');
    clock += 400_000; // expired
    up.behaviour = 'drop';
    const r = await ask(gh.port, 'a.test');
    expect(r.addresses).toEqual(['192.0.2.1']);
    expect(r.ttls).toEqual([30]);
    expect(gh.app.cache.stats.stale).toBe(1);
  });

  it('answers SERVFAIL with an Extended DNS Error when nothing is cached and no link answers', async () => {
    up.behaviour = 'drop';
    const r = await ask(gh.port, 'a.test', 'A', { edns: 1232, timeoutMs: 5000 });
    expect(r.rcode).toBe('SERVFAIL');
    const opt = r.packet.additionals!.find((a) => a.type === 'OPT') as unknown as { options: { code: number }[] };
    expect(opt.options[0].code).toBe(15);
  });
});
