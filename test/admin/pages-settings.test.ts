// The read-only Settings view: every secret in a real config (SMTP password,
// webhook secret and URL path, metrics token, user-info and query strings)
// is redacted on the page and in /api/settings; the rest is shown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactConfig, REDACTED } from '../../src/admin/routes/settings.js';
import { blockedWhen, formatDays, policyTable } from '../../src/admin/views/policy-table.js';
import { loadConfig } from '../../src/config.js';
import type { Client } from './helpers.js';
import { loggedIn, pagesHarness, type PagesHarness } from './pages-helpers.js';
import { currentVersion, writeVersion } from '../../src/changes/store.js';

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

  it('shows what each group blocks, and when, before the raw YAML', async () => {
    // An exception in force: a version of the governed policy with it (as an applied change writes one).
    const v = currentVersion(h.db)!;
    const exception = {
      id: 1,
      domain: 'maps.example.org',
      action: 'allow' as const,
      groups: ['pupils'],
      requester: 'r',
      subjectArea: 's',
      reason: 'r',
      approver: 'a',
      changeId: v.changeId,
      createdAt: 0,
    };
    writeVersion(h.db, { ...v.doc, exceptions: [exception], nextExceptionId: 2 }, v.changeId, 1);
    const body = (await auditor.get('/settings')).body;
    const table = body.indexOf('id="policy-table"');
    expect(table).toBeGreaterThan(0);
    expect(table).toBeLessThan(body.indexOf('id="settings"'));
    const rows = Object.fromEntries(
      [...body.matchAll(/<tr[^>]*><th scope="row">([^<]+)[\s\S]*?<\/tr>/g)].map((m) => [
        m[1].trim(),
        m[0].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' '),
      ]),
    );
    expect(rows['IWF child abuse list']).toContain('Blocked for all groups, always');
    expect(rows['Adult content']).toMatch(/blocked, always blocked, always blocked, always/);
    expect(rows['Social media']).toMatch(/blocked, always not blocked blocked, always/);
    expect(rows['Help and support services']).toContain('Never blocked');
    expect(rows['Exceptions in force']).toMatch(/1 allow, 0 deny none none/);
  });

  it('shows the roster group mappings in force, names escaped, without the change links', async () => {
    const v = currentVersion(h.db)!;
    const mappings = [
      { orgUnit: '/Students/<b>Year 9</b>', group: 'pupils' },
      { role: 'teacher', group: 'staff' },
    ];
    writeVersion(h.db, { ...v.doc, identityGroups: mappings }, v.changeId, 2);
    const body = (await auditor.get('/settings')).body;
    const table = body.slice(body.indexOf('id="mappings"'), body.indexOf('</table>', body.indexOf('id="mappings"')));
    expect(table).toContain('/Students/&lt;b&gt;Year 9&lt;/b&gt;');
    expect(table).not.toContain('<b>');
    expect(table).toContain('teacher');
    expect(table).not.toContain('change or remove');
    expect(body.indexOf('id="mappings"')).toBeLessThan(body.indexOf('id="settings"'));
  });
});

describe('the policy table', () => {
  const config = loadConfig(new URL('../../config/gatehouse.example.yaml', import.meta.url).pathname);

  it.each<[string[], string]>([
    [['mon', 'tue', 'wed', 'thu', 'fri'], 'Mon–Fri'],
    [['mon', 'wed', 'fri'], 'Mon, Wed, Fri'],
    [['sat', 'sun'], 'Sat, Sun'],
    [['sun', 'mon', 'tue', 'thu'], 'Mon, Tue, Thu, Sun'],
    [['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], 'every day'],
  ])('writes days %j as %s', (days, text) => {
    expect(formatDays(days)).toBe(text);
  });

  it('gives each group and category the config says: always, the schedule windows in their zone, or not', () => {
    const pupils = config.groups.find((g) => g.name === 'pupils')!;
    const staff = config.groups.find((g) => g.name === 'staff')!;
    expect(blockedWhen(pupils, 'adult')).toBe('always');
    expect(blockedWhen(pupils, 'social')).toBe('Mon–Fri 08:30–12:00, 13:00–15:30 (Europe/London)');
    expect(blockedWhen(staff, 'social')).toBe('');
    const html = policyTable(config, []).value;
    expect(html).toContain('blocked Mon–Fri 08:30–12:00, 13:00–15:30 (Europe/London)');
    expect(html).toContain('Google, Bing, DuckDuckGo; YouTube strict');
    expect(html).toContain('YouTube moderate');
    expect(html).toContain('porn*, *porn, xxx, hentai');
    expect(html.match(/Blocked for all groups, always/g)).toHaveLength(2); // IWF and CTIRU
  });
});

describe('settings after a refused reload', () => {
  it('says the running config is the old one, and why the new one was refused', async () => {
    const at = Date.parse('2026-06-15T08:30:00Z');
    const h = await pagesHarness({
      now: at + 60_000,
      deps: {
        live: {
          configRejected: () => ({
            at,
            file: '/etc/gatehouse/gatehouse.yaml',
            problems: [{ path: 'groups[0].block[0]', line: 6, message: 'unknown category "adlut"' }],
          }),
        },
      },
    });
    try {
      const auditor = await loggedIn(h, 'governor', 'auditor');
      const body = (await auditor.get('/settings')).body;
      expect(body).toContain('id="config-rejected"');
      expect(body).toContain('refused</strong> at 2026-06-15 09:30:00'); // BST
      expect(body).toContain('<code>groups[0].block[0]</code> (line 6): unknown category &quot;adlut&quot;');
    } finally {
      await h.close();
    }
  });
});
