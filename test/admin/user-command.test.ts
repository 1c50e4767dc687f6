// `gatehouse user add|unlock|list` run as a real process against a temp config.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/admin/passwords.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-user-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'gatehouse.yaml');
writeFileSync(
  config,
  `links:\n  - { name: primary, upstreams: ["udp://127.0.0.1:53"] }\ngroups:\n  - { name: pupils, default: true }\nstore: { path: ./data/g.db }\n`,
);

const run = (args: string[], input?: string) => runCli(['user', ...args, '--config', config], { input });

describe('gatehouse user', () => {
  it('adds the first admin with a password from stdin, refusing a weak one', async () => {
    expect(await run(['add', '--name', 'head-it', '--role', 'admin'], 'weak\n')).toMatchObject({
      code: 1,
      err: expect.stringContaining('include an upper-case letter'),
    });
    const ok = await run(['add', '--name', 'head-it', '--role', 'admin'], 'Opening-Day7\n');
    expect(ok.code).toBe(0);
    const db = new Database(join(dir, 'data/g.db'), { readonly: true });
    const row = db.prepare('SELECT role, must_change_password, password_hash FROM admin_users WHERE name = ?').get('head-it') as Record<
      string,
      string | number
    >;
    expect(row.role).toBe('admin');
    expect(row.must_change_password).toBe(1);
    expect(await verifyPassword('Opening-Day7', row.password_hash as string)).toBe(true);
    expect(db.prepare('SELECT entity, action FROM change_log').all()).toEqual([{ entity: 'user', action: 'create' }]);
    db.close();
    expect((await run(['add', '--name', 'HEAD-IT', '--role', 'dsl'], 'Opening-Day8\n')).err).toContain('already exists');
  });

  it('reads the password from a file, lists and unlocks', async () => {
    const file = join(dir, 'pw');
    writeFileSync(file, 'Safeguard-Rota9\n', { mode: 0o600 });
    expect((await run(['add', '--name', 'dsl1', '--role', 'dsl', '--password-file', file])).code).toBe(0);
    execFileSync(process.execPath, [
      '-e',
      `const D=require('better-sqlite3');new D(${JSON.stringify(join(dir, 'data/g.db'))}).prepare("UPDATE admin_users SET locked_at = 1, failed_attempts = 3 WHERE name = 'dsl1'").run()`,
    ]);
    expect((await run(['list'])).out).toContain('dsl1\tdsl\tlocked');
    expect((await run(['unlock', 'dsl1'])).code).toBe(0);
    expect((await run(['list'])).out).toContain('dsl1\tdsl\tactive');
    expect((await run(['unlock', 'nobody'])).code).toBe(1);
  });
});
