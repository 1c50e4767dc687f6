// The `system` upstream: which resolv.conf nameservers it takes (table), and
// through the real server against nsd on loopback port 53, with a temporary
// resolv.conf that the test rewrites (GATEHOUSE_RESOLV_CONF).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseNameservers } from '../../src/resolver/upstream-system.js';
import { parseConfig } from '../../src/config.js';
import { dig } from '../helpers/dig.js';
import { startNsd, zone, type NsdServer } from '../helpers/nsd.js';
import { havePrograms } from '../helpers/programs.js';
import { startGatehouse, type Running } from '../helpers/gatehouse.js';

describe('chooseNameservers', () => {
  const local = () => ['127.0.0.1', '10.0.0.2', '::1', 'fe80::1', '2001:db8::2'];
  it.each([
    ['IPv4 and IPv6, in file order', 'nameserver 192.0.2.1\nnameserver 2001:db8::53\n', [], ['192.0.2.1', '2001:db8::53']],
    [
      'comments, options and search lines',
      '# generated\nsearch school.test\noptions edns0\nnameserver 192.0.2.1 ; primary\n',
      [],
      ['192.0.2.1'],
    ],
    ['a scoped link-local address is skipped', 'nameserver fe80::1%eth0\nnameserver 192.0.2.1\n', [], ['192.0.2.1']],
    ['not an address', 'nameserver dns.example\nnameserver 192.0.2.1\n', [], ['192.0.2.1']],
    [
      'at most three, as glibc',
      'nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nnameserver 192.0.2.4\n',
      [],
      ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
    ],
    ['our own listen address on port 53', 'nameserver 127.0.0.1\nnameserver 192.0.2.1\n', ['127.0.0.1:53'], ['192.0.2.1']],
    ['the same address on another port is not us', 'nameserver 127.0.0.1\n', ['127.0.0.1:5353'], ['127.0.0.1']],
    [
      'any loopback and local address behind 0.0.0.0:53',
      'nameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver 192.0.2.1\n',
      ['0.0.0.0:53'],
      ['192.0.2.1'],
    ],
    [
      'IPv6 local addresses behind [::]:53',
      'nameserver ::1\nnameserver 2001:db8::2\nnameserver 2001:db8::53\n',
      ['[::]:53'],
      ['2001:db8::53'],
    ],
    ['an empty file', '', [], []],
  ])('%s', (_label, text, listen, expected) => {
    expect(chooseNameservers(text, listen as string[], local).servers).toEqual(expected);
  });

  it('says why each line was skipped', () => {
    const c = chooseNameservers('nameserver 127.0.0.1\nnameserver fe80::1%2\n', ['127.0.0.1:53'], local);
    expect(c.skipped).toEqual([
      { address: '127.0.0.1', reason: 'Gatehouse itself listens there (dns.listen)' },
      { address: 'fe80::1%2', reason: 'a scoped (link-local) address' },
    ]);
  });

  it('is accepted as an upstream in the config, and other words are not', () => {
    const base = (u: string) => `links: [{ name: p, upstreams: ["${u}"] }]\ngroups: [{ name: everyone, default: true }]`;
    expect(parseConfig(base('system')).links[0].upstreams).toEqual(['system']);
    expect(() => parseConfig(base('systemd'))).toThrow(/links\[0\]\.upstreams\[0\].*system \(the nameservers of \/etc\/resolv.conf\)/);
  });
});

// Real nameservers on port 53 need root (as the suite runs in CI), and unique loopback addresses.
const run = havePrograms('nsd', 'dig') && process.getuid?.() === 0;
const net = `127.53.${process.pid % 250}`;

describe.skipIf(!run)('the system upstream, with nsd on loopback port 53', () => {
  let first: NsdServer;
  let second: NsdServer;
  let gh: Running;
  let dir: string;
  let resolvConf: string;
  beforeAll(async () => {
    first = await startNsd({ 'school.test': zone('school.test', ['* IN A 192.0.2.1']) }, { host: `${net}.1`, port: 53 });
    second = await startNsd({ 'school.test': zone('school.test', ['* IN A 192.0.2.2']) }, { host: `${net}.2`, port: 53 });
    dir = mkdtempSync(join(tmpdir(), 'gh-resolv-'));
    resolvConf = join(dir, 'resolv.conf');
    writeFileSync(resolvConf, `# test\nnameserver fe80::1%lo\nnameserver ${net}.1\n`);
    process.env.GATEHOUSE_RESOLV_CONF = resolvConf;
    gh = await startGatehouse(
      [
        'dns: { listen: ["127.0.0.1:0"] }',
        'links: [{ name: primary, upstreams: [system], timeoutMs: 1000 }]',
        'health: { probeIntervalMs: 60000 }',
        'groups: [{ name: everyone, default: true }]',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await gh?.stop();
    delete process.env.GATEHOUSE_RESOLV_CONF;
    await first?.stop();
    await second?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const addressOf = async (name: string) => (await dig('127.0.0.1', gh.port, name)).answers.map((a) => a.data).join(',');

  it('resolves through the nameserver of resolv.conf', async () => {
    expect(await addressOf('one.school.test')).toBe('192.0.2.1');
  });

  it('follows a change of resolv.conf without a restart', async () => {
    writeFileSync(resolvConf, `nameserver ${net}.2\n`);
    let seen = '';
    for (let i = 0; i < 40 && seen !== '192.0.2.2'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      seen = await addressOf(`two-${i}.school.test`);
    }
    expect(seen).toBe('192.0.2.2');
  });

  it('keeps the last good nameservers and raises an IT alert when none is left usable', async () => {
    writeFileSync(resolvConf, 'nameserver fe80::53%lo\n');
    let alerts: string[] = [];
    for (let i = 0; i < 40 && alerts.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      gh.app.alerts.flush();
      alerts = gh.app.alerts
        .list({ kind: 'operational' })
        .items.filter((a) => a.category === 'system-resolvers-missing')
        .map((a) => a.message ?? '');
    }
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatch(
      /link primary: no usable nameserver in .*resolv\.conf \(fe80::53%lo: a scoped \(link-local\) address\); still using udp:\/\/127\.53\.\d+\.2:53/,
    );
    expect(await addressOf('three.school.test')).toBe('192.0.2.2');
  });

  it('with no usable nameserver at all, answers SERVFAIL at once and says why', async () => {
    writeFileSync(join(dir, 'empty.conf'), 'search school.test\n');
    process.env.GATEHOUSE_RESOLV_CONF = join(dir, 'empty.conf');
    const lonely = await startGatehouse(
      [
        'dns: { listen: ["127.0.0.1:0"] }',
        // A long link timeout: had the resolver waited for it, dig (+time=3) would give up first.
        'links: [{ name: primary, upstreams: [system], timeoutMs: 10000 }]',
        'groups: [{ name: everyone, default: true }]',
      ].join('\n'),
    );
    try {
      const started = Date.now();
      const r = await dig('127.0.0.1', lonely.port, 'four.school.test');
      expect(r.status).toBe('SERVFAIL');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(lonely.app.links.status().links[0].lastError).toMatch(/^system: no usable nameserver in .*empty\.conf$/);
      lonely.app.alerts.flush();
      expect(lonely.app.alerts.list({ kind: 'operational' }).items.map((a) => a.category)).toContain('system-resolvers-missing');
    } finally {
      await lonely.stop();
      process.env.GATEHOUSE_RESOLV_CONF = resolvConf;
    }
  });
});
