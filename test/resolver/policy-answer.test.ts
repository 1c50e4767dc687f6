import dnsPacket from 'dns-packet';
import { decodeReply } from '../helpers/client.js';
import { describe, expect, it } from 'vitest';
import type { Answer } from '../../src/resolver/types.js';
import { finishResponse } from '../../src/resolver/wire.js';
import { CONFIG_YAML, fakeNext, makePolicy, makeQuery, testConfig, type QueryOptions } from './policy-fixtures.js';

interface Ede {
  code: number;
  text: string;
}

function edeOf(answer: Answer): Ede | undefined {
  const opt = dnsPacket.decode(answer.wire).additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  const option = opt?.options.find((o) => (o.code as number) === 15);
  if (!option?.data) return undefined;
  return { code: option.data.readUInt16BE(0), text: option.data.subarray(2).toString('utf8') };
}

function blockFor(name: string, opts: QueryOptions = {}, yaml = CONFIG_YAML): Answer {
  const { policy } = makePolicy({ config: testConfig(yaml) });
  return policy.resolve(makeQuery(name, opts), fakeNext()) as Answer;
}

describe('PolicyHandler: block answers on the wire', () => {
  it("echoes question bytes and letter case, RD; sets QR and RA; the server's last step writes the ID", () => {
    const q = makeQuery('www.adult.example', { wireName: 'WwW.AdUlT.eXample', id: 0xbeef });
    const { policy } = makePolicy();
    const answer = policy.resolve(q, fakeNext()) as Answer;
    expect(answer.wire.subarray(12, q.questionEnd)).toEqual(q.wire.subarray(12, q.questionEnd));
    expect(answer.wire.readUInt16BE(0)).toBe(0); // no handler writes the ID
    finishResponse(answer.wire, q);
    const packet = dnsPacket.decode(answer.wire);
    expect(packet.id).toBe(0xbeef);
    expect(packet.type).toBe('response');
    expect(packet.flag_rd).toBe(true);
    expect(packet.flag_ra).toBe(true);
    expect(packet.flag_aa).toBe(false);
    expect(packet.questions).toEqual([{ name: 'WwW.AdUlT.eXample', type: 'A', class: 'IN' }]);
    expect(packet.answers).toEqual([expect.objectContaining({ name: 'WwW.AdUlT.eXample', type: 'A', ttl: 60, data: '10.0.0.80' })]);
    expect(packet.additionals).toEqual([]);
    expect(answer.rcode).toBe(0);
    const noRd = blockFor('adult.example', { rd: false });
    expect(dnsPacket.decode(noRd.wire).flag_rd).toBe(false);
  });

  it.each<[string, string, dnsPacket.RecordType, number, [string, string][]]>([
    ['address', 'A', 'A', 0, [['A', '10.0.0.80']]],
    ['address', 'AAAA', 'AAAA', 0, [['AAAA', 'fd00::80']]],
    ['address', 'MX (NODATA)', 'MX', 0, []],
    ['null', 'A', 'A', 0, [['A', '0.0.0.0']]],
    ['null', 'AAAA', 'AAAA', 0, [['AAAA', '::']]],
    ['null', 'TXT (NODATA)', 'TXT', 0, []],
    ['nxdomain', 'A', 'A', 3, []],
    ['nxdomain', 'AAAA', 'AAAA', 3, []],
  ])('mode %s, %s', (mode, _label, type, rcode, records) => {
    const answer = blockFor('adult.example', { type }, CONFIG_YAML.replace('mode: address', `mode: "${mode}"`));
    const packet = decodeReply(answer.wire);
    expect(answer.rcode).toBe(rcode);
    expect(packet.rcode).toBe(rcode === 3 ? 'NXDOMAIN' : 'NOERROR');
    expect(packet.answers?.map((a) => [a.type, (a as dnsPacket.StringAnswer).data])).toEqual(records);
    for (const a of packet.answers ?? []) expect((a as { ttl: number }).ttl).toBe(60);
  });

  it('takes an unquoted YAML null as mode "null"', () => {
    const answer = blockFor('adult.example', {}, CONFIG_YAML.replace('mode: address', 'mode: null'));
    expect((dnsPacket.decode(answer.wire).answers?.[0] as dnsPacket.StringAnswer).data).toBe('0.0.0.0');
  });

  it('uses the configured TTL', () => {
    const answer = blockFor('adult.example', {}, CONFIG_YAML.replace('ttl: 60', 'ttl: 5'));
    expect((dnsPacket.decode(answer.wire).answers?.[0] as { ttl: number }).ttl).toBe(5);
  });

  it('adds OPT only when the query had EDNS, echoing DO and advertising our UDP size', () => {
    for (const dnssecOk of [false, true]) {
      const answer = blockFor('adult.example', { edns: true, dnssecOk });
      const opt = dnsPacket.decode(answer.wire).additionals?.[0] as dnsPacket.OptAnswer;
      expect(opt.type).toBe('OPT');
      expect(opt.udpPayloadSize).toBe(1232);
      expect(opt.flag_do).toBe(dnssecOk);
    }
    expect(dnsPacket.decode(blockFor('adult.example').wire).additionals).toEqual([]);
  });

  it.each<[string, QueryOptions['group'], Ede]>([
    ['adult.example', 'pupils', { code: 15, text: 'Blocked: Pornography' }],
    ['vpn.example', 'staff', { code: 15, text: 'Blocked: VPN, proxy and DoH circumvention' }],
    ['free-p0rn.example', 'staff', { code: 17, text: 'Filtered: Pornography' }],
    ['abuse.example', 'staff', { code: 15, text: 'Blocked: illegal content (IWF/CTIRU)' }],
    ['www.terror.example', 'guests', { code: 15, text: 'Blocked: illegal content (IWF/CTIRU)' }],
    ['use-application-dns.net', 'pupils', { code: 17, text: 'Filtered: Firefox DNS-over-HTTPS canary' }],
  ])('EDE for %s (%s)', (name, group, ede) => {
    expect(edeOf(blockFor(name, { group, edns: true }))).toEqual(ede);
  });

  it.each([['abuse.example'], ['secret-page.abuse.example'], ['x.terror.example']])(
    'never puts the illegal name %s, or any of its labels, in the answer beyond the question',
    (name) => {
      for (const mode of ['address', 'nxdomain', 'null']) {
        const q = makeQuery(name, { edns: true });
        const { policy } = makePolicy({ config: testConfig(CONFIG_YAML.replace('mode: address', `mode: "${mode}"`)) });
        const answer = policy.resolve(q, fakeNext()) as Answer;
        const afterQuestion = answer.wire.subarray(q.questionEnd).toString('latin1');
        for (const label of name.split('.')) expect(afterQuestion).not.toContain(label);
        expect(edeOf(answer)?.text).not.toMatch(/abuse|terror|example/);
        expect(answer.decision?.reason).toBe('illegal');
      }
    },
  );

  it('never names the CNAME target that caused a block', async () => {
    const { policy } = makePolicy();
    const answer = await policy.resolve(makeQuery('short.example', { edns: true }), fakeNext({ 'short.example': ['cdn-adult.example'] }));
    expect(answer.wire.toString('latin1')).not.toContain('cdn-adult');
    expect(edeOf(answer)).toEqual({ code: 15, text: 'Blocked: Pornography' });
  });
});
