// `gatehouse log …` and `gatehouse backup …`, run as a user would (a child process).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/store/db.js';
import { search } from '../../src/store/search.js';
import { latestVersion, migrations } from '../../src/store/migrations.js';
import { tempDir } from '../store/helpers.js';
import { writeDataset, type Row } from '../store/dataset.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const START = Date.UTC(2026, 10, 23, 8, 0, 0);

let tmp: ReturnType<typeof tempDir>;
let path: string;
let rows: Row[];

beforeAll(() => {
  tmp = tempDir();
  path = tmp.path('gh.db');
  const db = openDatabase(path);
  rows = writeDataset(db, START, 500, 1000);
  db.close();
});
afterAll(() => tmp.remove());

async function gatehouse(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', cli, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const period = ['--from', new Date(START).toISOString(), '--to', new Date(START + 600_000).toISOString()];

describe('gatehouse log search', () => {
  it('--csv --all exports exactly the matching rows, newest first', async () => {
    const r = await gatehouse('log', 'search', '--db', path, ...period, '--client', '10.0.1.4', '--csv', '--all');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'time,client,group,name,type,action,reason,category,list,link,result,latency_us,cached,check_traffic,transport,user,person,device,mac',
    );
    const want = rows.filter((x) => x.client === '10.0.1.4').sort((a, b) => b.ts - a.ts);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(want.map((x) => new Date(x.ts).toISOString()));
    expect(lines.slice(1).map((l) => l.split(',')[3])).toEqual(want.map((x) => x.name));
  });

  it('--user and --device find a person across their devices and addresses, and name them in text and CSV', async () => {
    const r = await gatehouse('log', 'search', '--db', path, ...period, '--user', 'Ann Smith', '--csv', '--all');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\r\n').slice(1);
    const want = rows.filter((x) => x.user === 'asmith').sort((a, b) => b.ts - a.ts);
    expect(want.length).toBeGreaterThan(5);
    expect(new Set(want.map((x) => x.client)).size).toBeGreaterThan(1);
    expect(lines.map((l) => l.split(',')[0])).toEqual(want.map((x) => new Date(x.ts).toISOString()));
    expect(new Set(lines.map((l) => l.split(',').slice(15, 17).join(',')))).toEqual(new Set(['asmith,Ann Smith']));
    expect(lines.map((l) => l.split(',')[18])).toEqual(want.map((x) => x.mac));
    const text = await gatehouse('log', 'search', '--db', path, ...period, '--device', '02:00:00:00:00:04', '--limit', '3');
    expect(text.code).toBe(0);
    const shown = text.stdout.trimEnd().split('\n');
    expect(shown).toHaveLength(3);
    for (const line of shown) expect(line).toMatch(/ user=\w+ device=laptop-4 \(02:00:00:00:00:04\)$/);
    const nobody = await gatehouse('log', 'search', '--db', path, ...period, '--user', 'nobody-at-all');
    expect(nobody).toMatchObject({ code: 0, stdout: '' });
  });

  it('pages with --limit and --before', async () => {
    const first = await gatehouse('log', 'search', '--db', path, ...period, '--action', 'block', '--limit', '5');
    expect(first.code).toBe(0);
    expect(first.stdout.trimEnd().split('\n')).toHaveLength(5);
    const cursor = /--before (\d+)/.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const second = await gatehouse('log', 'search', '--db', path, ...period, '--action', 'block', '--limit', '5', '--before', cursor!);
    const db = openDatabase(path, { readonly: true });
    const want = search(db, { from: START, to: START + 600_000, action: 'block', limit: 10 }).rows;
    db.close();
    const times = (out: string) =>
      out
        .trimEnd()
        .split('\n')
        .map((l) => l.split(' ')[0]);
    expect([...times(first.stdout), ...times(second.stdout)]).toEqual(want.map((x) => new Date(x.ts).toISOString()));
  });

  it('top domains', async () => {
    const r = await gatehouse(
      'log',
      'top',
      'domains',
      '--db',
      path,
      '--from',
      new Date(START).toISOString(),
      '--to',
      new Date(START + 3_600_000).toISOString(),
      '--limit',
      '3',
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(3);
  });

  it.each([
    [['log', 'search', '--action', 'drop'], 2, /--action must be allow, block or rewrite/],
    [['log', 'search', '--from', 'yesterday-ish'], 2, /--from: "yesterday-ish" is not a time/],
    [['log', 'frobnicate'], 2, /gatehouse log: unknown subcommand "frobnicate" \(one of: search, top; see gatehouse log --help\)/],
    [['log', 'search', '--checks', 'all'], 2, /--checks must be exclude, include or only/],
    [['log', 'search', '--from', '1h', '--to', '2h'], 2, /time range is empty/],
  ])('%j: exit %i with a clear message', async (args, code, message) => {
    const r = await gatehouse(...args, '--db', path);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it('a missing database: exit 1 naming the file', async () => {
    const r = await gatehouse('log', 'search', '--db', tmp.path('nope.db'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(tmp.path('nope.db'));
  });
});

describe('gatehouse log on a database an older version wrote', () => {
  it('says to start the service once (which upgrades it) instead of failing in SQL', async () => {
    const old = tmp.path('v4.db');
    openDatabase(old, { migrations: migrations.slice(0, 4) }).close();
    const r = await gatehouse('log', 'search', '--db', old);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `gatehouse log: ${old} has schema version 4, older than this Gatehouse (${latestVersion()}): start the service once`,
    );
    // A backup of it still works (the installer takes one before an upgrade).
    expect((await gatehouse('backup', tmp.path('v4-backup.db'), '--db', old)).code).toBe(0);
  });
});

describe('gatehouse backup', () => {
  it('writes a backup that opens and holds every row; refuses to overwrite without --force', async () => {
    const file = tmp.path('backup.db');
    const r = await gatehouse('backup', file, '--db', path);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/backed up .* pages/);
    const db = openDatabase(file, { readonly: true });
    expect(search(db, { from: START, to: START + 600_000, limit: 10_000 }).rows).toHaveLength(rows.length);
    db.close();
    const again = await gatehouse('backup', file, '--db', path);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    expect((await gatehouse('backup', file, '--db', path, '--force')).code).toBe(0);
  });
});
