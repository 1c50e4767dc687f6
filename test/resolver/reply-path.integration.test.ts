// The reply path of the real server, seen by real clients (dig, kdig, raw
// packets): the cache key with hostile labels, NODATA behind a CNAME against
// nsd, OPT on error replies, NOTIMP's flags, EDE 3 on stale answers, bytes
// after the question and ANY over UDP and TCP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { dig, kdig } from '../helpers/dig.js';
import { buildQuery, exchange, toReply } from '../helpers/client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { startNsd, zone, type NsdServer } from '../helpers/nsd.js';
import { havePrograms } from '../helpers/programs.js';

const ready = havePrograms('nsd', 'dig', 'kdig');

/** A query whose last label is given as raw bytes (a "|" or a "." inside a label). */
function rawQuery(labels: string[], type: number, flags: { dnssecOk?: boolean; checkingDisabled?: boolean } = {}): Buffer {
  const name = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
  const edns = flags.dnssecOk === true;
  const q = Buffer.alloc(12 + name.length + 4 + (edns ? 11 : 0));
  q.writeUInt16BE(0x1001, 0);
  q[2] = 0x01;
  q[3] = flags.checkingDisabled ? 0x10 : 0;
  q.writeUInt16BE(1, 4);
  q.writeUInt16BE(edns ? 1 : 0, 10);
  name.copy(q, 12);
  q.writeUInt16BE(type, 12 + name.length);
  q.writeUInt16BE(1, 14 + name.length);
  if (edns) Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0x80, 0, 0, 0]).copy(q, 16 + name.length);
  return q;
}

const hasOpt = (raw: Buffer) => dnsPacket.decode(raw).additionals?.some((a) => a.type === 'OPT') ?? false;

describe.skipIf(!ready)('the reply path', () => {
  let up: FakeUpstream;
  let nsd: NsdServer;
  let gh: Running;
  let ghNsd: Running;
  let clock = 1_000_000;

  beforeAll(async () => {
    up = await startFakeUpstream({ 'sip.gh.test': '192.0.2.7', 'stale.gh.test': '192.0.2.8' });
    up.rrsets.set('any.gh.test', [
      { type: 'A', name: 'any.gh.test', ttl: 300, data: '192.0.2.9' },
      { type: 'AAAA', name: 'any.gh.test', ttl: 300, data: '2001:db8::9' },
      ...Array.from(
        { length: 6 },
        (_, i) => ({ type: 'TXT', name: 'any.gh.test', ttl: 300, data: `${i}${'t'.repeat(150)}` }) as dnsPacket.Answer,
      ),
      { type: 'MX', name: 'any.gh.test', ttl: 300, data: { preference: 10, exchange: 'mail.gh.test' } },
    ]);
    // alias → www, which has an A record only: AAAA is NODATA behind a CNAME (TTL 3600, SOA MINIMUM 60).
    nsd = await startNsd({ 'cname.test': zone('cname.test', ['www IN A 192.0.2.30', 'alias 3600 IN CNAME www'], 60) });
    const extra = 'cache: { staleAnswerAfterMs: 200 }\nhealth: { probeIntervalMs: 60000, failAfter: 1000 }';
    gh = await startGatehouse(baseConfig([{ name: 'primary', upstreams: [up.url] }], extra), { now: () => clock });
    ghNsd = await startGatehouse(baseConfig([{ name: 'primary', upstreams: [`udp://127.0.0.1:${nsd.port}`], timeoutMs: 2000 }], extra), {
      now: () => clock,
    });
  });
  afterAll(async () => {
    await gh?.stop();
    await ghNsd?.stop();
    await up?.stop();
    await nsd?.stop();
  });
  beforeEach(() => {
    clock = 1_000_000;
    up.behaviour = 'answer';
    gh.app.cache.clear();
    ghNsd.app.cache.clear();
  });

  it.each<[string, string[]]>([
    ['DO', ['+dnssec']],
    ['CD', ['+cdflag']],
    ['DO and CD', ['+dnssec', '+cdflag']],
  ])('a hostile label cannot plant an NXDOMAIN for sip.gh.test A with %s (issue 11)', async (_what, options) => {
    // Asked first, with every combination of flags: "sip", "gh", "test|1|1" and
    // the like ("|" is a legal byte in a label), of types A, NS and MD.
    for (const label of ['test|1|1', 'test|1', 'test|1|1|3'])
      for (const attackerFlags of [{}, { dnssecOk: true }, { checkingDisabled: true }, { dnssecOk: true, checkingDisabled: true }])
        for (const type of [1, 2, 3])
          expect(toReply(await exchange(gh.port, rawQuery(['sip', 'gh', label], type, attackerFlags))).rcode).toBe('NXDOMAIN');
    const r = await dig('127.0.0.1', gh.port, 'sip.gh.test', 'A', options);
    expect(r.status).toBe('NOERROR');
    expect(r.raw).toMatch(/QUESTION SECTION:\n;sip\.gh\.test\.\s+IN\s+A\n/);
    expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.7']);
  });

  it("caches NODATA behind a CNAME for the SOA's negative TTL, not the CNAME's (RFC 2308 §5)", async () => {
    const first = await dig('127.0.0.1', ghNsd.port, 'alias.cname.test', 'AAAA');
    expect(first.status).toBe('NOERROR');
    expect(first.answers.map((a) => a.type)).toEqual(['CNAME']);
    const { misses } = ghNsd.app.cache.stats;
    clock += 59_000;
    await dig('127.0.0.1', ghNsd.port, 'alias.cname.test', 'AAAA');
    expect(ghNsd.app.cache.stats.misses).toBe(misses); // still cached
    clock += 2_000; // past MINIMUM 60, long before the CNAME's 3600
    await dig('127.0.0.1', ghNsd.port, 'alias.cname.test', 'AAAA');
    expect(ghNsd.app.cache.stats.misses).toBe(misses + 1);
  });

  // RFC 6891 §6.1.1: a query with OPT gets OPT back, errors included.
  it.each<[string, () => Promise<Buffer>, string]>([
    ['FORMERR (two questions)', async () => exchange(gh.port, twoQuestions()), 'FORMERR'],
    ['NOTIMP (opcode STATUS)', async () => exchange(gh.port, withOpcode(2)), 'NOTIMP'],
    ['REFUSED (class CH)', async () => exchange(gh.port, chaosQuery()), 'REFUSED'],
  ])('%s with OPT is answered with OPT', async (_what, send, rcode) => {
    const raw = await send();
    expect(toReply(raw).rcode).toBe(rcode);
    expect(hasOpt(raw)).toBe(true);
  });

  it('dig +opcode=status gets NOTIMP with OPT and without RA or CD (RFC 6895 §2)', async () => {
    const r = await dig('127.0.0.1', gh.port, 'www.gh.test', 'A', ['+opcode=status', '+cdflag']);
    expect(r.status).toBe('NOTIMP');
    expect(r.flags).toEqual(['qr', 'rd']);
    expect(r.raw).toContain('OPT PSEUDOSECTION');
  });

  it('marks stale answers with EDE 3 (RFC 8914) and a 30 s TTL', async () => {
    expect((await kdig('127.0.0.1', gh.port, 'stale.gh.test')).answers[0]?.data).toBe('192.0.2.8');
    clock += 400_000; // expired
    up.behaviour = 'drop';
    const r = await kdig('127.0.0.1', gh.port, 'stale.gh.test', 'A', ['+edns']);
    expect(r.answers).toEqual([expect.objectContaining({ data: '192.0.2.8', ttl: 30 })]);
    expect(r.raw).toMatch(/EDE: 3 \(Stale Answer\)/);
  });

  it('answers a query with bytes after its question', async () => {
    const q = Buffer.concat([buildQuery('sip.gh.test', 'A', { edns: 1232 }), Buffer.from('trailing')]);
    expect(toReply(await exchange(gh.port, q))).toMatchObject({ rcode: 'NOERROR', addresses: ['192.0.2.7'] });
  });

  it('answers ANY over UDP with one RRset (RFC 8482), and in full over TCP', async () => {
    const udp = await dig('127.0.0.1', gh.port, 'any.gh.test', 'ANY', ['+notcp', '+ignore']);
    expect(udp.flags).not.toContain('tc');
    expect(udp.answers.map((a) => a.type)).toEqual(['A']);
    expect(Number(/MSG SIZE {2}rcvd: (\d+)/.exec(udp.raw)![1])).toBeLessThan(100);
    const tcp = await dig('127.0.0.1', gh.port, 'any.gh.test', 'ANY', ['+tcp']);
    expect(tcp.answers.map((a) => a.type)).toEqual(['A', 'AAAA', 'TXT', 'TXT', 'TXT', 'TXT', 'TXT', 'TXT', 'MX']);
    const again = await dig('127.0.0.1', gh.port, 'any.gh.test', 'ANY', ['+notcp']); // now from the cache
    expect(again.answers.map((a) => a.type)).toEqual(['A']);
  });

  function twoQuestions(): Buffer {
    return dnsPacket.encode({
      type: 'query',
      id: 9,
      questions: [
        { type: 'A', name: 'a.gh.test' },
        { type: 'A', name: 'b.gh.test' },
      ],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer],
    });
  }
  function chaosQuery(): Buffer {
    const q = buildQuery('version.bind', 'TXT', { edns: 1232 });
    q[q.length - 11 - 1] = 3; // the class before the 11-byte OPT record: CH
    return q;
  }
  function withOpcode(opcode: number): Buffer {
    const q = buildQuery('www.gh.test', 'A', { edns: 1232 });
    q[2] = (opcode << 3) | 1;
    q[3] |= 0x10;
    return q;
  }
});
