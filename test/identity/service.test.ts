// The identity service with real files and a real database: a lease file
// that changes, breaks and disappears; stored state across a restart (and
// records that expired meanwhile); `identity show` for an address inside a
// stored IPv6 prefix; retention; a config reload.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Config } from '../../src/config.js';
import { IdentityService } from '../../src/identity/service.js';
import { showAddress } from '../../src/identity/show.js';
import { readDevices, readPeople } from '../../src/identity/store.js';
import { purgeIdentity } from '../../src/identity/retention.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { silentLogger } from '../../src/log.js';

describe('IdentityService', () => {
  let dir: string;
  let db: Database;
  let clock: number;
  const services: IdentityService[] = [];
  const config = (identity: string): Config =>
    parseConfig(
      `links: [{ name: p, upstreams: ["udp://127.0.0.1:9"] }]\ngroups: [{ name: everyone, default: true }]\nstore: { path: ${join(dir, 'gh.db')} }\nidentity: ${identity}\n`,
      join(dir, 'gh.yaml'),
    );
  const start = async (identity: string) => {
    const s = new IdentityService({ db, config: config(identity), logger: silentLogger(), now: () => clock });
    services.push(s);
    await s.start();
    return s;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-identity-'));
    db = openDatabase(join(dir, 'gh.db'));
    clock = Date.UTC(2027, 0, 11, 9);
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('follows a lease file as it changes, counts bad lines, and keeps the leases when the file goes', async () => {
    const file = join(dir, 'dnsmasq.leases');
    const end = Math.floor(clock / 1000) + 3600;
    writeFileSync(file, `${end} aa:bb:cc:00:00:01 10.0.0.1 one *\n${end} aa:bb:cc:00:00:02 10.0.0.2 two *\ngarbage\n`);
    const s = await start(`{ dhcp: [{ format: dnsmasq, path: dnsmasq.leases }] }`);
    expect(s.lookup('10.0.0.1')?.deviceName).toBe('one');
    expect(s.status().dhcp[0]).toMatchObject({ leases: 2, badLines: { count: 1, lines: [3] } });
    writeFileSync(file, `${end} aa:bb:cc:00:00:01 10.0.0.1 one-renamed *\n${end + 60} aa:bb:cc:00:00:03 10.0.0.3 three *\n`);
    await expect.poll(() => s.lookup('10.0.0.1')?.deviceName, { timeout: 10_000 }).toBe('one-renamed');
    expect(s.lookup('10.0.0.2')).toBeUndefined();
    expect(s.lookup('10.0.0.3')?.mac).toBe('aa:bb:cc:00:00:03');
    unlinkSync(file);
    await expect.poll(() => s.status().dhcp[0].lastError, { timeout: 10_000 }).toMatch(/cannot read/);
    expect(s.lookup('10.0.0.3')?.mac).toBe('aa:bb:cc:00:00:03');
    // The same MAC keeps its device id across renames.
    expect(readDevices(db).filter((d) => d.key === 'mac:aa:bb:cc:00:00:01')).toHaveLength(1);
  });

  it('reads Kea’s rotated lease files (lease file cleanup) in the order Kea loads them', async () => {
    const file = join(dir, 'kea-leases4.csv');
    const header = 'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n';
    const line = (ip: string, mac: string, host: string) => `${ip},${mac},,3600,${Math.floor(clock / 1000) + 3000},1,0,0,${host},0,\n`;
    writeFileSync(`${file}.1`, header + line('10.0.0.1', 'aa:bb:cc:00:00:01', 'old-name') + line('10.0.0.2', 'aa:bb:cc:00:00:02', 'two'));
    writeFileSync(`${file}.2`, header + line('10.0.0.3', 'aa:bb:cc:00:00:03', 'three'));
    writeFileSync(file, header + line('10.0.0.1', 'aa:bb:cc:00:00:01', 'new-name'));
    const s = await start(`{ dhcp: [{ format: kea, path: kea-leases4.csv }] }`);
    expect(['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((a) => s.lookup(a)?.deviceName)).toEqual(['new-name', 'two', 'three']);
    // The cleanup finished: .completed holds what .1 and .2 held, minus the lease that was dropped.
    writeFileSync(
      `${file}.completed`,
      header + line('10.0.0.1', 'aa:bb:cc:00:00:01', 'old-name') + line('10.0.0.3', 'aa:bb:cc:00:00:03', 'three'),
    );
    await expect.poll(() => s.lookup('10.0.0.2'), { timeout: 10_000 }).toBeUndefined();
    expect(['10.0.0.1', '10.0.0.3'].map((a) => s.lookup(a)?.deviceName)).toEqual(['new-name', 'three']);
  });

  it('restores stored records at start, except those that expired meanwhile', async () => {
    const s = await start('{}');
    s.onLeases('/leases', [
      { address: '10.0.0.1', mac: 'aa:bb:cc:00:00:01', endsAt: clock + 60_000, active: true },
      { address: '10.0.0.2', mac: 'aa:bb:cc:00:00:02', endsAt: clock + 3_600_000, active: true },
    ]);
    await s.stop();
    services.length = 0;
    clock += 120_000;
    const again = await start('{}');
    expect(again.lookup('10.0.0.1')).toBeUndefined();
    expect(again.lookup('10.0.0.2')?.mac).toBe('aa:bb:cc:00:00:02');
    expect(showAddress(db, '10.0.0.1', config('{}').identity, clock)?.records).toEqual([]);
  });

  it('shows an address inside a stored IPv6 prefix', async () => {
    const s = await start('{ radius: { listen: "127.0.0.1:0", clients: [{ network: 127.0.0.1/32, secret: x }] } }');
    s.onSession(
      { identifier: 1, status: 'Start', userName: 'jsmith', sessionId: 's', addresses: [], prefixes: ['2001:db8:5::/48'] },
      '127.0.0.1',
    );
    s.flush();
    const view = showAddress(db, '2001:db8:5:1::9', config('{}').identity, clock)!;
    expect(view.identity?.user).toBe('jsmith');
    expect(view.records[0].address).toBe('2001:db8:5::/48');
    expect(showAddress(db, '2001:db8:6::9', config('{}').identity, clock)?.identity).toBeUndefined();
  });

  it('reads the RADIUS secret from secretFile, and fails clearly without it', async () => {
    writeFileSync(join(dir, 'radius.secret'), 'from-a-file\n');
    const s = await start('{ radius: { listen: "127.0.0.1:0", clients: [{ network: 127.0.0.1/32, secretFile: radius.secret }] } }');
    expect(s.radiusPort).toBeGreaterThan(0);
    await expect(
      start('{ radius: { listen: "127.0.0.1:0", clients: [{ network: 127.0.0.1/32, secretFile: missing.secret }] } }'),
    ).rejects.toMatchObject({
      code: 'GH_ERR_IDENTITY_RADIUS',
    });
  });

  it('says clearly when the RADIUS port is taken', async () => {
    const first = await start('{ radius: { listen: "127.0.0.1:0", clients: [{ network: 127.0.0.1/32, secret: x }] } }');
    const taken = `{ radius: { listen: "127.0.0.1:${first.radiusPort}", clients: [{ network: 127.0.0.1/32, secret: x }] } }`;
    await expect(start(taken)).rejects.toMatchObject({
      code: 'GH_ERR_IDENTITY_RADIUS',
      message: expect.stringMatching(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/),
    });
  });

  it('applies a reload: a new precedence at once, a new source started', async () => {
    const s = await start('{}');
    expect(s.personFirst).toBe(true);
    expect(s.radiusPort).toBeUndefined();
    await s.configure(
      config('{ precedence: network, radius: { listen: "127.0.0.1:0", clients: [{ network: 127.0.0.1/32, secret: x }] } }'),
    );
    expect(s.personFirst).toBe(false);
    expect(s.radiusPort).toBeGreaterThan(0);
  });

  it('deletes people and devices unseen for the retention period, unless on a roster, named, or at an address now', async () => {
    const s = await start('{ radius: { listen: "127.0.0.1:0", clients: [{ network: 127.0.0.1/32, secret: x }] } }');
    s.onSession(
      { identifier: 1, status: 'Start', userName: 'old', mac: 'aa:bb:cc:00:00:0a', sessionId: 'a', addresses: ['10.0.0.10'], prefixes: [] },
      '127.0.0.1',
    );
    s.onSession(
      {
        identifier: 2,
        status: 'Start',
        userName: 'current',
        mac: 'aa:bb:cc:00:00:0b',
        sessionId: 'b',
        addresses: ['10.0.0.11'],
        prefixes: [],
      },
      '127.0.0.1',
    );
    s.onSession({ identifier: 3, status: 'Stop', userName: 'old', sessionId: 'a', addresses: ['10.0.0.10'], prefixes: [] }, '127.0.0.1');
    s.flush();
    // 400 days on, "current" is still signed in (its NAS kept sending Interim-Updates).
    clock += 400 * 86_400_000;
    s.onSession(
      {
        identifier: 4,
        status: 'Interim-Update',
        userName: 'current',
        mac: 'aa:bb:cc:00:00:0b',
        sessionId: 'b',
        addresses: ['10.0.0.11'],
        prefixes: [],
      },
      '127.0.0.1',
    );
    s.purge();
    expect(readPeople(db).map((p) => p.userKey)).toEqual(['current']);
    expect(readDevices(db).map((d) => d.key)).toEqual(['mac:aa:bb:cc:00:00:0b']);
    // A person only unseen for less than the period stays.
    expect(purgeIdentity(db, clock - 365 * 86_400_000)).toMatchObject({ people: 0, devices: 0 });
  });
});

describe('identity retention agrees with the query log and the safeguarding records', () => {
  it('keeps people and devices a kept log row, an alert or a review request points at', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-idret-'));
    const db = openDatabase(join(dir, 'gh.db'));
    try {
      const person = db.prepare('INSERT INTO identity_people (user_key, first_seen, last_seen, updated_at) VALUES (?, 0, 0, 0)');
      const device = db.prepare('INSERT INTO identity_devices (key, first_seen, last_seen, updated_at) VALUES (?, 0, 0, 0)');
      for (const u of ['logged', 'alerted', 'asked', 'gone']) person.run(u);
      for (const k of ['mac:02:00:00:00:00:01', 'mac:02:00:00:00:00:02', 'mac:02:00:00:00:00:03']) device.run(k);
      db.prepare('INSERT INTO who_by_id (person, device, last_day) VALUES (1, 1, 20000)').run();
      db.prepare(
        "INSERT INTO alerts (kind, created_at, last_at, category, severity, person_id, device_id) VALUES ('safeguarding', 0, 0, 'adult', 'high', 2, 2)",
      ).run();
      db.prepare('INSERT INTO review_request_identity (request_id, person_id, device_id) VALUES (1, 3, NULL)').run();
      expect(purgeIdentity(db, 1000)).toMatchObject({ people: 1, devices: 1 });
      expect(readPeople(db).map((p) => p.userKey)).toEqual(['logged', 'alerted', 'asked']);
      expect(readDevices(db).map((d) => d.key)).toEqual(['mac:02:00:00:00:00:01', 'mac:02:00:00:00:00:02']);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
