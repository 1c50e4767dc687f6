// Throw-away certificates for the DoH/DoT tests, made with openssl in the
// test's own directory: a CA, a server certificate for a host name and its
// wildcard (the DoT names that carry a device token) and 127.0.0.1, and one
// whose validity ended in the past (`openssl ca` takes -startdate/-enddate;
// `openssl x509` in OpenSSL 3.0 cannot back-date).
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DnsCerts {
  ca: string;
  cert: string;
  key: string;
  /** base64 SHA-256 of the server certificate's public key, for Chromium's --ignore-certificate-errors-spki-list. */
  spki: string;
}

const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 30_000 });
/** A new P-256 key, unencrypted (for `openssl req`). */
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string): { crt: string; key: string } {
  const crt = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  openssl('req', '-x509', ...NEW_EC_KEY, '-keyout', key, '-out', crt, '-days', '3', '-subj', '/CN=Gatehouse test CA');
  return { crt, key };
}

function spkiOf(certFile: string): string {
  const der = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/**
 * A CA and a certificate for `hostname`, `*.hostname` and 127.0.0.1, valid
 * for `days` (or, with `expired`, from 2020-01-01 to 2020-01-02).
 */
export function makeDnsCerts(dir: string, hostname = 'dns.test', opts: { days?: number; expired?: boolean; name?: string } = {}): DnsCerts {
  mkdirSync(dir, { recursive: true });
  const base = opts.name ?? 'server';
  const ca = makeCa(dir);
  const key = join(dir, `${base}.key`);
  const csr = join(dir, `${base}.csr`);
  const cert = join(dir, `${base}.crt`);
  openssl('req', ...NEW_EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${hostname}`);
  const san = `subjectAltName=DNS:${hostname},DNS:*.${hostname},IP:127.0.0.1`;
  if (!opts.expired) {
    writeFileSync(join(dir, 'san.ext'), san + '\n');
    openssl(
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.crt,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      String(opts.days ?? 3),
      '-extfile',
      join(dir, 'san.ext'),
    );
  } else {
    const db = join(dir, 'ca-db');
    mkdirSync(join(db, 'new'), { recursive: true });
    writeFileSync(join(db, 'index.txt'), '');
    writeFileSync(join(db, 'serial'), '1000\n');
    writeFileSync(
      join(dir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = test',
        '[test]',
        `database = ${join(db, 'index.txt')}`,
        `new_certs_dir = ${join(db, 'new')}`,
        `serial = ${join(db, 'serial')}`,
        'default_md = sha256',
        'policy = any',
        'copy_extensions = none',
        'x509_extensions = ext',
        'unique_subject = no',
        '[any]',
        'commonName = supplied',
        '[ext]',
        san,
      ].join('\n') + '\n',
    );
    openssl(
      'ca',
      '-batch',
      '-config',
      join(dir, 'ca.cnf'),
      '-cert',
      ca.crt,
      '-keyfile',
      ca.key,
      '-in',
      csr,
      '-out',
      cert,
      '-startdate',
      '20200101000000Z',
      '-enddate',
      '20200102000000Z',
      '-notext',
    );
  }
  return { ca: ca.crt, cert, key, spki: spkiOf(cert) };
}
