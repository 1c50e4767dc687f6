// HTTPS material: a configured certificate, or a self-signed one generated
// once (with openssl) into the data directory at first start.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../log.js';
import type { AdminConfig } from './config.js';

export function generatedTlsPaths(storePath: string): { certFile: string; keyFile: string } {
  const dir = join(dirname(storePath), 'admin-tls');
  return { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
}

export function loadTls(tls: NonNullable<AdminConfig['tls']>, storePath: string, logger: Logger): { key: Buffer; cert: Buffer } {
  let { certFile, keyFile } = tls;
  if (!certFile || !keyFile) {
    ({ certFile, keyFile } = generatedTlsPaths(storePath));
    if (!existsSync(certFile) || !existsSync(keyFile)) {
      mkdirSync(dirname(certFile), { recursive: true, mode: 0o700 });
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '825',
          '-subj',
          '/CN=gatehouse-admin',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
          '-keyout',
          keyFile,
          '-out',
          certFile,
        ],
        { stdio: 'ignore', timeout: 30_000 },
      );
      chmodSync(keyFile, 0o600);
      logger.info({ certFile }, 'admin: generated a self-signed TLS certificate');
    }
  }
  return { key: readFileSync(keyFile), cert: readFileSync(certFile) };
}
