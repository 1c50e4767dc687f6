// Extended DNS Errors in upstream answers (src/resolver/ede.ts): finding the
// EDE options of an OPT record, and telling a validator's DNSSEC verdict from
// a SERVFAIL that is the link's fault.
import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { edeInfoCodes, edeOptions, isValidationFailure } from '../../src/resolver/ede.js';
import { HEADER_SIZE, OPT_SIZE, readResponseLayout, writeOpt } from '../../src/resolver/wire.js';

type Option = { code: number; data: Buffer };
const ede = (code: number, text = ''): Option => ({
  code: 15,
  data: Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(text)]),
});
const cookie: Option = { code: 10, data: Buffer.alloc(8, 1) };

/** An answer to bad.test A with the given rcode and OPT options (none: no OPT record). */
function answer(rcode: number, options?: Option[]): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: [{ type: 'A', name: 'bad.test' }],
    additionals: options ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options } as unknown as dnsPacket.Answer] : [],
  });
}
const QUESTION_LENGTH = 'bad.test'.length + 2 + 4; // labels, root, type, class

function optionsOf(wire: Buffer): Buffer | undefined {
  const layout = readResponseLayout(wire, HEADER_SIZE + QUESTION_LENGTH)!;
  return edeOptions(wire, layout.optStart, layout.optEnd);
}

describe('EDE options of an upstream answer', () => {
  it('finds each EDE option as it is on the wire, skipping other options', () => {
    const options = optionsOf(answer(2, [cookie, ede(6, 'signature crypto failed'), ede(22)]))!;
    expect(edeInfoCodes(options)).toEqual([6, 22]);
    expect(options.subarray(0, 6)).toEqual(Buffer.from([0, 15, 0, 2 + 23, 0, 6]));
    expect(options.subarray(6, 6 + 23).toString()).toBe('signature crypto failed');
  });

  it.each([
    ['no OPT record', answer(2)],
    ['an OPT record without options', answer(2, [])],
    ['only other options', answer(2, [cookie])],
  ])('gives nothing for %s', (_, wire) => {
    expect(optionsOf(wire)).toBeUndefined();
  });

  it('gives nothing for an option that runs past its record, or an EDE too short for its info-code', () => {
    const wire = answer(2, [ede(6, 'abc')]);
    const layout = readResponseLayout(wire, HEADER_SIZE + QUESTION_LENGTH)!;
    const long = Buffer.from(wire);
    long.writeUInt16BE(200, layout.optEnd - 3 - 2 - 2); // the EDE's option length
    expect(edeOptions(long, layout.optStart, layout.optEnd)).toBeUndefined();
    expect(optionsOf(answer(2, [{ code: 15, data: Buffer.from([0]) }]))).toBeUndefined();
  });

  it('puts them into an OPT record of ours', () => {
    const options = optionsOf(answer(2, [ede(7, 'expired')]))!;
    const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'bad.test' }] });
    const out = Buffer.alloc(query.length + OPT_SIZE + options.length);
    query.copy(out);
    out.writeUInt16BE(1, 10);
    writeOpt(out, query.length, 1232, true, options);
    const opt = dnsPacket.decode(out).additionals![0] as unknown as { udpPayloadSize: number; flag_do: boolean; options: Option[] };
    expect(opt.udpPayloadSize).toBe(1232);
    expect(opt.flag_do).toBe(true);
    expect(opt.options).toMatchObject([{ code: 15, data: Buffer.from([0, 7, ...Buffer.from('expired')]) }]);
  });
});

describe('a validator’s DNSSEC verdict', () => {
  it.each([
    ['SERVFAIL, EDE 6 DNSSEC Bogus', answer(2, [ede(6, 'validation failure')]), true],
    ['SERVFAIL, EDE 7 Signature Expired', answer(2, [ede(7)]), true],
    ['SERVFAIL, EDE 8 Signature Not Yet Valid', answer(2, [ede(8)]), true],
    ['SERVFAIL, EDE 9 DNSKEY Missing (a DNSKEY set that does not verify)', answer(2, [ede(9)]), true],
    ['SERVFAIL, EDE 10 RRSIGs Missing', answer(2, [ede(10)]), true],
    ['SERVFAIL, EDE 12 NSEC Missing', answer(2, [ede(12)]), true],
    ['SERVFAIL, a cookie and EDE 6', answer(2, [cookie, ede(6)]), true],
    ['SERVFAIL, EDE 22 and EDE 6', answer(2, [ede(22), ede(6)]), true],
    // The link's or the authority's fault: another link may do better.
    ['SERVFAIL without EDE', answer(2, []), false],
    ['SERVFAIL without OPT', answer(2), false],
    ['SERVFAIL, EDE 22 No Reachable Authority', answer(2, [ede(22)]), false],
    ['SERVFAIL, EDE 23 Network Error', answer(2, [ede(23)]), false],
    ['SERVFAIL, EDE 5 DNSSEC Indeterminate', answer(2, [ede(5)]), false],
    ['REFUSED, EDE 6', answer(5, [ede(6)]), false],
    ['NOERROR, EDE 6', answer(0, [ede(6)]), false],
  ])('%s: %s', (_, wire, expected) => {
    expect(isValidationFailure(wire, QUESTION_LENGTH)).toBe(expected);
  });

  it('is false for a truncated or malformed message', () => {
    const wire = answer(2, [ede(6)]);
    expect(isValidationFailure(wire.subarray(0, wire.length - 3), QUESTION_LENGTH)).toBe(false);
    expect(isValidationFailure(wire.subarray(0, 8), QUESTION_LENGTH)).toBe(false);
  });
});
