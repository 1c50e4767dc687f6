// The read-only Settings view: every secret in a real config (SMTP password,
// webhook secret and URL path, metrics token, user-info and query strings)
// is redacted on the page and in /api/settings; the rest is shown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactConfig, REDACTED } from '../../src/admin/routes/settings.js';
import type { Client } from './helpers.js';
import { loggedIn, pagesHarness, type PagesHarness } from './pages-helpers.js';

const SECRETS = ['smtp-Password-123', 'webhook-secret-0123456789', 'T000/B000/XXXXSECRET', 'metrics-token-0123456789', 'listkey=abc'];

describe('settings', () => {
  let h: PagesHarness;
  let auditor: Client;

  beforeAll(async () => {
    h = await pagesHarness({
      extraYaml: `alerts:
  channels:
    email: { host: 127.0.0.1, port: 2525, from: gatehouse@school.example, to: [dsl@school.example], auth: { user: gatehouse, password: smtp-Password-123 } }
    webhook: { url: "https://hooks.example.com/services/T000/B000/XXXXSECRET", secret: webhook-secret-0123456789 }
lists:
  - { id: remote, category: adult, source: "https://user:pw@lists.example.org/adult.txt?listkey=abc", format: domains }`,
    });
    auditor = await loggedIn(h, 'governor', 'auditor');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('shows the effective config with every secret redacted', async () => {
    const res = await auditor.get('/settings');
    expect(res.statusCode).toBe(200);
    for (const s of SECRETS) expect(res.body).not.toContain(s);
    expect(res.body).not.toContain('user:pw');
    expect(res.body).toContain('password: (redacted)');
    expect(res.body).toContain('secret: (redacted)');
    expect(res.body).toContain('url: https://hooks.example.com/(redacted)');
    expect(res.body).toContain('https://lists.example.org/adult.txt?(redacted)');
    expect(res.body).toContain('user: gatehouse');
    expect(res.body).toContain('name: pupils');

    const api = await auditor.api('GET', '/api/settings');
    expect(api.statusCode).toBe(200);
    const text = api.body;
    for (const s of SECRETS) expect(text).not.toContain(s);
    expect(api.json().admin.metrics.token).toBe(REDACTED);
    expect(api.json().groups.map((g: { name: string }) => g.name)).toEqual(['pupils', 'staff', 'guests']);
  });

  it('redacts by key anywhere in the tree and leaves file paths alone', () => {
    expect(redactConfig({ a: { apiKey: 'x', keyFile: '/etc/k.pem', passwordFile: '/etc/p', nested: [{ token: 't' }] } })).toEqual({
      a: { apiKey: REDACTED, keyFile: '/etc/k.pem', passwordFile: '/etc/p', nested: [{ token: REDACTED }] },
    });
  });
});
