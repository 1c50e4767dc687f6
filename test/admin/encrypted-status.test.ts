// The Identity page's encrypted-DNS section from a status as EncryptedDns.status()
// gives it: the certificate's problems said in words, a hostile certificate
// subject shown as text, the refusals counted apart. (The running service's
// own section is checked end to end in e2e-device-tokens.test.ts.)
import { describe, expect, it } from 'vitest';
import { encryptedSection } from '../../src/admin/views/encrypted-status.js';
import type { EncryptedStatus } from '../../src/resolver/encrypted.js';

const NOW = Date.UTC(2026, 11, 2, 12);
const DAY = 86_400_000;
const connections = { evicted: 1, rejected: 2, idleClosed: 3, handshakeFailed: 4, handshakeTimedOut: 5, open: 6 };

function status(certificate: Partial<NonNullable<EncryptedStatus['certificate']>> = {}): EncryptedStatus {
  return {
    hostname: 'dns.school.example',
    expiryWarningDays: 21,
    doh: {
      listening: ['0.0.0.0:443'],
      stats: { requests: 120, http2: 100, http1: 20, status: { 403: 7, 400: 2, 415: 1 }, flooded: 1 },
      connections,
    },
    dot: { listening: ['0.0.0.0:853'], stats: { queries: 55, withLabel: 9 }, connections },
    certificate: {
      subject: 'dns.school.example',
      notAfter: NOW + 90 * DAY,
      fingerprint: 'AA:BB',
      coversHostname: true,
      coversTokenNames: true,
      spkiSha256: 'x',
      ...certificate,
    },
    identifiers: { tokens: 12, chromePeople: 800, chromeDevices: 300 },
    chromeSalt: true,
  };
}

describe('the encrypted-DNS section', () => {
  it('shows the listeners, their counts and the certificate, with no problem to report', () => {
    const page = encryptedSection(status(), NOW, 'Europe/London').value;
    expect(page).not.toContain('id="encrypted-problems"');
    expect(page).toContain('<code>0.0.0.0:443</code>');
    expect(page).toContain('(90 days)');
    expect(page).toMatch(/Refused from outside without a known identity \(403\)<\/td><td class="num">7</);
    expect(page).toMatch(/Other refusals[^<]*<\/td><td class="num">3</);
    expect(page).toMatch(/Queries<\/td><td class="num">55</);
    expect(page).toContain('12 device tokens in force');
    expect(page).toContain('800 people and 300 devices');
  });

  it('says when the certificate has ended, is about to, or does not cover the names devices use', () => {
    expect(encryptedSection(status({ notAfter: NOW - DAY }), NOW, 'UTC').value).toContain('The certificate has expired');
    expect(encryptedSection(status({ notAfter: NOW + 10 * DAY }), NOW, 'UTC').value).toContain('The certificate ends in 10 days');
    const uncovered = encryptedSection(status({ coversHostname: false, coversTokenNames: false }), NOW, 'UTC').value;
    expect(uncovered).toContain('does not cover dns.school.example');
    expect(uncovered).toContain('does not cover *.dns.school.example');
  });

  it('shows a hostile certificate subject as text', () => {
    const page = encryptedSection(status({ subject: '<img src=x onerror=alert(1)>' }), NOW, 'UTC').value;
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).not.toContain('<img');
  });

  it('says when encrypted DNS is not set up', () => {
    expect(encryptedSection(undefined, NOW, 'UTC').value).toContain('id="encrypted-off"');
  });
});
