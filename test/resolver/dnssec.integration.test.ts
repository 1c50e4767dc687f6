// The AD bit through Gatehouse, against a real validating unbound forwarding
// to a real nsd serving a zone signed by ldns-signzone. A client that sets AD
// without DO (RFC 6840 §5.7) gets AD when the data validated; one that sets
// neither gets it clear; DO gets it with the signatures. On a miss and on a
// cache hit alike, and the same as unbound itself answers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from '../helpers/dig.js';
import { signZone } from '../helpers/dnssec.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { startNsd, zone, type NsdServer } from '../helpers/nsd.js';
import { havePrograms } from '../helpers/programs.js';
import { startUnbound, type UnboundServer } from '../helpers/unbound.js';

const ready = havePrograms('nsd', 'unbound', 'dig', 'ldns-keygen', 'ldns-signzone');

describe.skipIf(!ready)('DNSSEC: the AD bit (validating unbound ▸ signed nsd zone)', () => {
  let dir: string;
  let nsd: NsdServer;
  let unbound: UnboundServer;
  let gh: Running;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-dnssec-'));
    const signed = signZone(dir, 'secure.test.', zone('secure.test', ['www IN A 192.0.2.20']));
    const anchor = signed.dnskey.replace(/;.*$/s, '').trim();
    nsd = await startNsd({
      'secure.test': signed.text,
      'plain.test': zone('plain.test', ['www IN A 192.0.2.21']),
    });
    unbound = await startUnbound({ forwardTo: nsd.port, trustAnchors: [anchor] });
    gh = await startGatehouse(baseConfig([{ name: 'p', upstreams: [`udp://127.0.0.1:${unbound.port}`], timeoutMs: 2000 }]));
  });
  afterAll(async () => {
    await gh?.stop();
    await unbound?.stop();
    await nsd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // [dig options, AD expected, signatures expected]
  it.each<[string, string[], boolean, boolean]>([
    ['AD set, DO clear (RFC 6840 §5.7)', ['+adflag', '+nodnssec'], true, false],
    ['neither AD nor DO', ['+noadflag', '+nodnssec'], false, false],
    ['DO set', ['+noadflag', '+dnssec'], true, true],
    ['AD and DO set', ['+adflag', '+dnssec'], true, true],
    ['AD set with CD', ['+adflag', '+cdflag', '+nodnssec'], true, false],
  ])('%s: as unbound answers, on a miss and on a hit', async (_what, options, ad, signed) => {
    const direct = await dig('127.0.0.1', unbound.port, 'www.secure.test', 'A', options);
    expect(direct.flags.includes('ad')).toBe(ad);
    for (let i = 0; i < 2; i++) {
      const r = await dig('127.0.0.1', gh.port, 'www.secure.test', 'A', options);
      expect(r.status).toBe('NOERROR');
      expect(r.flags.includes('ad')).toBe(ad);
      expect(r.answers.map((a) => a.type)).toEqual(signed ? ['A', 'RRSIG'] : ['A']);
    }
  });

  it('leaves AD clear for data no trust anchor covers, however it is asked', async () => {
    for (const options of [['+adflag', '+nodnssec'], ['+dnssec']]) {
      const direct = await dig('127.0.0.1', unbound.port, 'www.plain.test', 'A', options);
      const r = await dig('127.0.0.1', gh.port, 'www.plain.test', 'A', options);
      expect(direct.flags).not.toContain('ad');
      expect(r.flags).not.toContain('ad');
      expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.21']);
    }
  });
});
