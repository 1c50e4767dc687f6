// The admission check on its own, with a hand-moved clock: who may ask
// (dns.allowNetworks) and how fast (dns.rateLimit token buckets).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ADMIT, Admission, NOT_ALLOWED, RATE_LIMITED, type LimitedSource } from '../../src/resolver/admission.js';

function config(dns = '', groups = '  - { name: everyone, default: true }') {
  return parseConfig(
    ['dns:', '  listen: ["127.0.0.1:0"]', dns, 'links: [{ name: p, upstreams: ["udp://127.0.0.1:9"] }]', 'groups:', groups].join('\n'),
  );
}

describe('dns.allowNetworks', () => {
  const groups = '  - { name: everyone, default: true }\n  - { name: wan-office, networks: ["100.64.10.0/24"] }';
  const admission = new Admission(config('', groups));
  it.each([
    ['127.0.0.1', ADMIT],
    ['127.0.0.53', ADMIT],
    ['10.20.30.40', ADMIT],
    ['172.16.0.1', ADMIT],
    ['172.31.255.254', ADMIT],
    ['192.168.1.10', ADMIT],
    ['169.254.3.4', ADMIT],
    ['::1', ADMIT],
    ['fe80::1%2', ADMIT],
    ['fd12:3456::1', ADMIT],
    ['::ffff:192.168.1.10', ADMIT],
    ['100.64.10.7', ADMIT], // a group's own network
    ['8.8.8.8', NOT_ALLOWED],
    ['172.32.0.1', NOT_ALLOWED],
    ['100.64.11.7', NOT_ALLOWED],
    ['2001:db8::1', NOT_ALLOWED],
    ['::ffff:8.8.8.8', NOT_ALLOWED],
    ['not an address', NOT_ALLOWED],
  ])('by default %s → %s', (address, verdict) => {
    expect(admission.check(address, true, 0)).toBe(verdict);
  });

  it('counts what it refuses, and remembers a refused address without parsing it again', () => {
    const a = new Admission(config());
    for (let i = 0; i < 5; i++) expect(a.check('203.0.113.9', true, i)).toBe(NOT_ALLOWED);
    expect(a.stats.notAllowed).toBe(5);
  });

  it('an explicit list replaces the defaults', () => {
    const a = new Admission(config('  allowNetworks: ["127.0.0.1/32", "2001:db8::/32"]'));
    expect(a.check('127.0.0.1', true, 0)).toBe(ADMIT);
    expect(a.check('2001:db8::5', true, 0)).toBe(ADMIT);
    expect(a.check('10.0.0.1', true, 0)).toBe(NOT_ALLOWED);
  });

  it('rejects a malformed network with the key and line', () => {
    expect(() => config('  allowNetworks: ["10.0.0.0/8", "lan"]')).toThrow(/dns\.allowNetworks\[1\] \(line 3\)/);
  });
});

describe('dns.rateLimit', () => {
  const limited = (extra = '') => config(`  rateLimit: { qps: 10, burst: 20, networkQps: 30, networkBurst: 50${extra} }`);

  it('lets a burst through, then limits to the rate, and refills with time', () => {
    const a = new Admission(limited());
    let admitted = 0;
    for (let i = 0; i < 100; i++) if (a.check('10.0.0.1', true, 0) === ADMIT) admitted++;
    expect(admitted).toBe(20);
    expect(a.check('10.0.0.1', true, 0)).toBe(RATE_LIMITED);
    expect(a.stats.rateLimitedUdp).toBe(81);
    // 10 q/s: half a second gives back 5 tokens.
    admitted = 0;
    for (let i = 0; i < 10; i++) if (a.check('10.0.0.1', false, 500) === ADMIT) admitted++;
    expect(admitted).toBe(5);
    expect(a.stats.rateLimitedTcp).toBe(5);
  });

  it('one address over its limit leaves another address alone', () => {
    const a = new Admission(limited());
    for (let i = 0; i < 100; i++) a.check('10.0.0.1', true, 0);
    expect(a.check('10.0.0.2', true, 0)).toBe(ADMIT);
  });

  it('limits a whole /24 too, so many spoofed sources in one network gain little', () => {
    const a = new Admission(limited());
    let admitted = 0;
    for (let i = 1; i <= 250; i++) if (a.check(`10.0.0.${i}`, true, 0) === ADMIT) admitted++;
    expect(admitted).toBe(50); // the network's burst, although each address had 20
    expect(a.check('10.0.1.1', true, 0)).toBe(ADMIT); // another /24
  });

  it('groups IPv6 sources by /56', () => {
    const a = new Admission(limited());
    let admitted = 0;
    for (let i = 1; i <= 100; i++) if (a.check(`fd00:0:0:${(i % 200).toString(16)}::${i.toString(16)}`, true, 0) === ADMIT) admitted++;
    expect(admitted).toBe(50);
  });

  it.each([
    ['in an exempt network', ', exempt: ["10.0.0.53/32"]'],
    ['with the limit disabled', ', enabled: false'],
  ])('a source %s is never limited', (_label, extra) => {
    const a = new Admission(limited(extra));
    for (let i = 0; i < 1000; i++) expect(a.check('10.0.0.53', true, 0)).toBe(ADMIT);
  });

  it('reports each source over the limit once a period with its excess, then forgets idle ones', () => {
    let now = 0;
    const reports: LimitedSource[][] = [];
    const a = new Admission(
      limited(', reportSeconds: 10'),
      (l) => reports.push(l),
      () => now,
    );
    for (let i = 0; i < 100; i++) a.check('10.0.0.1', true, now);
    for (let i = 0; i < 5; i++) a.check('10.0.0.2', true, now);
    now = 10_000;
    a.sweep();
    // 10.0.0.1: 20 of its 100 within its burst; its /24 had tokens to spare for those and 10.0.0.2's five.
    expect(reports).toEqual([[{ source: '10.0.0.1', kind: 'client', excess: 80, periodSeconds: 10 }]]);
    expect(a.stats.limitedClients).toBe(1);
    now = 20_000;
    a.sweep();
    expect(reports).toHaveLength(1); // nothing new to report
    expect(a.stats.limitedClients).toBe(0);
    // The records were idle (buckets full again): a fresh burst.
    let admitted = 0;
    for (let i = 0; i < 100; i++) if (a.check('10.0.0.1', true, now) === ADMIT) admitted++;
    expect(admitted).toBe(20);
  });

  it('stays within maxTracked: past it, new sources share one bucket', () => {
    const a = new Admission(
      config('  rateLimit: { qps: 1, burst: 1, networkQps: 1000, networkBurst: 150, networkPrefix4: 32, maxTracked: 100 }'),
    );
    // 100 sources each use their one token (so none is idle), then 200 more arrive.
    for (let i = 0; i < 100; i++) a.check(`10.1.${i}.1`, true, 0);
    let admitted = 0;
    for (let i = 0; i < 200; i++) if (a.check(`10.2.${i}.1`, true, 0) === ADMIT) admitted++;
    expect(admitted).toBe(150); // the shared bucket's burst
  });
});
