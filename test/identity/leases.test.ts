// The lease-file parsers, table-driven: good leases, leases that are over,
// malformed lines (skipped and counted with their line) and hostile values
// from clients (host names with control characters, markup, formula
// prefixes, absurd length).
import { describe, expect, it } from 'vitest';
import { leaseParsers } from '../../src/identity/leases/index.js';
import type { LeaseEvent } from '../../src/identity/leases/types.js';
import { parseLocalTime } from '../../src/identity/leases/windows.js';

const run = (format: keyof typeof leaseParsers, text: string, options = {}) => [...leaseParsers[format](text, options)];
const leases = (events: LeaseEvent[]) => events.flatMap((e) => (e.kind === 'lease' ? [e.lease] : []));
const bad = (events: LeaseEvent[]) => events.flatMap((e) => (e.kind === 'bad' ? [e.line] : []));
const warns = (events: LeaseEvent[]) => events.flatMap((e) => (e.kind === 'warn' ? [e.line] : []));

const KEA_HEADER = 'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context';
const long = 'x'.repeat(300);

describe('kea memfile', () => {
  it.each([
    [
      'a lease',
      `${KEA_HEADER}\n10.0.0.5,AA:bb:cc:dd:ee:01,,3600,1800003600,1,0,0,laptop-1,0,\n`,
      {
        address: '10.0.0.5',
        mac: 'aa:bb:cc:dd:ee:01',
        hostName: 'laptop-1',
        startedAt: 1_800_000_000_000,
        endsAt: 1_800_003_600_000,
        active: true,
      },
    ],
    ['a released lease (lifetime 0)', `${KEA_HEADER}\n10.0.0.5,aa:bb:cc:dd:ee:01,,0,1800000000,1,0,0,,0,\n`, { active: false }],
    ['a declined lease', `${KEA_HEADER}\n10.0.0.5,aa:bb:cc:dd:ee:01,,3600,1800003600,1,0,0,,1,\n`, { active: false }],
    [
      'an escaped comma in the host name',
      `${KEA_HEADER}\n10.0.0.5,aa:bb:cc:dd:ee:01,,3600,1800003600,1,0,0,a&#x2cb,0,\n`,
      { hostName: 'a,b' },
    ],
    ['the newer pool_id column', `${KEA_HEADER},pool_id\n10.0.0.5,aa:bb:cc:dd:ee:01,,3600,1800003600,1,0,0,pc,0,,0\n`, { hostName: 'pc' }],
    [
      'markup and formula prefixes kept as text',
      `${KEA_HEADER}\n10.0.0.5,aa:bb:cc:dd:ee:01,,3600,1800003600,1,0,0,<script>=cmd|x,0,\n`,
      { hostName: '<script>=cmd|x' },
    ],
  ])('%s', (_what, text, expected) => {
    expect(leases(run('kea', text))[0]).toMatchObject(expected);
  });

  it.each([
    ['a line before the header', '10.0.0.5,aa:bb:cc:dd:ee:01,,3600,1800003600,1,0,0,pc,0,\n', [1]],
    ['too few fields', `${KEA_HEADER}\n10.0.0.5,aa:bb\n`, [2]],
    ['not an address', `${KEA_HEADER}\n10.0.0.500,aa:bb:cc:dd:ee:01,,3600,1800003600,1,0,0,pc,0,\n`, [2]],
    ['an IPv6 address in the v4 file', `${KEA_HEADER}\n2001:db8::1,aa:bb:cc:dd:ee:01,,3600,1800003600,1,0,0,pc,0,\n`, [2]],
    ['a lifetime that is not a number', `${KEA_HEADER}\n10.0.0.5,aa:bb:cc:dd:ee:01,,soon,1800003600,1,0,0,pc,0,\n`, [2]],
    ['a line of 5000 bytes', `${KEA_HEADER}\n10.0.0.5,${'a'.repeat(5000)}\n10.0.0.6,aa:bb:cc:dd:ee:02,,3600,1800003600,1,0,0,pc,0,\n`, [2]],
  ])('skips %s, counting its line', (_what, text, lines) => {
    const events = run('kea', text);
    expect(bad(events)).toEqual(lines);
  });

  it.each([
    ['control characters', 'pc\u0007one'],
    ['a 300-character name', long],
  ])('keeps a lease whose host name has %s, without the name', (_what, name) => {
    const events = run('kea', `${KEA_HEADER}\n10.0.0.5,aa:bb:cc:dd:ee:01,,3600,1800003600,1,0,0,${name},0,\n`);
    expect(leases(events)[0]).toMatchObject({ address: '10.0.0.5', mac: 'aa:bb:cc:dd:ee:01', hostName: undefined });
    expect(warns(events)).toEqual([2]);
  });

  it('lets a later line for an address replace an earlier one', () => {
    const text = `${KEA_HEADER}\n10.0.0.5,aa:bb:cc:dd:ee:01,,3600,1800003600,1,0,0,a,0,\n10.0.0.5,aa:bb:cc:dd:ee:02,,3600,1800007200,1,0,0,b,0,\n`;
    expect(leases(run('kea', text)).map((l) => l.hostName)).toEqual(['a', 'b']);
  });
});

describe('dhcpd.leases', () => {
  const block = (body: string, address = '10.0.0.7') => `lease ${address} {\n${body}\n}\n`;
  const good =
    'starts 3 2027/01/13 09:00:00;\nends 3 2027/01/13 21:00:00;\nbinding state active;\nhardware ethernet 0:c:29:aa:bb:cc;\nclient-hostname "chromebook-7";';
  it.each([
    [
      'an active lease',
      block(good),
      {
        address: '10.0.0.7',
        mac: '00:0c:29:aa:bb:cc',
        hostName: 'chromebook-7',
        startedAt: Date.UTC(2027, 0, 13, 9),
        endsAt: Date.UTC(2027, 0, 13, 21),
        active: true,
      },
    ],
    ['a free lease', block(good.replace('binding state active', 'binding state free')), { active: false }],
    ['ends never', block(good.replace('ends 3 2027/01/13 21:00:00', 'ends never')), { endsAt: Infinity }],
    [
      'epoch times (db-time-format local)',
      block(good.replace('ends 3 2027/01/13 21:00:00', 'ends epoch 1800000000; # comment')),
      { endsAt: 1_800_000_000_000 },
    ],
    ['escaped quotes and octal in the host name', block(good.replace('"chromebook-7"', '"a\\"b\\101"')), { hostName: 'a"bA' }],
    [
      'other top-level statements around it',
      `authoring-byte-order little-endian;\nserver-duid "\\000\\001";\nfailover peer "x" state {\n  my state normal;\n}\n${block(good)}`,
      { address: '10.0.0.7' },
    ],
  ])('%s', (_what, text, expected) => {
    expect(leases(run('dhcpd', text))[0]).toMatchObject(expected);
  });

  it('skips a block that never closes and reads the next one', () => {
    const text = `lease 10.0.0.8 {\n  starts 3 2027/01/13 09:00:00;\n${block(good)}`;
    const events = run('dhcpd', text);
    expect(bad(events)).toEqual([1]);
    expect(leases(events).map((l) => l.address)).toEqual(['10.0.0.7']);
  });

  it.each([
    ['a bad address', block(good, '10.0.0.700'), [1]],
    ['an unreadable time', block(good.replace('2027/01/13 21:00:00', 'tomorrow')), [1]],
    ['no opening brace', 'lease 10.0.0.9;\n' + block(good), [1]],
  ])('skips %s', (_what, text, lines) => {
    const events = run('dhcpd', text);
    expect(bad(events)).toEqual(lines);
  });

  it('drops a host name with control characters but keeps the lease', () => {
    const events = run('dhcpd', block(good.replace('"chromebook-7"', '"evil\\033[2Jname"')));
    expect(leases(events)[0]).toMatchObject({ mac: '00:0c:29:aa:bb:cc', hostName: undefined });
    expect(warns(events)).toEqual([1]);
  });
});

describe('dnsmasq.leases', () => {
  it.each([
    [
      'a lease',
      '1800000000 aa:bb:cc:dd:ee:03 10.0.0.9 ipad-9 01:aa:bb:cc:dd:ee:03\n',
      { address: '10.0.0.9', mac: 'aa:bb:cc:dd:ee:03', hostName: 'ipad-9', endsAt: 1_800_000_000_000 },
    ],
    ['an infinite lease', '0 aa:bb:cc:dd:ee:03 10.0.0.9 * *\n', { endsAt: Infinity, hostName: undefined }],
    [
      'a DHCPv6 lease after the duid line',
      'duid 00:01:00:01\n1800000000 1234 2001:db8::9 v6host 00:01\n',
      { address: '2001:db8::9', mac: undefined, hostName: 'v6host' },
    ],
    ['markup in a host name', '1800000000 aa:bb:cc:dd:ee:03 10.0.0.9 <b>x</b> *\n', { hostName: '<b>x</b>' }],
  ])('%s', (_what, text, expected) => {
    expect(leases(run('dnsmasq', text))[0]).toMatchObject(expected);
  });

  it.each([
    ['too few fields', '1800000000 aa:bb:cc:dd:ee:03\n'],
    ['an expiry that is not a number', 'later aa:bb:cc:dd:ee:03 10.0.0.9 x *\n'],
    ['not an address', '1800000000 aa:bb:cc:dd:ee:03 10.0.0 x *\n'],
    ['a line of 5000 bytes', `1800000000 aa:bb:cc:dd:ee:03 10.0.0.9 ${'h'.repeat(5000)} *\n`],
  ])('skips %s', (_what, text) => {
    expect(bad(run('dnsmasq', text))).toEqual([1]);
  });
});

describe('Windows DHCP export (Get-DhcpServerv4Lease | Export-Csv)', () => {
  const header =
    '"IPAddress","ScopeId","AddressState","ClientId","ClientType","Description","DnsRR","DnsRegistration","HostName","LeaseExpiryTime"';
  const row = (host: string, expiry = '10/01/2027 22:00:00', state = 'Active') =>
    `"10.0.0.11","10.0.0.0","${state}","aa-bb-cc-dd-ee-11","Dhcp","","A","Complete","${host}","${expiry}"`;
  it.each([
    [
      'an en-GB export with the #TYPE line',
      `#TYPE Microsoft.Management.Infrastructure.CimInstance#DhcpServerv4Lease\n${header}\n${row('PC11.school.local')}\n`,
      {},
      { address: '10.0.0.11', mac: 'aa:bb:cc:dd:ee:11', hostName: 'PC11.school.local', endsAt: Date.UTC(2027, 0, 10, 22), active: true },
    ],
    ['an en-US export', `${header}\n${row('pc', '1/10/2027 10:00:00 PM')}\n`, { dateOrder: 'mdy' }, { endsAt: Date.UTC(2027, 0, 10, 22) }],
    ['summer time in London', `${header}\n${row('pc', '10/07/2027 22:00:00')}\n`, {}, { endsAt: Date.UTC(2027, 6, 10, 21) }],
    ['a reservation with no expiry', `${header}\n${row('printer', '', 'ActiveReservation')}\n`, {}, { endsAt: Infinity, active: true }],
    ['an expired lease', `${header}\n${row('pc', '10/01/2027 22:00:00', 'Expired')}\n`, {}, { active: false }],
    ['a formula prefix kept as text', `${header}\n${row('=HYPERLINK(""x"")')}\n`, {}, { hostName: '=HYPERLINK("x")' }],
  ])('%s', (_what, text, options, expected) => {
    expect(leases(run('windows-csv', text, options))[0]).toMatchObject(expected);
  });

  it('skips bad rows and reads the rest', () => {
    const text = `${header}\n"not-an-ip","x","Active"\n${row('pc', 'someday')}\n${row('ok')}\n`;
    const events = run('windows-csv', text);
    expect(bad(events)).toEqual([2, 3]);
    expect(leases(events).map((l) => l.hostName)).toEqual(['ok']);
  });

  it('refuses a file without an IPAddress column', () => {
    expect(bad(run('windows-csv', 'a,b\n1,2\n'))).toEqual([1]);
  });

  it.each([
    ['31/12/2027 23:59:59', 'dmy', Date.UTC(2027, 11, 31, 23, 59, 59)],
    ['12/31/2027 11:59:59 PM', 'mdy', Date.UTC(2027, 11, 31, 23, 59, 59)],
    ['2027-12-31T23:59:59Z', 'dmy', Date.UTC(2027, 11, 31, 23, 59, 59)],
    ['2027-07-01T12:00:00', 'dmy', Date.UTC(2027, 6, 1, 11)],
    ['13/13/2027 10:00:00', 'dmy', null],
    ['13:00 PM', 'dmy', null],
  ] as const)('reads the time %s (%s)', (text, order, expected) => {
    expect(parseLocalTime(text, order, 'Europe/London')).toBe(expected);
  });
});
