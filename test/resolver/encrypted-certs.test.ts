// The DoH/DoT certificate (src/resolver/tls-certs.ts): a missing, expired,
// unreadable or mismatched pair stops the start with a message naming the
// file (never a plain-text fallback); SIGHUP reads the files again, so a
// renewal needs no restart, checked with `openssl s_client` against a real
// `gatehouse serve`; a bad new pair is refused and the old one kept, with an
// IT alert; a certificate near its end raises an IT alert.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateError, Certificates, loadCertificate, type CertificateProblem } from '../../src/resolver/tls-certs.js';
import { tlsSchema } from '../../src/resolver/encrypted-config.js';
import { silentLogger } from '../../src/log.js';
import { makeDnsCerts } from '../helpers/tls-certs.js';
import { CLI, spawnServe } from '../helpers/serve-process.js';
import { havePrograms } from '../helpers/programs.js';
import { startEncrypted } from '../helpers/encrypted.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gh-certs-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tlsConfig = (certFile: string, keyFile: string) => tlsSchema.parse({ certFile, keyFile, hostname: 'dns.test' });

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CertificateError);
    return { code: (err as CertificateError).code, message: (err as Error).message };
  }
  throw new Error('no error');
}

describe('loading the certificate', () => {
  const dir = tempDir();
  const good = makeDnsCerts(join(dir, 'good'));
  const other = makeDnsCerts(join(dir, 'other'));
  const expired = makeDnsCerts(join(dir, 'expired'), 'dns.test', { expired: true });
  writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');

  it('takes a good pair and says what it covers', () => {
    const c = loadCertificate(tlsConfig(good.cert, good.key));
    expect(c.coversHostname).toBe(true);
    expect(c.coversTokenNames).toBe(true);
    expect(c.spkiSha256).toBe(good.spki);
    expect(c.fingerprint).toBe(new X509Certificate(readFileSync(good.cert)).fingerprint256);
  });

  it.each([
    [
      'a missing certificate',
      () => tlsConfig(join(dir, 'nope.crt'), good.key),
      'GH_ERR_TLS_CERT_MISSING',
      /tls\.certFile: cannot read .*nope\.crt \(ENOENT\)/,
    ],
    [
      'a missing key',
      () => tlsConfig(good.cert, join(dir, 'nope.key')),
      'GH_ERR_TLS_CERT_MISSING',
      /tls\.keyFile: cannot read .*nope\.key/,
    ],
    ['a file with no certificate', () => tlsConfig(join(dir, 'junk.pem'), good.key), 'GH_ERR_TLS_CERT_INVALID', /holds no PEM certificate/],
    ['another certificate’s key', () => tlsConfig(good.cert, other.key), 'GH_ERR_TLS_CERT_INVALID', /key is not the certificate’s/],
    [
      'an expired certificate',
      () => tlsConfig(expired.cert, expired.key),
      'GH_ERR_TLS_CERT_EXPIRED',
      /expired on Jan {1,2}2 00:00:00 2020 GMT/,
    ],
  ])('refuses %s, naming the file', (_what, cfg, code, message) => {
    const e = codeOf(() => loadCertificate(cfg()));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });

  it('refuses a certificate not valid yet', () => {
    const e = codeOf(() => loadCertificate(tlsConfig(good.cert, good.key), Date.parse('2001-01-01')));
    expect(e).toMatchObject({ code: 'GH_ERR_TLS_CERT_EXPIRED', message: expect.stringMatching(/not valid before/) });
  });

  it('keeps the certificate in use when a reload finds a bad pair, with an IT alert, and warns before the end', () => {
    const problems: CertificateProblem[] = [];
    const cfg = tlsConfig(good.cert, good.key);
    const certs = new Certificates(cfg, silentLogger(), (p) => problems.push(p));
    const before = certs.current;
    expect(certs.reload(tlsConfig(good.cert, other.key))).toBe(false);
    expect(certs.current).toBe(before);
    expect(problems).toEqual([
      { kind: 'certificate-reload-failed', message: expect.stringMatching(/key is not the certificate’s.*stays/) },
    ]);
    // Valid for 3 days, warned 21 days ahead (the default).
    certs.check();
    expect(problems[1]).toMatchObject({
      kind: 'certificate-expiring',
      message: expect.stringMatching(/in 2 days: renew it, then send SIGHUP/),
    });
    // The same certificate once its time is over (the daily check).
    let t = before.notAfter - 1;
    const clock = new Certificates(
      cfg,
      silentLogger(),
      (p) => problems.push(p),
      () => t,
    );
    const n = problems.length;
    t = before.notAfter + 1;
    clock.check();
    expect(problems.slice(n)).toEqual([
      { kind: 'certificate-expired', message: expect.stringMatching(/expired at .*cannot verify Gatehouse/) },
    ]);
  });
});

/** The certificate the server presents, as `openssl s_client` fetched and verified it against `ca`. */
async function presented(port: number, ca: string): Promise<{ fingerprint: string; verified: boolean }> {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'dns.test', '-CAfile', ca, '-alpn', 'dot'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await once(child, 'close');
  clearTimeout(timer);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out);
  if (!pem) throw new Error(`no certificate from s_client:\n${out}`);
  return { fingerprint: new X509Certificate(pem[0]).fingerprint256, verified: /Verify return code: 0 \(ok\)/.test(out) };
}

const fingerprintOf = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;

function serveConfig(dir: string, cert: string, key: string): string {
  const file = join(dir, 'gh.yaml');
  writeFileSync(
    file,
    [
      'dns: { listen: ["127.0.0.1:0"], drainTimeoutMs: 1000 }',
      'links: [{ name: primary, upstreams: ["udp://127.0.0.1:9"], timeoutMs: 500 }]',
      'groups: [{ name: everyone, default: true }]',
      'health: { probeIntervalMs: 60000 }',
      `store: { path: "${join(dir, 'gh.db')}" }`,
      'admin: { listen: "127.0.0.1:0", blockPage: { listen: "127.0.0.1:0" } }',
      'dot: { listen: ["127.0.0.1:0"] }',
      `tls: { certFile: "${cert}", keyFile: "${key}", hostname: dns.test }`,
    ].join('\n') + '\n',
  );
  return file;
}

describe.runIf(havePrograms('openssl'))('gatehouse serve and its certificate', () => {
  const procs: ChildProcess[] = [];
  afterEach(() => {
    for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('serves a renewed certificate after SIGHUP without a restart, and keeps it when the next files are bad', async () => {
    const dir = tempDir();
    const first = makeDnsCerts(join(dir, 'first'));
    const second = makeDnsCerts(join(dir, 'second'));
    const cert = join(dir, 'live.crt');
    const key = join(dir, 'live.key');
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    const served = await spawnServe(serveConfig(dir, cert, key), /"address":"127\.0\.0\.1:(\d+)".*DOT listening/);
    procs.push(served.child);
    const port = Number(served.match[1]);
    expect(await presented(port, first.ca)).toEqual({ fingerprint: fingerprintOf(first.cert), verified: true });

    // The renewal: new files in place (as certbot's deploy hook does), then SIGHUP.
    copyFileSync(second.cert, cert);
    copyFileSync(second.key, key);
    const pid = served.child.pid!;
    process.kill(pid, 'SIGHUP');
    const deadline = Date.now() + 10_000;
    let now = await presented(port, second.ca);
    while (now.fingerprint !== fingerprintOf(second.cert) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      now = await presented(port, second.ca);
    }
    expect(now).toEqual({ fingerprint: fingerprintOf(second.cert), verified: true });
    expect(served.child.exitCode).toBeNull();

    // A half-written renewal (the key of another pair): refused, the one in use stays.
    copyFileSync(first.key, key);
    const lines = served.lines.length;
    process.kill(pid, 'SIGHUP');
    const until = Date.now() + 10_000;
    while (!served.lines.slice(lines).some((l) => /certificate in use .* stays/.test(l)) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 100));
    expect(served.lines.slice(lines).join('\n')).toMatch(/GH_ERR_TLS_CERT_INVALID.*key is not the certificate’s/);
    expect(await presented(port, second.ca)).toEqual({ fingerprint: fingerprintOf(second.cert), verified: true });
  }, 60_000);

  it.each([
    [
      'expired',
      (d: string) => makeDnsCerts(join(d, 'c'), 'dns.test', { expired: true }),
      /could not start: tls\.certFile: the certificate in .* expired on/,
    ],
    [
      'missing',
      (d: string) => ({ ...makeDnsCerts(join(d, 'c')), cert: join(d, 'absent.crt') }),
      /could not start: tls\.certFile: cannot read .*absent\.crt \(ENOENT\)/,
    ],
  ])(
    'will not start with an %s certificate, and says which file',
    async (_what, make, message) => {
      const dir = tempDir();
      const c = make(dir);
      const child = spawn(process.execPath, [CLI, 'serve', '--config', serveConfig(dir, c.cert, c.key)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      procs.push(child);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(1);
      expect(out).toMatch(message);
      // Nothing listened meanwhile: no line says DoT (or plain DNS) was up.
      expect(out).not.toMatch(/DOT listening|"udp":"127/);
    },
    30_000,
  );
});

describe.runIf(havePrograms('kdig', 'nsd', 'openssl'))('certificate alerts in the running service', () => {
  it('raises an IT alert for a certificate that ends within tls.expiryWarningDays', async () => {
    const e = await startEncrypted();
    try {
      const alerts = e.gh.app.alerts.list({ kind: 'operational' }).items.filter((a) => a.category === 'certificate-expiring');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ severity: 'medium', message: expect.stringMatching(/expires at .* in 2 days/) });
      expect(alerts[0].details).toMatchObject({ certFile: e.certs.cert });
    } finally {
      await e.stop();
    }
  }, 60_000);
});
