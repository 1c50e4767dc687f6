import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { decodeReply } from '../helpers/client.js';
import {
  errorResponse,
  finishResponse,
  parseFailureResponse,
  parseQuery,
  readName,
  readResponseLayout,
  sameQuestion,
  truncate,
} from '../../src/resolver/wire.js';

function query(name: string, type: dnsPacket.RecordType = 'A', extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }], ...extra });
}

const withOpt = (name: string, udpPayloadSize: number, flags = 0) =>
  query(name, 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize, flags, options: [] } as unknown as dnsPacket.Answer] });

describe('parseQuery', () => {
  it('decodes header, question and EDNS', () => {
    const q = parseQuery(withOpt('WWW.Example.COM', 4096, dnsPacket.DNSSEC_OK));
    expect(q).toMatchObject({
      id: 4242,
      name: 'www.example.com',
      type: 1,
      klass: 1,
      edns: true,
      udpSize: 4096,
      dnssecOk: true,
      recursionDesired: true,
    });
  });

  it('gives 512 bytes and no EDNS to a plain query', () => {
    expect(parseQuery(query('example.com'))).toMatchObject({ edns: false, udpSize: 512, dnssecOk: false });
  });

  it('reads the root name as the empty string', () => {
    expect(parseQuery(query('.', 'NS'))).toMatchObject({ name: '', type: 2 });
  });

  it('escapes unusual bytes in names so they can be shown and never split labels', () => {
    const packet = Buffer.from(query('ab.example'));
    packet[13] = 0x2e; // "a.b" is now one label holding a dot
    packet[14] = 0x3c; // and a "<"
    const q = parseQuery(packet);
    expect(q).toMatchObject({ name: '\\.<.example' });
  });

  const good = query('example.com');
  const cases: [string, () => Buffer, string][] = [
    ['a packet shorter than a header', () => good.subarray(0, 11), 'drop'],
    ['a response', () => Object.assign(Buffer.from(good), { 2: good[2] | 0x80 }), 'drop'],
    ['an opcode other than QUERY (NOTIFY)', () => Object.assign(Buffer.from(good), { 2: (4 << 3) | 1 }), 'notimp'],
    ['no question', () => Object.assign(Buffer.from(good), { 5: 0 }), 'formerr'],
    ['two questions', () => Object.assign(Buffer.from(good), { 5: 2 }), 'formerr'],
    ['an answer section in a query', () => Object.assign(Buffer.from(good), { 7: 1 }), 'formerr'],
    ['a label longer than the packet', () => Object.assign(Buffer.from(good), { 12: 60 }), 'formerr'],
    ['a label length over 63', () => Object.assign(Buffer.from(good), { 12: 64 }), 'formerr'],
    ['a compression pointer to itself', () => Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), 'formerr'],
    ['a forward compression pointer', () => Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 14, 0, 0, 1, 0, 1])]), 'formerr'],
    ['a question cut short', () => good.subarray(0, good.length - 2), 'formerr'],
    ['an additional record count with no record', () => Object.assign(Buffer.from(good), { 11: 1 }), 'formerr'],
    [
      'EDNS version 1',
      () => Object.assign(Buffer.from(withOpt('example.com', 1232)), { [withOpt('example.com', 1232).length - 5]: 1 }),
      'badvers',
    ],
    ['a name longer than 255 bytes', () => query(Array(5).fill('a'.repeat(60)).join('.')), 'formerr'],
  ];
  it.each(cases)('refuses %s', (_what, make, expected) => {
    expect(parseQuery(make())).toBe(expected);
  });

  // unbound and dnsdist answer these normally; so do we (the bytes are ignored).
  it.each([
    ['after the question', Buffer.concat([good, Buffer.from('garbage')]), false],
    ['after the OPT record', Buffer.concat([withOpt('example.com', 1232), Buffer.from([1, 2, 3])]), true],
    ['of 6 KB after the question', Buffer.concat([good, Buffer.alloc(6000, 7)]), false],
  ])('answers a query with bytes %s', (_what, packet, edns) => {
    expect(parseQuery(packet)).toMatchObject({ name: 'example.com', type: 1, questionEnd: good.length, edns });
  });
});

describe('parseFailureResponse', () => {
  const opt = { type: 'OPT', name: '.', udpPayloadSize: 4096, flags: dnsPacket.DNSSEC_OK, options: [] } as unknown as dnsPacket.Answer;
  const withOptRecord = (name: string) => query(name, 'A', { additionals: [opt] });
  const setByte = (packet: Buffer, at: number, value: number) => Object.assign(Buffer.from(packet), { [at]: value });
  const withCd = (packet: Buffer) => setByte(packet, 3, packet[3] | 0x10);
  // [what, packet, failure, rcode, question echoed, OPT expected]
  const cases: [string, Buffer, 'formerr' | 'notimp' | 'badvers', string, boolean, boolean][] = [
    ['NOTIMP (STATUS) with OPT', withCd(setByte(withOptRecord('example.com'), 2, (2 << 3) | 1)), 'notimp', 'NOTIMP', true, true],
    ['NOTIMP (NOTIFY) without OPT', withCd(setByte(query('example.com'), 2, 4 << 3)), 'notimp', 'NOTIMP', true, false],
    ['NOTIMP (UPDATE) with OPT', setByte(withOptRecord('example.com'), 2, 5 << 3), 'notimp', 'NOTIMP', true, true],
    ['FORMERR (an answer record) with OPT', setByte(withOptRecord('example.com'), 7, 1), 'formerr', 'FORMERR', true, true],
    [
      'FORMERR (two questions) with OPT',
      Buffer.from(
        dnsPacket.encode({
          type: 'query',
          id: 4242,
          questions: [
            { type: 'A', name: 'a.example' },
            { type: 'A', name: 'b.example' },
          ],
          additionals: [opt],
        }),
      ),
      'formerr',
      'FORMERR',
      false,
      true,
    ],
    ['FORMERR (two questions) without OPT', setByte(query('example.com'), 5, 2), 'formerr', 'FORMERR', false, false],
    // BADVERS is 16: header RCODE 0, extended RCODE 1 in the OPT record.
    ['BADVERS', setByte(withOptRecord('example.com'), withOptRecord('example.com').length - 5, 1), 'badvers', 'NOERROR', true, true],
  ];
  it.each(cases)('%s', (_what, packet, failure, rcode, echoed, edns) => {
    expect(parseQuery(packet)).toBe(failure);
    const reply = parseFailureResponse(packet, failure, 1232);
    const decoded = decodeReply(reply);
    expect(decoded.id).toBe(4242);
    expect(decoded.rcode).toBe(rcode);
    expect(decoded.questions).toEqual(echoed ? [{ name: 'example.com', type: 'A', class: 'IN' }] : []);
    const replyOpt = decoded.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
    expect(replyOpt !== undefined).toBe(edns);
    if (replyOpt) expect(replyOpt).toMatchObject({ udpPayloadSize: 1232, flag_do: true, extendedRcode: failure === 'badvers' ? 1 : 0 });
    expect(reply[2] & 0x78).toBe(packet[2] & 0x78); // the client's opcode
    // RFC 6895 §2: RA and CD mean nothing outside QUERY; AD is never ours to set here.
    expect(reply[3] & 0xf0).toBe(failure === 'notimp' ? 0 : 0x80 | (packet[3] & 0x10));
  });
});

describe('finishResponse', () => {
  const answerFor = (name: string) =>
    dnsPacket.encode({
      type: 'response',
      id: 0,
      questions: [{ type: 'A', name }],
      answers: [{ type: 'A', name, data: '192.0.2.1' }],
    });

  it("writes the client's ID and its letter case into the question", () => {
    const q = query('WwW.ExAmPlE.CoM');
    const answer = answerFor('www.example.com');
    finishResponse(answer, { id: 4242, questionEnd: q.length, wire: q });
    expect(dnsPacket.decode(answer)).toMatchObject({ id: 4242, questions: [{ name: 'WwW.ExAmPlE.CoM' }] });
  });

  it('never puts the question over an answer to another question', () => {
    const q = query('www.example.org');
    const answer = answerFor('www.example.com');
    finishResponse(answer, { id: 7, questionEnd: q.length, wire: q });
    expect(dnsPacket.decode(answer)).toMatchObject({ id: 7, questions: [{ name: 'www.example.com' }] });
  });
});

describe('readName', () => {
  // The cache key (cache.ts) relies on this: one name per wire name, never a byte up to 0x20.
  it('reads every label byte into a distinct name that holds no byte up to 0x20', () => {
    const names = new Set<string>();
    const labels: Buffer[] = [];
    for (let b = 0; b < 256; b++)
      if (b < 0x41 || b > 0x5a) labels.push(Buffer.from([b]), Buffer.from([0x61, b]), Buffer.from([b, 0x2e, b]));
    labels.push(Buffer.from('\\.'), Buffer.from('\\046'), Buffer.from('\\\\'));
    for (const label of labels) {
      const packet = Buffer.concat([Buffer.alloc(12), Buffer.from([label.length]), label, Buffer.from([1, 0x78, 0])]);
      const out = { name: '' };
      expect(readName(packet, 12, out)).toBe(packet.length);
      expect([...out.name].every((c) => c.charCodeAt(0) > 0x20)).toBe(true);
      names.add(out.name);
    }
    expect(names.size).toBe(labels.length);
  });

  it('follows backward pointers', () => {
    const packet = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'A', name: 'a.example.com' }],
      answers: [{ type: 'CNAME', name: 'a.example.com', data: 'b.example.com' }],
    });
    const layout = readResponseLayout(packet, 12 + 15 + 4);
    expect(layout?.cnames).toEqual(['b.example.com']);
    const out = { name: '' };
    expect(readName(packet, 12, out)).toBe(12 + 15);
    expect(out.name).toBe('a.example.com');
  });
});

describe('readResponseLayout', () => {
  it('finds TTLs, the OPT record and the negative TTL from the SOA', () => {
    const packet = dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: 3, // NXDOMAIN: dns-packet takes the rcode from the flags
      questions: [{ type: 'A', name: 'nx.example.com' }],
      authorities: [
        {
          type: 'SOA',
          name: 'example.com',
          ttl: 900,
          data: { mname: 'ns.example.com', rname: 'h.example.com', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 120 },
        },
      ],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer],
    } as dnsPacket.Packet);
    const layout = readResponseLayout(packet, 12 + 16 + 4)!;
    expect(layout.rcode).toBe(3);
    expect(layout.ttls).toEqual([900]);
    expect(layout.negativeTtl).toBe(120);
    expect(layout.optEnd).toBe(packet.length);
  });

  it.each<[string, dnsPacket.RecordType, dnsPacket.Answer[], number]>([
    ['an A answer', 'A', [{ type: 'A', name: 'a.example', data: '192.0.2.1' }], 1],
    [
      'CNAME then A',
      'A',
      [
        { type: 'CNAME', name: 'a.example', data: 'b.example' },
        { type: 'A', name: 'b.example', data: '192.0.2.1' },
      ],
      1,
    ],
    ['CNAME then nothing (NODATA behind a CNAME)', 'AAAA', [{ type: 'CNAME', name: 'a.example', data: 'b.example' }], 0],
    ['the CNAME asked for', 'CNAME', [{ type: 'CNAME', name: 'a.example', data: 'b.example' }], 1],
    [
      'ANY: every record',
      'ANY' as dnsPacket.RecordType, // dns-packet's types leave ANY out
      [
        { type: 'A', name: 'a.example', data: '192.0.2.1' },
        { type: 'TXT', name: 'a.example', data: 'x' },
      ],
      2,
    ],
  ])('counts the answers of the question type: %s', (_what, type, answers, expected) => {
    const packet = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type, name: 'a.example' }], answers });
    expect(readResponseLayout(packet, 12 + 11 + 4)?.answersOfType).toBe(expected);
  });

  it('rejects a record running past the end', () => {
    const packet = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'A', name: 'x.com' }],
      answers: [{ type: 'A', name: 'x.com', data: '1.2.3.4' }],
    });
    expect(readResponseLayout(packet.subarray(0, packet.length - 2), 12 + 7 + 4)).toBeNull();
  });
});

describe('answers made here', () => {
  it('errorResponse echoes ID and question and sets the rcode', () => {
    const q = query('Example.com');
    const r = dnsPacket.decode(errorResponse(q, 2, { questionEnd: q.length }));
    expect(r).toMatchObject({ id: 4242, rcode: 'SERVFAIL', questions: [{ name: 'Example.com' }] });
  });

  it('errorResponse can carry an Extended DNS Error', () => {
    const q = query('example.com');
    const r = dnsPacket.decode(
      errorResponse(q, 2, { questionEnd: q.length, edns: true, udpSize: 1232, ede: { code: 22, text: 'no link' } }),
    );
    const opt = r.additionals!.find((a) => a.type === 'OPT') as unknown as { options: { code: number; data: Buffer }[] };
    expect(opt.options[0].code).toBe(15);
    expect(opt.options[0].data.readUInt16BE(0)).toBe(22);
    expect(opt.options[0].data.subarray(2).toString()).toBe('no link');
  });

  it('truncate keeps the question and sets TC', () => {
    const q = query('example.com');
    const big = dnsPacket.encode({
      type: 'response',
      id: 4242,
      questions: [{ type: 'TXT', name: 'example.com' }],
      answers: [{ type: 'TXT', name: 'example.com', data: 'x'.repeat(200) }],
    });
    const t = dnsPacket.decode(truncate(big, q.length, true, 1232, false));
    expect(t.flag_tc).toBe(true);
    expect(t.answers).toHaveLength(0);
    expect(t.questions).toHaveLength(1);
  });

  it('sameQuestion ignores case in the name only', () => {
    const a = Buffer.from([3, 0x41, 0x42, 0x43, 0, 0, 0x41, 0, 1]);
    const b = Buffer.from([3, 0x61, 0x62, 0x63, 0, 0, 0x41, 0, 1]);
    const c = Buffer.from([3, 0x61, 0x62, 0x63, 0, 0, 0x61, 0, 1]);
    expect(sameQuestion(a, 0, b, 0, 9)).toBe(true);
    expect(sameQuestion(a, 0, c, 0, 9)).toBe(false);
  });
});
