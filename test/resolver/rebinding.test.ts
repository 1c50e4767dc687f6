// DNS rebinding protection on its own: which addresses count as private (read
// on the wire), and what the link does to answers, with a stub `next`.
import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { decodeReply, recordData } from '../helpers/client.js';
import ipaddr from 'ipaddr.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { RebindingHandler, isPrivateAddress } from '../../src/resolver/rebinding.js';
import type { Answer, Query } from '../../src/resolver/types.js';
import { parseQuery } from '../../src/resolver/wire.js';

describe('isPrivateAddress', () => {
  it.each([
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.0.1', true],
    ['192.169.0.1', false],
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['0.0.0.0', true],
    ['169.254.10.1', true],
    ['169.255.0.1', false],
    ['100.64.0.1', false],
    ['192.0.2.1', false],
    ['8.8.8.8', false],
    ['::1', true],
    ['::', true],
    ['::2', false],
    ['fe80::1', true],
    ['febf::1', true],
    ['fec0::1', false],
    ['fd00::1', true],
    ['fc00::1', true],
    ['2001:db8::1', false],
    ['::ffff:10.0.0.1', true],
    ['::ffff:192.0.2.1', false],
  ])('%s → %s', (address, expected) => {
    const bytes = Buffer.from(ipaddr.parse(address).toByteArray());
    expect(isPrivateAddress(bytes, 0, bytes.length)).toBe(expected);
  });
});

function query(name: string, type: dnsPacket.RecordType = 'A'): Query {
  const wire = dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
  const parsed = parseQuery(wire);
  if (typeof parsed === 'string') throw new Error(parsed);
  return {
    ...parsed,
    transport: 'udp',
    client: { address: '10.10.0.5', port: 5000, group: { index: 0, name: 'pupils' } },
    wire,
    receivedAt: 0,
  };
}

function upstream(q: Query, answers: dnsPacket.Answer[], source: Answer['source'] = 'upstream'): Answer {
  const wire = dnsPacket.encode({
    type: 'response',
    id: 9,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: q.type === 28 ? 'AAAA' : 'A', name: q.name }],
    answers,
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer],
  });
  return { wire, rcode: 0, source, link: 'primary' };
}

const handler = (extra = '') =>
  new RebindingHandler(
    parseConfig(
      `links: [{ name: p, upstreams: ["udp://127.0.0.1:9"] }]\ngroups: [{ name: everyone, default: true }]\ndns: { rebindProtection: { allowDomains: ["corp.school.test."]${extra} } }`,
    ),
    silentLogger(),
  );

function run(h: RebindingHandler, q: Query, a: Answer) {
  const out = h.resolve(q, () => Promise.resolve(a));
  return Promise.resolve(out).then((r) => ({ answer: r, packet: decodeReply(r.wire) }));
}

const A = (name: string, data: string): dnsPacket.Answer => ({ type: 'A', name, ttl: 300, data });

describe('the rebinding link', () => {
  it('passes an answer with only public addresses through untouched (the same buffer)', async () => {
    const q = query('www.example.org');
    const a = upstream(q, [A('www.example.org', '192.0.2.10')]);
    const h = handler();
    expect((await run(h, q, a)).answer).toBe(a);
    expect(h.stats).toEqual({ answers: 0, records: 0 });
  });

  it('removes private addresses and keeps the rest, the CNAME chain included', async () => {
    const q = query('www.evil.example');
    const a = upstream(q, [
      { type: 'CNAME', name: 'www.evil.example', ttl: 300, data: 'edge.evil.example' },
      A('edge.evil.example', '192.168.1.1'),
      A('edge.evil.example', '192.0.2.20'),
      A('edge.evil.example', '127.0.0.1'),
    ]);
    const h = handler();
    const { packet, answer } = await run(h, q, a);
    expect(packet.rcode).toBe('NOERROR');
    expect(packet.id).toBe(9);
    expect(packet.answers!.map((r) => `${r.type} ${String(recordData(r))}`)).toEqual(['CNAME edge.evil.example', 'A 192.0.2.20']);
    expect(answer.link).toBe('primary');
    expect(h.stats).toEqual({ answers: 1, records: 2 });
  });

  it('leaves NODATA (NOERROR, no address) when every address was private, as unbound does', async () => {
    const q = query('rebind.evil.example', 'AAAA');
    const a = upstream(q, [{ type: 'AAAA', name: 'rebind.evil.example', ttl: 5, data: 'fe80::1' }]);
    const { packet } = await run(handler(), q, a);
    expect(packet.rcode).toBe('NOERROR');
    expect(packet.answers).toEqual([]);
  });

  it.each([
    ['a name under allowDomains', 'dc.corp.school.test', ''],
    ['the allowed domain itself', 'corp.school.test', ''],
    ['localhost', 'localhost', ''],
    ['any name with the protection off', 'www.evil.example', ', enabled: false'],
  ])('keeps private addresses for %s', async (_label, name, extra) => {
    const q = query(name);
    const a = upstream(q, [A(name, '10.1.1.1')]);
    expect((await run(handler(extra), q, a)).answer).toBe(a);
  });

  it('keeps a public name’s CNAME to an allowed name with its private address', async () => {
    const q = query('intranet.school-public.example');
    const a = upstream(q, [
      { type: 'CNAME', name: 'intranet.school-public.example', ttl: 300, data: 'web.corp.school.test' },
      A('web.corp.school.test', '10.1.1.80'),
    ]);
    expect((await run(handler(), q, a)).answer).toBe(a);
  });

  it('never touches answers Gatehouse made itself (block answers with 127.0.0.1)', async () => {
    const q = query('blocked.example');
    const a = upstream(q, [A('blocked.example', '127.0.0.1')], 'policy');
    expect((await run(handler(), q, a)).answer).toBe(a);
  });
});
