// The cache handler alone, with a stub `next` and a clock we move (as
// CoreDNS's TestCacheInsertion): keys, lifetimes, flags, serve-stale,
// prefetch and ANY, table by table. cache.test.ts runs it in the real server.
import v8 from 'node:v8';
import vm from 'node:vm';
import dnsPacket from 'dns-packet';
import { decodeReply, type DecodedReply } from '../helpers/client.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { CacheHandler, cacheKey } from '../../src/resolver/cache.js';
import type { Answer, Query } from '../../src/resolver/types.js';
import { EDE, RCODE, TYPE_ANY, finishResponse, readResponseLayout } from '../../src/resolver/wire.js';
import { baseConfig } from '../helpers/gatehouse.js';
import { labels, responseTo, soa, stubNext, upstream, wireQuery, type QuerySpec } from './wire-fixtures.js';

let clock = 1_000_000;
const now = () => clock;

function cache(extra = ''): CacheHandler {
  return new CacheHandler(parseConfig(baseConfig([{ name: 'primary', upstreams: ['udp://127.0.0.1:53'] }], extra)), now);
}

/** What the client receives: the answer after the server's last step. */
function received(q: Query, answer: Answer): DecodedReply {
  finishResponse(answer.wire, q);
  return decodeReply(answer.wire);
}

const a = (name: string, ttl: number, data = '192.0.2.1'): dnsPacket.Answer => ({ type: 'A', name, ttl, data });
const cname = (name: string, ttl: number, data: string): dnsPacket.Answer => ({ type: 'CNAME', name, ttl, data });

function edeOf(packet: dnsPacket.DecodedPacket): number[] {
  const opt = packet.additionals?.find((r) => r.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  return (opt?.options ?? []).filter((o) => (o.code as number) === 15).map((o) => o.data!.readUInt16BE(0));
}

beforeEach(() => {
  clock = 1_000_000;
});

describe('cache keys', () => {
  // Hostile labels: each could pass for another name with other flags if the
  // key joined the name text with separators (RFC 2181 §11: a label holds any byte).
  const hostile: string[][] = [
    ['sip', 'gh', 'test|1|1'],
    ['sip', 'gh', 'test|1'],
    ['sip', 'gh', 'test|28'],
    ['sip', 'gh', 'test|1|1|3'],
    ['sip.gh', 'test'], // one label holding a dot
    ['sip', 'gh.test'],
    ['sip', 'gh', 'test\\'],
    ['sip', 'gh', 'test\x00'],
    ['sip', 'gh', 'test\x01\x00\x01'],
    ['sip\\.gh', 'test'],
  ];
  const flags: [string, Partial<QuerySpec>][] = [
    ['no flags', {}],
    ['DO', { dnssecOk: true }],
    ['CD', { checkingDisabled: true }],
    ['DO and CD', { dnssecOk: true, checkingDisabled: true }],
  ];
  const types = [1, 2, 3, 28, 255];
  const questions: QuerySpec[] = [];
  for (const l of [['sip', 'gh', 'test'], ...hostile])
    for (const [, f] of flags) for (const type of types) questions.push({ labels: l, type, ...f });

  it('gives every distinct question its own key', () => {
    const keys = new Set(questions.map((spec) => cacheKey(wireQuery(spec))));
    expect(keys.size).toBe(questions.length);
  });

  it('shares one key between letter cases (RFC 4343) and between EDNS and plain queries', () => {
    const key = cacheKey(wireQuery({ labels: labels('www.example.com') }));
    expect(cacheKey(wireQuery({ labels: labels('WwW.ExAmPlE.CoM') }))).toBe(key);
    expect(cacheKey(wireQuery({ labels: labels('www.example.com'), edns: true }))).toBe(key);
    expect(cacheKey(wireQuery({ labels: labels('www.example.com'), type: 28 }))).not.toBe(key);
  });

  // The attack of issue 11: a client's hostile name must not plant an answer for another question.
  it.each(hostile.flatMap((l) => flags.map(([what, f]): [string, string, Partial<QuerySpec>] => [l.join(' / '), what, f])))(
    'a cached NXDOMAIN for [%s] never answers sip.gh.test A with %s',
    async (_label, _flags, f) => {
      const handler = cache();
      const next = stubNext((q) =>
        upstream(
          q.name === 'sip.gh.test'
            ? responseTo(q, { answers: [a('sip.gh.test', 300)] })
            : responseTo(q, { rcode: RCODE.NXDOMAIN, authorities: [soa('gh.test', 900, 900)] }),
        ),
      );
      const attacker = hostile.find((l) => l.join(' / ') === _label)!;
      for (const type of types) await handler.resolve(wireQuery({ labels: attacker, type, ...f }), next);
      for (const type of types) await handler.resolve(wireQuery({ labels: attacker, type }), next);
      const victim = wireQuery({ labels: labels('sip.gh.test'), ...f });
      const reply = received(victim, await handler.resolve(victim, next));
      expect(reply.rcode).toBe('NOERROR');
      expect(reply.questions).toEqual([{ name: 'sip.gh.test', type: 'A', class: 'IN' }]);
      expect(reply.answers).toEqual([expect.objectContaining({ type: 'A', data: '192.0.2.1' })]);
    },
  );
});

describe('cache size', () => {
  // The LRU holds names, each with its entries by kind; cache.maxEntries counts entries.
  it('bounds entries, not names: a name with A, AAAA and a DO copy counts three', async () => {
    const handler = cache('cache: { maxEntries: 4 }');
    const next = stubNext((q) =>
      upstream(
        responseTo(q, { answers: [q.type === 28 ? { type: 'AAAA', name: q.name, ttl: 300, data: '2001:db8::1' } : a(q.name, 300)] }),
      ),
    );
    const ask = (name: string, spec: Partial<QuerySpec> = {}) => handler.resolve(wireQuery({ labels: labels(name), ...spec }), next);
    await ask('one.example');
    await ask('one.example', { type: 28 });
    await ask('one.example', { dnssecOk: true });
    expect(handler.size).toBe(3);
    await ask('two.example');
    expect(handler.size).toBe(4);
    await ask('three.example'); // over the bound: the least recent name goes, with its three entries
    expect(handler.size).toBe(2);
    const before = next.calls.length;
    await ask('two.example');
    await ask('three.example');
    expect(next.calls.length).toBe(before);
    await ask('one.example', { type: 28 });
    expect(next.calls.length).toBe(before + 1);
  });

  it('keeps each kind of a name apart and replaces an entry in place', async () => {
    const handler = cache();
    let address = '192.0.2.1';
    const next = stubNext((q) => upstream(responseTo(q, { answers: [a(q.name, q.type === 1 ? 1 : 300, address)] })));
    const q = () => wireQuery({ labels: labels('www.example.com') });
    expect(received(q(), await handler.resolve(q(), next)).answers).toEqual([expect.objectContaining({ data: '192.0.2.1' })]);
    await handler.resolve(wireQuery({ labels: labels('www.example.com'), checkingDisabled: true }), next);
    clock += 2000; // the A entry (TTL 1) has expired; the CD one has too, but is not asked
    address = '192.0.2.9';
    expect(received(q(), await handler.resolve(q(), next)).answers).toEqual([expect.objectContaining({ data: '192.0.2.9' })]);
    expect(handler.size).toBe(2);
  });
});

describe('cache lifetimes', () => {
  const name = 'www.example.com';
  // [what, config, response, seconds the entry lives (0: never stored), TTLs the client sees at first]
  const cases: [string, string, (q: Query) => Buffer, number, number[]][] = [
    ['an A record', '', (q) => responseTo(q, { answers: [a(name, 300)] }), 300, [300]],
    ['the lowest TTL of the answer', '', (q) => responseTo(q, { answers: [a(name, 300), a(name, 200, '192.0.2.2')] }), 200, [300, 200]],
    ['a TTL under the floor (minTtl)', 'cache: { minTtl: 60 }', (q) => responseTo(q, { answers: [a(name, 5)] }), 60, [60]],
    ['a TTL over the cap (maxTtl)', 'cache: { maxTtl: 3600 }', (q) => responseTo(q, { answers: [a(name, 604800)] }), 3600, [3600]],
    [
      'NXDOMAIN: min(SOA TTL, MINIMUM)',
      '',
      (q) => responseTo(q, { rcode: RCODE.NXDOMAIN, authorities: [soa('example.com', 900, 60)] }),
      60,
      [],
    ],
    [
      'NXDOMAIN: capped by negativeMaxTtl',
      'cache: { negativeMaxTtl: 120 }',
      (q) => responseTo(q, { rcode: RCODE.NXDOMAIN, authorities: [soa('example.com', 3600, 3600)] }),
      120,
      [],
    ],
    ['NODATA: the SOA', '', (q) => responseTo(q, { authorities: [soa('example.com', 900, 90)] }), 90, []],
    [
      'NODATA behind a CNAME: the SOA, not the CNAME (RFC 2308 §5)',
      '',
      (q) => responseTo(q, { answers: [cname(name, 3600, 'edge.example.net')], authorities: [soa('example.net', 900, 60)] }),
      60,
      [60],
    ],
    [
      'NODATA behind a CNAME with a shorter TTL: the CNAME',
      '',
      (q) => responseTo(q, { answers: [cname(name, 20, 'edge.example.net')], authorities: [soa('example.net', 900, 60)] }),
      20,
      [20],
    ],
    [
      'NXDOMAIN behind a CNAME: the SOA',
      '',
      (q) =>
        responseTo(q, {
          rcode: RCODE.NXDOMAIN,
          answers: [cname(name, 3600, 'gone.example.net')],
          authorities: [soa('example.net', 900, 60)],
        }),
      60,
      [60],
    ],
    [
      'a CNAME and its A record: positive',
      '',
      (q) => responseTo(q, { answers: [cname(name, 600, 'edge.example.net'), a('edge.example.net', 300)] }),
      300,
      [600, 300],
    ],
    ['NODATA without an SOA: never stored', '', (q) => responseTo(q, {}), 0, []],
    ['a truncated answer: never stored', '', (q) => responseTo(q, { truncated: true, answers: [a(name, 300)] }), 0, [300]],
    ['SERVFAIL: never stored', '', (q) => responseTo(q, { rcode: RCODE.SERVFAIL }), 0, []],
    ['REFUSED: never stored', '', (q) => responseTo(q, { rcode: RCODE.REFUSED }), 0, []],
  ];
  it.each(cases)('%s', async (_what, extra, make, lifetime, ttls) => {
    const handler = cache(extra);
    const next = stubNext((q) => upstream(make(q)));
    const q = wireQuery({ labels: labels(name) });
    const first = received(q, await handler.resolve(q, next));
    expect(first.answers?.map((r) => (r as { ttl: number }).ttl) ?? []).toEqual(ttls);
    if (lifetime === 0) {
      await handler.resolve(q, next);
      expect(next.calls).toHaveLength(2);
      return;
    }
    clock += lifetime * 1000 - 1000;
    const hit = handler.resolve(q, next) as Answer; // a hit is synchronous
    expect(hit.source).toBe('cache');
    expect(received(q, hit).answers?.map((r) => (r as { ttl: number }).ttl) ?? []).toEqual(ttls.map((t) => Math.max(t - lifetime + 1, 0)));
    clock += 1000;
    await handler.resolve(q, next);
    expect(next.calls).toHaveLength(2);
  });
});

describe('cache flags', () => {
  // [client DO, client AD, client CD, upstream AD] → answer AD (RFC 4035 §3.2.3, RFC 6840 §5.7)
  const cases: [boolean, boolean, boolean, boolean, boolean][] = [
    [false, false, false, true, false],
    [false, true, false, true, true],
    [true, false, false, true, true],
    [true, true, false, true, true],
    [false, true, false, false, false],
    [false, true, true, true, true],
    [false, false, true, true, false],
  ];
  it.each(cases)(
    'DO=%s AD=%s CD=%s, upstream AD=%s → AD=%s, on a miss and on a hit',
    async (dnssecOk, authenticData, checkingDisabled, upstreamAd, ad) => {
      const handler = cache();
      const next = stubNext((q) => upstream(responseTo(q, { ad: upstreamAd, answers: [a('secure.example', 300)] })));
      // A first client with neither bit fills the cache for the DO=0 key; DO=1 has its own entry.
      await handler.resolve(wireQuery({ labels: labels('secure.example'), dnssecOk, checkingDisabled }), next);
      const q = wireQuery({ labels: labels('secure.example'), dnssecOk, authenticData, checkingDisabled, edns: true });
      const hit = handler.resolve(q, next) as Answer;
      expect(hit.source).toBe('cache');
      const reply = received(q, hit);
      expect(reply.flag_ad).toBe(ad);
      expect(reply.flag_cd).toBe(checkingDisabled);
      expect(reply.flag_ra).toBe(true);
      expect(reply.flag_aa).toBe(false);
      expect((reply.additionals?.find((r) => r.type === 'OPT') as dnsPacket.OptAnswer).flag_do).toBe(dnssecOk);
      expect(next.calls).toHaveLength(1);
      // The cache asks upstream with the client's DO and CD; AD is always asked (upstream.ts).
      expect([next.calls[0].dnssecOk, next.calls[0].checkingDisabled]).toEqual([dnssecOk, checkingDisabled]);
    },
  );
});

describe('serve-stale (RFC 8767)', () => {
  const name = 'stale.example';
  const noLink = (q: Query): Answer => ({
    wire: responseTo(q, { rcode: RCODE.SERVFAIL }),
    rcode: RCODE.SERVFAIL,
    source: 'error',
    ede: { code: EDE.NO_REACHABLE_AUTHORITY, text: 'no internet link answered' },
  });
  // [what the links do once the entry has expired, EDNS client]
  const failures: [string, (q: Query) => Answer | Promise<Answer>][] = [
    ['no link answers (the forward link’s SERVFAIL)', noLink],
    ['the upstream answers SERVFAIL', (q) => upstream(responseTo(q, { rcode: RCODE.SERVFAIL }))],
    ['the upstream answers REFUSED', (q) => upstream(responseTo(q, { rcode: RCODE.REFUSED }))],
    ['the links take longer than staleAnswerAfterMs', (q) => new Promise((r) => setTimeout(() => r(noLink(q)), 300))],
    ['the chain throws', () => Promise.reject(new Error('boom'))],
  ];
  it.each(failures)('serves the expired answer with TTL 30 and EDE 3 when %s', async (_what, fail) => {
    const handler = cache('cache: { staleAnswerAfterMs: 50 }');
    let failing = false;
    const next = stubNext((q) => (failing ? fail(q) : upstream(responseTo(q, { answers: [a(name, 300)] }))));
    await handler.resolve(wireQuery({ labels: labels(name) }), next);
    clock += 400_000;
    failing = true;
    for (const edns of [true, false]) {
      const q = wireQuery({ labels: labels(name), edns });
      const answer = await handler.resolve(q, next);
      expect(answer.source).toBe('stale');
      const reply = received(q, answer);
      expect(reply.answers).toEqual([expect.objectContaining({ data: '192.0.2.1', ttl: 30 })]);
      expect(edeOf(reply)).toEqual(edns ? [EDE.STALE_ANSWER] : []);
      expect(reply.additionals?.some((r) => r.type === 'OPT') ?? false).toBe(edns);
    }
    expect(handler.stats.stale).toBe(2);
  });

  it('passes the failure on, with its EDE, to each client in flight when nothing stale is left', async () => {
    const handler = cache('cache: { serveStaleSeconds: 0 }');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const next = stubNext(async (q) => {
      await gate;
      return noLink(q);
    });
    // The first client sent no OPT record; the one that joins it in flight did.
    const plain = wireQuery({ labels: labels(name) });
    const edns = wireQuery({ labels: labels(name), edns: true, id: 7 });
    const answers = [handler.resolve(plain, next), handler.resolve(edns, next)];
    release();
    const [forPlain, forEdns] = await Promise.all(answers);
    expect(next.calls).toHaveLength(1);
    expect(forPlain.wire).not.toBe(forEdns.wire);
    expect(received(plain, forPlain)).toMatchObject({ rcode: 'SERVFAIL', additionals: [] });
    const reply = received(edns, forEdns);
    expect(reply).toMatchObject({ id: 7, rcode: 'SERVFAIL' });
    expect(edeOf(reply)).toEqual([EDE.NO_REACHABLE_AUTHORITY]);
    expect(forEdns.source).toBe('error');
  });

  it("passes the upstream's own EDE on with its SERVFAIL", async () => {
    const handler = cache();
    const next = stubNext((q) => upstream(responseTo(q, { rcode: RCODE.SERVFAIL, ede: { code: 9, text: 'DNSKEY missing' } })));
    const q = wireQuery({ labels: labels('bogus.example'), edns: true });
    expect(edeOf(received(q, await handler.resolve(q, next)))).toEqual([9]);
  });
});

describe('prefetch', () => {
  it.each<[string, number, number, boolean]>([
    ['a popular entry in the last tenth of its TTL', 3, 275, true],
    ['a popular entry earlier in its life', 3, 200, false],
    ['an entry hit fewer than prefetchMinHits times', 1, 275, false],
  ])('%s: refreshed in the background = %s', async (_what, hits, at, refreshed) => {
    const handler = cache('cache: { prefetchMinHits: 2 }');
    let address = '192.0.2.1';
    const next = stubNext((q) => upstream(responseTo(q, { answers: [a('popular.example', 300, address)] })));
    const q = wireQuery({ labels: labels('popular.example') });
    await handler.resolve(q, next);
    for (let i = 1; i < hits; i++) handler.resolve(q, next);
    clock += at * 1000;
    address = '192.0.2.2';
    const hit = handler.resolve(q, next) as Answer;
    expect(received(q, hit).answers).toEqual([expect.objectContaining({ data: '192.0.2.1' })]); // the hit is not held up
    await new Promise((r) => setImmediate(r));
    expect(next.calls).toHaveLength(refreshed ? 2 : 1);
    expect(handler.stats.prefetches).toBe(refreshed ? 1 : 0);
    if (!refreshed) return;
    clock += 30_000; // past the old expiry: the refreshed entry answers
    expect(received(q, handler.resolve(q, next) as Answer).answers).toEqual([expect.objectContaining({ data: '192.0.2.2' })]);
    expect(next.calls).toHaveLength(2);
  });
});

describe('ANY (RFC 8482)', () => {
  const name = 'any.example';
  const records: dnsPacket.Answer[] = [
    a(name, 300),
    a(name, 300, '192.0.2.2'),
    { type: 'AAAA', name, ttl: 300, data: '2001:db8::1' },
    { type: 'TXT', name, ttl: 300, data: 'x'.repeat(200) },
    { type: 'MX', name, ttl: 300, data: { preference: 10, exchange: `mail.${name}` } },
  ];
  const full = (q: Query) =>
    responseTo(q, {
      answers: records,
      authorities: [{ type: 'NS', name, ttl: 300, data: `ns.${name}` }],
      additionals: [a(`ns.${name}`, 300, '192.0.2.53')],
    });

  it.each<['udp' | 'tcp', boolean, string[], number]>([
    ['udp', false, ['A', 'A'], 0],
    ['udp', true, ['A', 'A'], 0],
    ['tcp', false, ['A', 'A', 'AAAA', 'TXT', 'MX'], 1],
    ['tcp', true, ['A', 'A', 'AAAA', 'TXT', 'MX'], 1],
  ])('over %s (from the cache: %s) answers %j', async (transport, fromCache, types, authorities) => {
    const handler = cache();
    const next = stubNext((q) => upstream(full(q)));
    if (fromCache)
      await handler.resolve(wireQuery({ labels: labels(name), type: TYPE_ANY, transport: transport === 'udp' ? 'tcp' : 'udp' }), next);
    const q = wireQuery({ labels: labels(name), type: TYPE_ANY, transport, edns: true });
    const answer = await handler.resolve(q, next);
    expect(answer.source).toBe(fromCache ? 'cache' : 'upstream');
    const reply = received(q, answer);
    expect(reply.answers?.map((r) => r.type)).toEqual(types);
    expect(reply.authorities).toHaveLength(authorities);
    expect(reply.additionals?.map((r) => r.type)).toEqual(transport === 'udp' ? ['OPT'] : ['A', 'OPT']);
    expect(readResponseLayout(answer.wire, q.questionEnd)).not.toBeNull();
    expect(next.calls).toHaveLength(1);
  });

  it('keeps the signatures over the RRset it keeps', async () => {
    const handler = cache();
    const rrsig = (covered: string): dnsPacket.Answer =>
      ({
        type: 'RRSIG',
        name,
        ttl: 300,
        data: {
          typeCovered: covered,
          algorithm: 13,
          labels: 2,
          originalTTL: 300,
          expiration: 2000000000,
          inception: 1700000000,
          keyTag: 1,
          signersName: name,
          signature: Buffer.alloc(64, 1),
        },
      }) as dnsPacket.Answer;
    const next = stubNext((q) => upstream(responseTo(q, { answers: [records[2], rrsig('AAAA'), records[0], rrsig('A')] })));
    const q = wireQuery({ labels: labels(name), type: TYPE_ANY, dnssecOk: true });
    const reply = received(q, await handler.resolve(q, next));
    expect(reply.answers?.map((r) => [r.type, (r as { data?: { typeCovered?: string } }).data?.typeCovered ?? ''])).toEqual([
      ['AAAA', ''],
      ['RRSIG', 'AAAA'],
    ]);
  });

  it('leaves other types whole', async () => {
    const handler = cache();
    const next = stubNext((q) =>
      upstream(
        responseTo(q, {
          answers: [
            { type: 'NS', name, ttl: 300, data: 'a.ns' },
            { type: 'NS', name, ttl: 300, data: 'b.ns' },
          ],
        }),
      ),
    );
    const q = wireQuery({ labels: labels(name), type: 2 }); // NS
    expect(received(q, await handler.resolve(q, next)).answers).toHaveLength(2);
  });
});

describe('configure (a new config)', () => {
  const config = (extra: string) => parseConfig(baseConfig([{ name: 'primary', upstreams: ['udp://127.0.0.1:53'] }], extra));
  const fill = async (handler: CacheHandler) => {
    const next = stubNext((q) => upstream(responseTo(q, { answers: [a('kept.example', 300)] })));
    await handler.resolve(wireQuery({ labels: labels('kept.example') }), next);
  };

  it('keeps the entries when nothing the cache reads changed', async () => {
    const handler = new CacheHandler(config(''), now);
    await fill(handler);
    handler.configure(config(''));
    expect(handler.size).toBe(1);
  });

  it('empties itself when the rebinding rules change: its answers were filtered under the old ones', async () => {
    const handler = new CacheHandler(config(''), now);
    await fill(handler);
    const changed = config('');
    changed.dns.rebindProtection = { ...changed.dns.rebindProtection, allowDomains: ['school.internal'] };
    handler.configure(changed);
    expect(handler.size).toBe(0);
  });
});

describe('memory', () => {
  // An entry stays for its TTL while the answers made around it go at once.
  // Were an entry a slice of Node's shared 8 KiB Buffer pool, it would keep
  // that whole pool alive: 4,000 entries, each stored between enough hits to
  // fill a pool, held 27 MiB here before entries got their own memory.
  it('keeps each entry in memory of its own size, not in a shared pool it would pin', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const handler = cache();
    const next = stubNext((q) => upstream(responseTo(q, { answers: [a(q.name, 300)] })));
    const hot = wireQuery({ labels: labels('hot.example') });
    await handler.resolve(hot, next);
    // Both: V8 keeps an array of up to 64 bytes on its own heap, a larger one's memory outside it.
    const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    gc();
    const before = used();
    for (let i = 0; i < 4000; i++) {
      await handler.resolve(wireQuery({ labels: labels(`n${i}.example`) }), next);
      for (let hit = 0; hit < 100; hit++) handler.resolve(hot, next); // short-lived answers, ~80 bytes each
    }
    gc();
    const held = used() - before;
    expect(handler.size).toBe(4001);
    // About 7 MiB measured with the entries' own memory: they, the LRU's records and the stub's copy of every query asked.
    expect(held).toBeLessThan(12 * 1024 * 1024);
  });
});
