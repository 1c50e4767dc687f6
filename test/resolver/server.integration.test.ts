// The real server on loopback, queried by the real dig and kdig, with a real
// nsd authoritative server as its upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePrograms } from '../helpers/programs.js';
import { startNsd, zone, type NsdServer } from '../helpers/nsd.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { dig, kdig } from '../helpers/dig.js';
import { exchange, buildQuery, toReply } from '../helpers/client.js';

const ready = havePrograms('nsd', 'dig', 'kdig');

// 20 TXT records of 200 bytes: about 4 KB, too big for 1232-byte UDP.
const bigTxt = Array.from({ length: 20 }, (_, i) => `big IN TXT "${String(i).padStart(2, '0')}${'x'.repeat(198)}"`);

describe.skipIf(!ready)('DNS over UDP and TCP with dig, kdig and nsd', () => {
  let nsd: NsdServer;
  let gh: Running;

  beforeAll(async () => {
    nsd = await startNsd({
      'school.test': zone('school.test', ['www IN A 192.0.2.10', 'www IN AAAA 2001:db8::10', 'alias IN CNAME www', ...bigTxt]),
    });
    // Over TCP to nsd: the 4 KB TXT answers need it, and on port 0 nsd's TCP
    // port is not its UDP port (the UDP upstream is tested in udp-modes).
    gh = await startGatehouse(baseConfig([{ name: 'primary', upstreams: [`tcp://127.0.0.1:${nsd.tcpPort}`], timeoutMs: 2000 }]));
  });
  afterAll(async () => {
    await gh?.stop();
    await nsd?.stop();
  });

  it.each([
    ['dig', 'udp'],
    ['dig', 'tcp'],
    ['kdig', 'udp'],
    ['kdig', 'tcp'],
  ])('%s over %s gets the A record', async (client, transport) => {
    const run = client === 'dig' ? dig : kdig;
    const r = await run('127.0.0.1', gh.port, 'www.school.test', 'A', transport === 'tcp' ? ['+tcp'] : []);
    expect(r.status).toBe('NOERROR');
    expect(r.flags).toContain('ra');
    expect(r.answers).toEqual([expect.objectContaining({ type: 'A', data: '192.0.2.10' })]);
  });

  it('follows a CNAME through the upstream', async () => {
    const r = await dig('127.0.0.1', gh.port, 'alias.school.test');
    expect(r.answers.map((a) => a.type)).toEqual(['CNAME', 'A']);
  });

  it('answers NXDOMAIN with the SOA', async () => {
    const r = await dig('127.0.0.1', gh.port, 'nope.school.test');
    expect(r.status).toBe('NXDOMAIN');
    expect(r.raw).toMatch(/AUTHORITY SECTION:\nschool\.test\.\s+\d+\s+IN\s+SOA/);
  });

  it('sets TC on a large answer over UDP, and dig then gets it whole over TCP', async () => {
    const truncated = await dig('127.0.0.1', gh.port, 'big.school.test', 'TXT', ['+ignore', '+bufsize=1232']);
    expect(truncated.flags).toContain('tc');
    expect(truncated.answers).toHaveLength(0);
    const retried = await dig('127.0.0.1', gh.port, 'big.school.test', 'TXT', ['+bufsize=1232']);
    expect(retried.raw).toMatch(/Truncated, retrying in TCP mode/);
    expect(retried.answers).toHaveLength(20);
    const plain = await dig('127.0.0.1', gh.port, 'big.school.test', 'TXT', ['+ignore', '+noedns']);
    expect(plain.flags).toContain('tc'); // no EDNS: 512 bytes
  });

  it('answers several queries on one TCP connection (kdig +keepopen)', async () => {
    const r = await kdig('127.0.0.1', gh.port, 'www.school.test', 'A', ['+tcp', '+keepopen', 'www.school.test', 'AAAA']);
    expect(r.raw.match(/status: NOERROR/g)?.length ?? 0).toBe(2);
    expect(r.raw).toContain('2001:db8::10');
  });

  it('answers NOTIMP to an opcode other than QUERY', async () => {
    const q = buildQuery('www.school.test');
    q[2] = (2 << 3) | 1; // STATUS
    expect(toReply(await exchange(gh.port, q)).rcode).toBe('NOTIMP');
  });

  it('answers a query with bytes after it as unbound does, and ignores responses', async () => {
    const q = Buffer.concat([buildQuery('www.school.test'), Buffer.from('garbage')]);
    expect(toReply(await exchange(gh.port, q))).toMatchObject({ rcode: 'NOERROR', addresses: ['192.0.2.10'] });
    const response = buildQuery('www.school.test');
    response[2] |= 0x80;
    await expect(exchange(gh.port, response, { timeoutMs: 300 })).rejects.toThrow('timeout');
  });

  it('refuses classes other than IN (no version.bind leaks)', async () => {
    const r = await dig('127.0.0.1', gh.port, 'version.bind', 'TXT', ['-c', 'CH']);
    expect(r.status).toBe('REFUSED');
  });
});

describe.skipIf(!ready)('IPv6 listener', () => {
  it('answers on [::1]', async () => {
    const nsd = await startNsd({ 'six.test': zone('six.test', ['www IN A 192.0.2.6']) });
    const gh = await startGatehouse(
      baseConfig([{ name: 'p', upstreams: [`udp://127.0.0.1:${nsd.port}`], timeoutMs: 2000 }]).replace('["127.0.0.1:0"]', '["[::1]:0"]'),
    );
    try {
      for (const opts of [[], ['+tcp']]) {
        const r = await dig('::1', gh.port, 'www.six.test', 'A', opts);
        expect(r.answers[0]?.data).toBe('192.0.2.6');
      }
    } finally {
      await gh.stop();
      await nsd.stop();
    }
  });
});
