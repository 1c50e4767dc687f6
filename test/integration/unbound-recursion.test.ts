// Gatehouse with the local recursive resolver the appliance runs (issue 11,
// item 13): the shipped deploy/unbound.conf, in a real unbound, iterating from a
// loopback root. Three nsd processes on 127.x.y.1-3, port 53, serve a signed
// root, a signed TLD (example.) and the leaf zones; unbound has root hints and
// the root's trust anchor and nothing else, so every answer comes down the
// referrals root ▸ TLD ▸ leaf, and every signature is checked. Gatehouse's
// primary link is that unbound; its satellite link is a resolver that does not
// validate and holds the forged data, which must never reach a client.
//
// Needs root (port 53 on loopback, as a delegation's glue carries no port),
// nsd, unbound, ldns-keygen/ldns-signzone (ldnsutils), dig and kdig.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { havePrograms } from '../helpers/programs.js';
import { startNsd, type NsdServer } from '../helpers/nsd.js';
import { startRecursor, type Recursor } from '../helpers/unbound-recursor.js';
import { breakSignature, expireSignature, signZone } from '../helpers/dnssec.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { baseConfig, startGatehouse, type Running } from '../helpers/gatehouse.js';
import { dig, kdig } from '../helpers/dig.js';

const repo = resolve(import.meta.dirname, '../..');

function canBindPort53(): boolean {
  if (process.getuid?.() === 0) return true;
  const message = 'the unbound recursion test needs root: its name servers listen on port 53 of loopback addresses';
  if (process.env.CI === 'true') throw new Error(`${message}; CI runs as root`);
  console.warn(`skipping: ${message}`);
  return false;
}
const ready = havePrograms('nsd', 'unbound', 'ldns-keygen', 'ldns-signzone', 'dig', 'kdig') && canBindPort53();

// A /24 of loopback addresses of this run's own: .1 root, .2 TLD, .3 leaves, .4 unbound.
const net = `127.${randomInt(64, 254)}.${randomInt(0, 256)}`;
const ROOT = `${net}.1`;
const TLD = `${net}.2`;
const LEAF = `${net}.3`;
const UNBOUND = `${net}.4`;
const UNBOUND_PORT = 5335; // as on the appliance

const soa = (origin: string, ns: string) => [
  `$ORIGIN ${origin}`,
  '$TTL 3600',
  `@ IN SOA ${ns} admin.example. 1 3600 600 86400 300`,
  `@ IN NS ${ns}`,
];

/** The zones, signed bottom up (each DS goes into the parent before the parent is signed). */
function buildZones(dir: string): { zones: Record<string, Record<string, string>>; anchor: string } {
  const schoolText = [
    ...soa('school.example.', 'ns.school.example.'),
    `ns IN A ${LEAF}`,
    'good IN A 192.0.2.10',
    'bad IN A 192.0.2.66', // its signature is tampered with
    'old IN A 192.0.2.70', // its signature has expired
    '',
  ].join('\n');
  const school = signZone(dir, 'school.example.', schoolText);
  const schoolSigned = breakSignature(
    expireSignature(dir, 'school.example.', schoolText, school, 'old.school.example.', 'A'),
    'bad.school.example.',
    'A',
  );
  // A zone whose signer stopped: every signature, the DNSKEY set's too, expired in 2020.
  const expired = signZone(
    dir,
    'expired.example.',
    [...soa('expired.example.', 'ns.expired.example.'), `ns IN A ${LEAF}`, 'www IN A 192.0.2.77', ''].join('\n'),
    { inception: '20200101', expiration: '20200201' },
  );
  const plain = [...soa('plain.example.', 'ns.plain.example.'), `ns IN A ${LEAF}`, 'www IN A 192.0.2.20', ''].join('\n');
  const tld = signZone(
    dir,
    'example.',
    [
      ...soa('example.', 'ns.example.'),
      `ns IN A ${TLD}`,
      ...['school', 'expired', 'plain'].flatMap((z) => [`${z} IN NS ns.${z}`, `ns.${z} IN A ${LEAF}`]),
      school.ds,
      expired.ds,
      '',
    ].join('\n'),
  );
  const root = signZone(
    dir,
    '.',
    [
      ...soa('.', 'a.root-servers.net.'),
      `a.root-servers.net. IN A ${ROOT}`,
      'example. IN NS ns.example.',
      `ns.example. IN A ${TLD}`,
      tld.ds,
      '',
    ].join('\n'),
  );
  return {
    zones: {
      [ROOT]: { '.': root.text },
      [TLD]: { 'example.': tld.text },
      [LEAF]: { 'school.example.': schoolSigned, 'expired.example.': expired.text, 'plain.example.': plain },
    },
    anchor: root.dnskey,
  };
}

/** deploy/unbound.conf as installed, with only what a loopback test must change. */
function unboundConfig(dir: string, anchorFile: string, hintsFile: string): string {
  const shipped = readFileSync(join(repo, 'deploy/unbound.conf'), 'utf8');
  if (!shipped.includes('interface: 127.0.0.1@5335')) throw new Error('deploy/unbound.conf has no interface line to move');
  return [
    shipped.replace('interface: 127.0.0.1@5335', `interface: ${UNBOUND}@${UNBOUND_PORT}`),
    'server:',
    // The name servers here are on loopback, which the appliance never queries.
    '    do-not-query-localhost: no',
    `    root-hints: "${hintsFile}"`,
    // On the appliance: the real root's anchor, in /var/lib/unbound/root.key.
    `    trust-anchor-file: "${anchorFile}"`,
    '    username: ""',
    '    chroot: ""',
    `    directory: "${dir}"`,
    `    pidfile: "${dir}/unbound.pid"`,
    '    use-syslog: no',
    '    logfile: ""',
    'remote-control:',
    '    control-enable: no',
    '',
  ].join('\n');
}

describe.skipIf(!ready)('Gatehouse over unbound iterating from a loopback root', () => {
  let work: string;
  const nsds: NsdServer[] = [];
  let unbound: Recursor;
  let satellite: FakeUpstream;
  let gh: Running;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gh-recursion-'));
    const { zones, anchor } = buildZones(work);
    // Port 53: a delegation's glue carries an address and no port.
    for (const [address, served] of Object.entries(zones)) nsds.push(await startNsd(served, { host: address, port: 53 }));
    unbound = await startRecursor(
      (dir) => {
        const anchorFile = join(dir, 'root.anchor');
        const hintsFile = join(dir, 'root.hints');
        writeFileSync(anchorFile, `${anchor}\n`);
        writeFileSync(hintsFile, `. 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A ${ROOT}\n`);
        return unboundConfig(dir, anchorFile, hintsFile);
      },
      UNBOUND,
      UNBOUND_PORT,
    );
    // The satellite link: a provider's resolver that does not validate, with the forged answers.
    satellite = await startFakeUpstream({
      'good.school.example': '192.0.2.10',
      'bad.school.example': '192.0.2.66',
      'www.expired.example': '192.0.2.77',
    });
    gh = await startGatehouse(
      baseConfig(
        [
          { name: 'primary', upstreams: [`udp://${UNBOUND}:${UNBOUND_PORT}`], timeoutMs: 2000 },
          { name: 'satellite', upstreams: [satellite.url], timeoutMs: 3000 },
        ],
        // No probes: every query the satellite sees is a client's.
        'health: { failAfter: 3, probeIntervalMs: 600000 }',
      ),
    );
  });

  afterAll(async () => {
    await gh?.stop();
    await satellite?.stop();
    await unbound?.stop();
    for (const n of nsds) await n.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    gh.app.cache.clear();
    satellite.queries = 0;
  });

  it('resolves a signed name down the referrals, with AD for a client that sets DO or AD, and no other', async () => {
    const signed = await dig('127.0.0.1', gh.port, 'good.school.example', 'A', ['+dnssec']);
    expect(signed.status).toBe('NOERROR');
    expect(signed.flags).toContain('ad');
    expect(signed.answers.map((a) => `${a.type} ${a.data.split(' ')[0]}`)).toEqual(['A 192.0.2.10', 'RRSIG A']);
    // dig sets AD in its queries unless told not to (RFC 6840 §5.7).
    const adOnly = await dig('127.0.0.1', gh.port, 'good.school.example', 'A');
    expect(adOnly.flags).toContain('ad');
    expect(adOnly.answers.map((a) => a.type)).toEqual(['A']);
    const neither = await dig('127.0.0.1', gh.port, 'good.school.example', 'A', ['+noadflag']);
    expect(neither.status).toBe('NOERROR');
    expect(neither.flags).not.toContain('ad');
    const k = await kdig('127.0.0.1', gh.port, 'good.school.example', 'A', ['+dnssec']);
    expect(k.flags).toContain('ad');
    expect(satellite.queries).toBe(0);
  });

  it('answers a name whose signature was tampered with SERVFAIL and unbound’s EDE 6, and never asks the satellite link', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await dig('127.0.0.1', gh.port, 'bad.school.example', 'A', ['+dnssec']);
      expect(r.status).toBe('SERVFAIL');
      expect(r.answers).toEqual([]);
      expect(r.raw).toMatch(/; EDE: 6 \(DNSSEC Bogus\)/);
    }
    const k = await kdig('127.0.0.1', gh.port, 'bad.school.example', 'A', ['+edns']);
    expect(k.status).toBe('SERVFAIL');
    expect(k.raw).toMatch(/EDE: 6 \(DNSSEC Bogus\)/);
    // The forged 192.0.2.66 stayed on the satellite, and the primary link counts no failure.
    expect(satellite.queries).toBe(0);
    const status = gh.app.links.status();
    expect(status.current).toBe('primary');
    expect(status.links[0]).toMatchObject({ name: 'primary', state: 'up', consecutiveFailures: 0, failures: 0 });
  });

  it('answers a name whose signature has expired with SERVFAIL and EDE 7', async () => {
    const r = await dig('127.0.0.1', gh.port, 'old.school.example', 'A', ['+dnssec']);
    expect(r.status).toBe('SERVFAIL');
    expect(r.raw).toMatch(/; EDE: 7 \(Signature Expired\)/);
    expect(satellite.queries).toBe(0);
  });

  it('answers a zone whose keys no longer verify (all its signatures expired) with SERVFAIL and a DNSSEC EDE', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await dig('127.0.0.1', gh.port, 'www.expired.example', 'A', ['+dnssec']);
      expect(r.status).toBe('SERVFAIL');
      // unbound 1.17 says 9 (DNSKEY Missing) for a DNSKEY set that does not verify, then 6 from its cache.
      expect(r.raw).toMatch(/; EDE: (6 \(DNSSEC Bogus\)|7 \(Signature Expired\)|9 \(DNSKEY Missing\))/);
    }
    expect(satellite.queries).toBe(0);
    expect(gh.app.links.status().links[0]).toMatchObject({ state: 'up', failures: 0 });
  });

  it('gives the unchecked data to a client that sets CD, as it asked', async () => {
    const r = await dig('127.0.0.1', gh.port, 'bad.school.example', 'A', ['+cd']);
    expect(r.status).toBe('NOERROR');
    expect(r.flags).toContain('cd');
    expect(r.flags).not.toContain('ad');
    expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.66']);
    expect(satellite.queries).toBe(0);
  });

  it('resolves an unsigned delegation without AD', async () => {
    const r = await dig('127.0.0.1', gh.port, 'www.plain.example', 'A', ['+dnssec']);
    expect(r.status).toBe('NOERROR');
    expect(r.flags).not.toContain('ad');
    expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.20']);
  });

  // Last: it stops unbound.
  it('moves to the satellite link when unbound stops answering', async () => {
    await unbound.stop();
    const r = await dig('127.0.0.1', gh.port, 'good.school.example', 'A');
    expect(r.status).toBe('NOERROR');
    expect(r.answers.map((a) => a.data)).toEqual(['192.0.2.10']);
    expect(r.flags).not.toContain('ad'); // the satellite's resolver does not validate
    expect(satellite.queries).toBe(1);
  });
});
