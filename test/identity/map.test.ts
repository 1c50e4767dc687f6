// The address → identity map and its merge rules (merge.ts), and the
// identify link with a stub `next`: exact addresses, IPv4-mapped addresses,
// IPv6 prefixes, expiry, precedence between sources, and between person
// and network groups.
import { describe, expect, it } from 'vitest';
import { IdentityMap, normalisePrefix } from '../../src/identity/map.js';
import { mergeIdentity, type MergeContext } from '../../src/identity/merge.js';
import type { SourceRecord } from '../../src/identity/types.js';
import { GroupIdentifier, IdentifyHandler } from '../../src/resolver/identify.js';
import { parseConfig } from '../../src/config.js';
import type { Answer, Query } from '../../src/resolver/types.js';

const ctx: MergeContext = {
  person: (id) => ({ 1: { user: 'jsmith', group: 'pupils' }, 2: { user: 'visitor' } })[id],
  deviceName: (id) => (id === 10 ? 'Library PC 3' : undefined),
  namedByAddress: (a) => (a === '10.0.0.9' ? { id: 11, name: 'Reception printer' } : undefined),
};
const rec = (r: Partial<SourceRecord> & Pick<SourceRecord, 'source' | 'address'>): SourceRecord => ({
  origin: 'test',
  updatedAt: 1000,
  expiresAt: Infinity,
  ...r,
});

describe('merge precedence', () => {
  it.each([
    [
      'RADIUS user and MAC beat the DHCP lease of the same MAC; the DHCP host name names the device',
      {
        radius: rec({ source: 'radius', address: 'a', personId: 1, mac: 'm1', deviceId: 5 }),
        dhcp: rec({ source: 'dhcp', address: 'a', mac: 'm1', deviceId: 5, hostName: 'laptop' }),
      },
      {
        personId: 1,
        user: 'jsmith',
        group: 'pupils',
        mac: 'm1',
        deviceId: 5,
        deviceName: 'laptop',
        from: { person: 'radius', mac: 'radius', deviceName: 'dhcp' },
      },
    ],
    [
      'the school’s name beats the DHCP host name',
      { dhcp: rec({ source: 'dhcp', address: 'a', mac: 'm1', deviceId: 10, hostName: 'laptop' }) },
      { deviceId: 10, deviceName: 'Library PC 3', from: { mac: 'dhcp', deviceName: 'devices' } },
    ],
    [
      'the DHCP host name beats the PTR name',
      {
        dhcp: rec({ source: 'dhcp', address: 'a', mac: 'm1', deviceId: 5, hostName: 'laptop' }),
        ptr: rec({ source: 'ptr', address: 'a', hostName: 'pc.school.local', deviceId: 6 }),
      },
      { deviceId: 5, deviceName: 'laptop', from: { deviceName: 'dhcp' } },
    ],
    [
      'a PTR name alone names the device',
      { ptr: rec({ source: 'ptr', address: 'a', hostName: 'pc.school.local', deviceId: 6 }) },
      { deviceId: 6, deviceName: 'pc.school.local', from: { deviceName: 'ptr' } },
    ],
    [
      'a newer DHCP lease to another MAC makes the RADIUS session stale',
      {
        radius: rec({ source: 'radius', address: 'a', personId: 1, mac: 'm1', updatedAt: 1000 }),
        dhcp: rec({ source: 'dhcp', address: 'a', mac: 'm2', deviceId: 7, startedAt: 2000 }),
      },
      { personId: undefined, mac: 'm2', deviceId: 7, from: { mac: 'dhcp' } },
    ],
    [
      'an older DHCP lease to another MAC is ignored for a current session',
      {
        radius: rec({ source: 'radius', address: 'a', personId: 1, mac: 'm1', deviceId: 5, updatedAt: 3000 }),
        dhcp: rec({ source: 'dhcp', address: 'a', mac: 'm2', deviceId: 7, hostName: 'other', startedAt: 2000 }),
      },
      { personId: 1, mac: 'm1', deviceId: 5, deviceName: undefined },
    ],
    [
      'a person not on the roster has no group',
      { radius: rec({ source: 'radius', address: 'a', personId: 2 }) },
      { user: 'visitor', group: undefined },
    ],
  ])('%s', (_what, records, expected) => {
    expect(mergeIdentity('a', records, ctx)).toMatchObject(expected);
  });

  it('uses a device the school named by address when there is no MAC', () => {
    expect(
      mergeIdentity('10.0.0.9', { ptr: rec({ source: 'ptr', address: '10.0.0.9', hostName: 'prn', deviceId: 6 }) }, ctx),
    ).toMatchObject({ deviceId: 11, deviceName: 'Reception printer' });
  });
});

describe('IdentityMap', () => {
  it('finds exact addresses, IPv4-mapped ones, and addresses inside IPv6 prefixes (longest first)', () => {
    const map = new IdentityMap(ctx);
    map.set(rec({ source: 'radius', address: '10.0.0.5', personId: 1 }));
    map.set(rec({ source: 'radius', address: normalisePrefix('2001:db8:1::/48')!, personId: 2 }));
    map.set(rec({ source: 'radius', address: normalisePrefix('2001:DB8:1:2::/64')!, personId: 1 }));
    expect(map.lookup('10.0.0.5')?.user).toBe('jsmith');
    expect(map.lookup('::ffff:10.0.0.5')?.user).toBe('jsmith');
    expect(map.lookup('10.0.0.6')).toBeUndefined();
    expect(map.lookup('2001:db8:1:2::abcd')?.user).toBe('jsmith');
    expect(map.lookup('2001:db8:1:3::1')?.user).toBe('visitor');
    expect(map.lookup('2001:db8:2::1')).toBeUndefined();
    map.delete('radius', '2001:db8:1:2::/64');
    expect(map.lookup('2001:db8:1:2::abcd')?.user).toBe('visitor');
  });

  it('sweeps expired records and re-merges what is left', () => {
    const map = new IdentityMap(ctx);
    map.set(rec({ source: 'radius', address: '10.0.0.5', personId: 1, expiresAt: 5000 }));
    map.set(rec({ source: 'dhcp', address: '10.0.0.5', mac: 'm1', deviceId: 5, hostName: 'laptop', expiresAt: 9000 }));
    expect(map.sweep(4999)).toEqual([]);
    expect(map.sweep(5000).map((r) => r.source)).toEqual(['radius']);
    expect(map.lookup('10.0.0.5')).toMatchObject({ personId: undefined, deviceName: 'laptop' });
    map.sweep(9000);
    expect(map.lookup('10.0.0.5')).toBeUndefined();
    expect(map.size).toBe(0);
  });
});

describe('the identify link', () => {
  const config = parseConfig(
    [
      'links: [{ name: p, upstreams: ["udp://127.0.0.1:53"] }]',
      'groups:',
      '  - { name: pupils, networks: ["10.10.0.0/16"] }',
      '  - { name: staff, networks: ["10.20.0.0/16"] }',
      '  - { name: guests, default: true }',
    ].join('\n'),
  );
  const groups = new GroupIdentifier(config);
  const query = (address: string) => ({ client: { address, port: 1, group: { index: -1, name: '' } } }) as unknown as Query;
  const answer = { wire: Buffer.alloc(0), rcode: 0, source: 'cache' } as Answer;
  const who = new Map([
    ['10.20.0.5', { group: 'pupils', personId: 1, from: {} }],
    ['10.20.0.6', { group: 'gone', personId: 2, from: {} }],
    ['10.20.0.7', { deviceId: 3, from: {} }],
  ]);
  it.each([
    ['a pupil on the staff network is a pupil', true, '10.20.0.5', 'pupils'],
    ['with precedence network, the network wins', false, '10.20.0.5', 'staff'],
    ['a group no longer configured falls back to the network', true, '10.20.0.6', 'staff'],
    ['a device without a person keeps the network group', true, '10.20.0.7', 'staff'],
    ['unknown identity keeps the network group', true, '10.20.0.8', 'staff'],
  ])('%s', (_what, personFirst, address, group) => {
    const link = new IdentifyHandler(groups, { personFirst, lookup: (a) => who.get(a) });
    const q = query(address);
    let seen: Query | undefined;
    expect(link.resolve(q, (x) => ((seen = x), answer))).toBe(answer);
    expect(seen!.client.group.name).toBe(group);
    expect(seen!.client.identity).toBe(who.get(address));
  });

  it('works without identity at all', () => {
    const q = query('10.10.0.1');
    new IdentifyHandler(groups).resolve(q, () => answer);
    expect(q.client.group.name).toBe('pupils');
    expect(q.client.identity).toBeUndefined();
  });
});
