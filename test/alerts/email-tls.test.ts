// STARTTLS to a real SMTP server process: the server's certificate is checked
// against the configured CA, and mail never goes out in the clear when
// requireTLS is set.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { havePrograms } from '../helpers/programs.js';
import { makeCerts } from './helpers/certs.js';
import { SmtpSink } from './helpers/smtp.js';
import { TestSite, event } from './helpers/setup.js';
import { waitFor } from './helpers/wait.js';

let site: TestSite;
let smtp: SmtpSink;
afterEach(async () => {
  await site?.close();
  await smtp?.stop();
});

const base = { host: '127.0.0.1', from: 'gatehouse@school.example', to: ['dsl@school.example'], timeoutMs: 5000 };

describe.runIf(havePrograms('openssl'))('email over STARTTLS', () => {
  it('upgrades to TLS, verifies the server against the CA and authenticates with a password file', async () => {
    site = new TestSite();
    const certs = makeCerts(site.dir);
    const passwordFile = join(site.dir, 'smtp-password');
    writeFileSync(passwordFile, 'Tls-pass-1\n', { mode: 0o600 });
    smtp = await SmtpSink.start({ auth: { user: 'alerts', pass: 'Tls-pass-1' }, tls: certs });
    const engine = site.start({
      channels: { email: { ...base, port: smtp.port, requireTLS: true, tls: { ca: certs.ca }, auth: { user: 'alerts', passwordFile } } },
    });
    engine.observe(event());
    await waitFor(() => smtp.mails.length === 1, 15_000, 'the email');
    expect(smtp.mails[0].secure).toBe(true);
    expect(smtp.mails[0].user).toBe('alerts');
  });

  it('refuses a server whose certificate the CA did not sign, and keeps the alert queued', async () => {
    site = new TestSite();
    const certs = makeCerts(site.dir);
    smtp = await SmtpSink.start({ tls: certs });
    const engine = site.start({
      channels: { email: { ...base, port: smtp.port, requireTLS: true } },
      delivery: { retryBaseMs: 60_000, retryMaxMs: 60_000 },
    });
    engine.observe(event());
    await waitFor(() => engine.list().total === 1, 5000, 'the alert');
    const id = engine.list().items[0].id;
    await waitFor(() => engine.get(id)!.deliveries.length === 1, 15_000, 'the failed attempt');
    expect(engine.get(id)!.deliveries[0].error).toMatch(/certificate/i);
    expect(engine.pendingDeliveries()).toBe(1);
    expect(smtp.mails.length).toBe(0);
  });
});
