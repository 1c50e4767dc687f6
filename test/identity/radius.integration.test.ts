// RADIUS accounting end to end with FreeRADIUS's radclient: a Start puts the
// roster's pupil on an address in the staff network, and their queries from
// that address (dig -b) get the pupils' blocks; other spellings of the name
// are the same person; a restart remembers the session; after Stop the
// network group applies again. A wrong secret and broken packets (raw bytes
// from a dgram socket) are dropped, counted and never answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { havePrograms } from '../helpers/programs.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGatehouse, type Running } from '../helpers/gatehouse.js';
import { dig } from '../helpers/dig.js';
import { radclientAcct } from '../helpers/radclient.js';
import { showAddress } from '../../src/identity/show.js';

const ready = havePrograms('radclient', 'dig');
const SECRET = 's3cret-for-tests';

describe.skipIf(!ready)('RADIUS accounting with radclient', () => {
  let upstream: FakeUpstream;
  let gh: Running;
  let dir: string;
  let configText: string;

  const start = async () => {
    gh = await startGatehouse(configText);
    return gh.app.identity.radiusPort!;
  };
  const blocked = async (from: string, name = 'www.adult.test') => {
    const r = await dig('127.0.0.1', gh.port, name, 'A', ['-b', from]);
    return r.answers.some((a) => a.data === '10.0.0.1');
  };
  const session = (status: string, user: string, extra: string[] = []) => [
    `Acct-Status-Type = ${status}`,
    `User-Name = "${user}"`,
    'Framed-IP-Address = 127.0.0.50',
    'Calling-Station-Id = "AA-BB-CC-00-00-50"',
    'Acct-Session-Id = "sess-1"',
    'NAS-IP-Address = 127.0.0.1',
    ...extra,
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-radius-'));
    upstream = await startFakeUpstream({ 'www.adult.test': '192.0.2.80', 'www.casino.test': '192.0.2.81' });
    writeFileSync(join(dir, 'adult.txt'), 'adult.test\n');
    writeFileSync(join(dir, 'roster.csv'), 'username,name,org_unit\njsmith,Jo Smith,/Students/Year 9\nmrsbrown,Ann Brown,/Staff\n');
    configText = [
      'dns: { listen: ["127.0.0.1:0"], block: { mode: address, a: 10.0.0.1, aaaa: "::1", ttl: 60 } }',
      `links: [{ name: primary, upstreams: ["${upstream.url}"], timeoutMs: 1000 }]`,
      'health: { probeIntervalMs: 60000 }',
      'categories: [{ id: adult, name: Adult }]',
      `lists: [{ id: adult-list, category: adult, source: "file:${join(dir, 'adult.txt')}", format: domains }]`,
      'groups:',
      '  - { name: pupils, networks: ["10.10.0.0/16"], block: [adult] }',
      '  - { name: staff, networks: ["127.0.0.0/8"], block: [] }',
      '  - { name: guests, default: true, block: [adult] }',
      `store: { path: ${join(dir, 'gatehouse.db')} }`,
      'identity:',
      '  domains: [school.example]',
      `  roster: [{ source: "file:${join(dir, 'roster.csv')}", format: generic }]`,
      '  groups: [{ orgUnit: /Students, group: pupils }, { orgUnit: /Staff, group: staff }]',
      `  radius: { listen: "127.0.0.1:0", clients: [{ network: 127.0.0.1/32, secret: "${SECRET}" }] }`,
    ].join('\n');
    await start();
  });
  afterAll(async () => {
    await gh?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('filters a signed-in pupil as a pupil on the staff network, whatever spelling of the name', async () => {
    expect(await blocked('127.0.0.50')).toBe(false);
    const port = gh.app.identity.radiusPort!;
    const r = await radclientAcct(port, SECRET, session('Start', 'SCHOOL\\JSmith'));
    expect(r.answered, r.output).toBe(true);
    expect(await blocked('127.0.0.50')).toBe(true);
    // Another address on the same network is still staff.
    expect(await blocked('127.0.0.51')).toBe(false);
    const first = gh.app.identity.lookup('127.0.0.50')!;
    expect(first).toMatchObject({ user: 'jsmith', group: 'pupils', mac: 'aa:bb:cc:00:00:50' });
    for (const spelling of ['jsmith@school.example', 'ｊｓｍｉｔｈ', ' JSMITH ']) {
      expect((await radclientAcct(port, SECRET, session('Interim-Update', spelling))).answered).toBe(true);
      expect(gh.app.identity.lookup('127.0.0.50')?.personId).toBe(first.personId);
      expect(await blocked('127.0.0.50')).toBe(true);
    }
    // Someone else's jsmith is not ours.
    expect((await radclientAcct(port, SECRET, session('Interim-Update', 'jsmith@elsewhere.example'))).answered).toBe(true);
    expect(gh.app.identity.lookup('127.0.0.50')?.group).toBeUndefined();
    expect(await blocked('127.0.0.50')).toBe(false);
    expect((await radclientAcct(port, SECRET, session('Interim-Update', 'jsmith'))).answered).toBe(true);
    expect(await blocked('127.0.0.50')).toBe(true);
  });

  it('is shown by identity show from the database, and survives a restart', async () => {
    gh.app.identity.flush();
    const view = showAddress(gh.app.db, '127.0.0.50', gh.config.identity)!;
    expect(view.person?.displayName).toBe('Jo Smith');
    expect(view.personGroup).toBe('pupils');
    expect(view.records.map((r) => r.source)).toEqual(['radius']);
    expect(view.records[0]).toMatchObject({ userName: 'jsmith', sessionId: 'sess-1', origin: '127.0.0.1' });
    await gh.stop();
    await start();
    // No packet since the restart: the stored session still stands.
    expect(gh.app.identity.lookup('127.0.0.50')?.group).toBe('pupils');
    expect(await blocked('127.0.0.50')).toBe(true);
  });

  it('falls back to the network group after Stop, and ignores a Stop of an older session', async () => {
    const port = gh.app.identity.radiusPort!;
    const old = session('Stop', 'jsmith').map((l) => (l.startsWith('Acct-Session-Id') ? 'Acct-Session-Id = "sess-0"' : l));
    expect((await radclientAcct(port, SECRET, old)).answered).toBe(true);
    expect(gh.app.identity.status().radius?.staleStops).toBe(1);
    expect(await blocked('127.0.0.50')).toBe(true);
    expect((await radclientAcct(port, SECRET, session('Stop', 'jsmith'))).answered).toBe(true);
    expect(gh.app.identity.lookup('127.0.0.50')).toBeUndefined();
    expect(await blocked('127.0.0.50')).toBe(false);
    gh.app.identity.flush();
    expect(showAddress(gh.app.db, '127.0.0.50', gh.config.identity)?.identity).toBeUndefined();
  });

  it('maps an IPv6 framed prefix to the user, for any address in it', async () => {
    const port = gh.app.identity.radiusPort!;
    const v6 = ['Acct-Status-Type = Start', 'User-Name = "mrsbrown"', 'Framed-IPv6-Prefix = 2001:db8:1:2::/64', 'Acct-Session-Id = "v6"'];
    expect((await radclientAcct(port, SECRET, v6)).answered).toBe(true);
    expect(gh.app.identity.lookup('2001:db8:1:2::99')).toMatchObject({ user: 'mrsbrown', group: 'staff' });
    expect(gh.app.identity.lookup('2001:db8:1:3::99')).toBeUndefined();
    expect(
      (
        await radclientAcct(
          port,
          SECRET,
          v6.map((l) => l.replace('Start', 'Stop')),
        )
      ).answered,
    ).toBe(true);
    expect(gh.app.identity.lookup('2001:db8:1:2::99')).toBeUndefined();
  });

  it('drops and counts a wrong secret, without answering or recording', async () => {
    const port = gh.app.identity.radiusPort!;
    const before = gh.app.identity.status().radius!;
    const r = await radclientAcct(port, 'not-the-secret', session('Start', 'jsmith'), 0.5);
    expect(r.answered).toBe(false);
    const after = gh.app.identity.status().radius!;
    expect(after.badAuthenticator).toBeGreaterThan(before.badAuthenticator);
    expect(after.answered).toBe(before.answered);
    expect(gh.app.identity.lookup('127.0.0.50')).toBeUndefined();
  });

  it('drops and counts broken packets sent as raw bytes', async () => {
    const port = gh.app.identity.radiusPort!;
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    let replies = 0;
    socket.on('message', () => replies++);
    const signed = (code: number, attrs: Buffer) => {
      const p = Buffer.concat([Buffer.from([code, 7, 0, 0]), Buffer.alloc(16), attrs]);
      p.writeUInt16BE(p.length, 2);
      createHash('md5').update(p).update(SECRET).digest().copy(p, 4);
      return p;
    };
    const status = Buffer.from([40, 6, 0, 0, 0, 1]);
    const packets = [
      Buffer.from([4, 1, 0, 10, 1, 2, 3, 4, 5, 6]), // shorter than a header
      signed(4, Buffer.from([1, 1, 0x41])), // an attribute of length 1
      signed(4, Buffer.concat([status, Buffer.from([8, 5, 127, 0, 0])])), // Framed-IP-Address of 3 octets
      signed(4, Buffer.concat([status, Buffer.from([1, 10, 0x6a])])), // attribute runs past the end
      (() => {
        const p = signed(4, status);
        p.writeUInt16BE(4000, 2); // Length beyond the datagram
        return p;
      })(),
      signed(1, Buffer.from([1, 4, 0x61, 0x62])), // an Access-Request: not ours
    ];
    const before = gh.app.identity.status().radius!;
    for (const p of packets) socket.send(p, port, '127.0.0.1');
    await expect.poll(() => gh.app.identity.status().radius!.received - before.received).toBe(packets.length);
    const after = gh.app.identity.status().radius!;
    expect(after.malformed - before.malformed).toBe(5);
    expect(after.notAccounting - before.notAccounting).toBe(1);
    expect(after.answered).toBe(before.answered);
    // A good packet from the same socket is answered, so the silence above was the drop.
    socket.send(signed(4, Buffer.concat([status, Buffer.from([8, 6, 127, 0, 0, 77])])), port, '127.0.0.1');
    await expect.poll(() => replies).toBe(1);
    socket.close();
  });
});
