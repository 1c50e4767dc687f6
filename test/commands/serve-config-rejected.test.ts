// A rejected reload is not only a line in the journal: `gatehouse serve` as a
// real process, a broken config file and SIGHUP, then the dashboard over HTTP
// (a DSL logged in through the forms) shows when and why (the key and the
// line), the alert inbox has a config-rejected IT alert, and a good reload
// clears the notice. Needs `npm run build` (dist/cli.js).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { CLI, spawnServe } from '../helpers/serve-process.js';
import { shownTotpKey, totpCode } from '../admin/helpers.js';

const PASSWORD = 'Install-Day1';
const NEW_PASSWORD = 'Safeguard-2026';

function configText(extra = ''): string {
  return [
    'dns: { listen: ["127.0.0.1:0"] }',
    'links: [{ name: primary, upstreams: ["udp://127.0.0.1:9"], timeoutMs: 300 }]',
    'categories:',
    '  - { id: adult, name: Adult content }',
    'groups:',
    '  - { name: everyone, default: true, block: [adult] }',
    'health: { probeIntervalMs: 60000 }',
    'store: { path: ./data/gh.db }',
    'admin: { listen: "127.0.0.1:0", blockPage: { enabled: false } }',
    'checks: { schedule: "" }',
    extra,
  ].join('\n');
}

/** A cookie-keeping HTTP client for the admin UI (fetch, redirects not followed). */
class Browserless {
  private cookies = new Map<string, string>();
  csrf = '';
  constructor(private readonly base: string) {}

  async request(path: string, form?: Record<string, string>): Promise<{ status: number; location: string | null; body: string }> {
    const res = await fetch(this.base + path, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams({ ...form, ...(this.csrf ? { _csrf: this.csrf } : {}) }).toString() } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, value] = pair.split('=');
      if (value) this.cookies.set(name, value);
      else this.cookies.delete(name);
    }
    const body = await res.text();
    const token = /<meta name="csrf-token" content="([^"]*)"/.exec(body);
    if (token) this.csrf = token[1];
    return { status: res.status, location: res.headers.get('location'), body };
  }

  /** The first login of a DSL: password, MFA enrolment (DSLs must use MFA), then a new password. */
  async login(name: string): Promise<void> {
    const page = await this.request('/login');
    const token = /name="_login" value="([^"]+)"/.exec(page.body)![1];
    const sent = await this.request('/login', { _login: token, username: name, password: PASSWORD });
    expect(sent.location).toBe('/login/mfa');
    const key = shownTotpKey((await this.request('/login/mfa')).body);
    expect(key).not.toBeNull();
    const enrolled = await this.request('/login/mfa', { code: totpCode(key!, Date.now()) });
    // Enrolment ends on the recovery codes page, which links on to the password change.
    expect(/id="recovery-codes-saved" href="([^"]+)"/.exec(enrolled.body)?.[1]).toBe('/password');
    await this.request('/password');
    const changed = await this.request('/password', { current: PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(changed.status).toBe(302);
  }
}

describe('a rejected reload on the running service', () => {
  let dir: string;
  let file: string;
  let child: ChildProcess;
  let base: string;
  let lines: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-serve-rejected-'));
    file = join(dir, 'gh.yaml');
    writeFileSync(file, configText());
    writeFileSync(join(dir, 'pw'), PASSWORD + '\n', { mode: 0o600 });
    const add = spawnSync(
      process.execPath,
      [CLI, 'user', 'add', '--config', file, '--name', 'dsl', '--role', 'dsl', '--password-file', join(dir, 'pw')],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(add.status, add.stderr).toBe(0);
    const served = await spawnServe(file, /"url":"(http:\/\/127\.0\.0\.1:\d+)".*admin UI listening/);
    child = served.child;
    lines = served.lines;
    base = served.match[1];
  }, 40_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows on the dashboard with the time, key and line, raises an IT alert, and clears after a good reload', async () => {
    const dsl = new Browserless(base);
    await dsl.login('dsl');
    expect((await dsl.request('/dashboard')).body).not.toContain('id="config-rejected"');

    // A typo in a group's block list: line 6 of the file.
    writeFileSync(file, configText().replace('block: [adult]', 'block: [adlut]'));
    child.kill('SIGHUP');
    const dashboard = await eventually(
      () => dsl.request('/dashboard'),
      (r) => r.body.includes('id="config-rejected"'),
    );
    const notice = /<div class="error" role="alert" id="config-rejected">([\s\S]*?)<\/div>/.exec(dashboard.body)![1];
    expect(notice).toContain('The changed config file was refused');
    expect(notice).toMatch(/refused<\/strong> at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(notice).toContain('<code>groups[0].block[0]</code> (line 6): unknown category &quot;adlut&quot;');
    expect(notice).toContain(file);
    // The same on Settings would need an admin or auditor; the dashboard's API says it too.
    const api = JSON.parse((await dsl.request('/api/dashboard')).body);
    expect(api.configRejected.problems).toEqual([{ path: 'groups[0].block[0]', line: 6, message: 'unknown category "adlut"' }]);

    // An IT alert, in the inbox with the rest.
    const alerts = await eventually(
      () => dsl.request('/api/alerts?kind=operational'),
      (r) => r.body.includes('config-rejected'),
    );
    const alert = JSON.parse(alerts.body).items.find((a: { category: string }) => a.category === 'config-rejected');
    expect(alert).toMatchObject({ kind: 'operational', severity: 'medium', status: 'open' });
    expect(alert.message).toContain('groups[0].block[0] (line 6): unknown category "adlut"');

    // Fixed and reloaded: the notice goes.
    writeFileSync(file, configText());
    child.kill('SIGHUP');
    await eventually(
      () => dsl.request('/dashboard'),
      (r) => !r.body.includes('id="config-rejected"'),
    );
    expect((await dsl.request('/dashboard')).body).not.toContain('id="config-rejected"');
    expect(lines.some((l) => l.includes('configuration reloaded'))).toBe(true);
  });
});
