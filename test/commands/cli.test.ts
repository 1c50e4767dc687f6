// The command line a technician meets first: --help at every level lists the
// usage and the options, a wrong option gets a plain message (never a raw Node
// error), a missing --config is refused rather than guessed, and every command
// that opens the database says which file it used.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG, findConfig, type Command } from '../../src/commands/command.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'gatehouse.yaml');
writeFileSync(
  config,
  `links:\n  - { name: primary, upstreams: ["udp://127.0.0.1:53"] }\ngroups:\n  - { name: pupils, default: true }\nstore: { path: ./data/g.db }\n`,
);
const database = join(dir, 'data/g.db');

/** From an empty working directory, without $GATEHOUSE_CONFIG unless given. */
async function gatehouse(args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  const cwd = mkdtempSync(join(dir, 'cwd-'));
  const env = { ...process.env, ...opts.env };
  if (!opts.env?.GATEHOUSE_CONFIG) delete env.GATEHOUSE_CONFIG;
  return { ...(await runCli(args, { cwd, env, input: opts.input })), cwd };
}

const modules: Record<string, () => Promise<{ command: Command }>> = {
  serve: () => import('../../src/commands/serve.js'),
  'check-config': () => import('../../src/commands/check-config.js'),
  check: () => import('../../src/commands/check.js'),
  user: () => import('../../src/commands/user.js'),
  log: () => import('../../src/commands/log.js'),
  backup: () => import('../../src/commands/backup.js'),
};

describe('--help', () => {
  let out: string;
  beforeEach(() => {
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  // Every command and subcommand, with options its help must list.
  it.each([
    ['serve', [], ['--config FILE', '--help']],
    ['check-config', [], ['--config FILE']],
    ['check', [], ['--server IP:PORT', '--group NAME', '--timeout MS', '--json', '--no-record']],
    ['backup', [], ['--db DATABASE', '--force']],
    ['user', ['add'], ['--name NAME', '--role ROLE', '--password-file FILE', '--config FILE']],
    ['user', ['unlock'], ['--name NAME', '--config FILE']],
    ['user', ['reset-mfa'], ['--name NAME', '--config FILE']],
    ['user', ['list'], ['--config FILE']],
    ['log', ['search'], ['--from TIME', '--client ADDR', '--action ACTION', '--before CURSOR', '--csv', '--all', '--db DATABASE']],
    ['log', ['top'], ['--from TIME', '--limit N', '--blocked', '--db DATABASE']],
  ] as const)('gatehouse %s %s --help lists the usage and the options', async (name, sub, options) => {
    const { command } = await modules[name]();
    for (const argv of [
      [...sub, '--help'],
      [...sub, '-h'],
      ['--help', ...sub],
    ]) {
      out = '';
      expect(await command.run(argv)).toBe(0);
      expect(out).toMatch(new RegExp(`^usage: gatehouse ${[name, ...sub].join(' ')}`));
      expect(out).toContain('\noptions:\n');
      for (const o of [...options, '-h, --help']) expect([argv.join(' '), o, out.includes(o)]).toEqual([argv.join(' '), o, true]);
    }
  });

  it.each(['user', 'log'] as const)('gatehouse %s --help lists the subcommands', async (name) => {
    const { command } = await modules[name]();
    expect(await command.run(['--help'])).toBe(0);
    expect(out).toContain('subcommands:');
    expect(out).toMatch(name === 'user' ? /add[\s\S]*unlock[\s\S]*reset-mfa[\s\S]*list/ : /search[\s\S]*top/);
  });
});

// Each case is a test of its own: a tsx process takes seconds to start on a loaded machine.
describe('the process', () => {
  it.each([['--help'], ['help'], ['user', '--help'], ['user', 'add', '--help'], ['log', 'top', '--help']])(
    'gatehouse %s %s %s: usage, exit 0, no Node error',
    async (...args) => {
      const r = await gatehouse(args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^usage:/);
      expect(r.err).toBe('');
      // deploy/install.sh finds commands in the top-level help as "  NAME  summary".
      if (args[0].includes('help')) expect(r.out).toMatch(/^ {2}user +add, unlock/m);
    },
  );

  it('gatehouse help user add is gatehouse user add --help', async () => {
    expect((await gatehouse(['help', 'user', 'add'])).out).toBe((await gatehouse(['user', 'add', '--help'])).out);
  });

  it.each([
    [['user', 'add', '--bogus'], 'gatehouse user add: unknown option --bogus (see gatehouse user add --help)'],
    [['user', 'add', '--name'], 'gatehouse user add: --name needs a value'],
    [['user', 'frobnicate'], 'gatehouse user: unknown subcommand "frobnicate" (one of: add, unlock, reset-mfa, list'],
    [['user'], 'gatehouse user: say what to do'],
    [['log', 'top', 'servers', '--config', config], 'gatehouse log top: say domains or clients'],
    [['backup', '--config', config], 'gatehouse backup: name one backup file'],
    [['serve', '--verbose'], 'gatehouse serve: unknown option --verbose'],
    [['nosuch'], 'gatehouse: unknown command "nosuch"'],
  ])('%j: says plainly what is wrong, with exit code 2', async (args, message) => {
    const r = await gatehouse(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/ERR_PARSE_ARGS|To specify a positional|at .*\.ts:\d+/);
  });

  it('refuses to guess the config file, and writes no database anywhere', async () => {
    expect(existsSync(DEFAULT_CONFIG)).toBe(false); // this machine has no installed Gatehouse
    const r = await gatehouse(['user', 'add', '--name', 'head-it', '--role', 'admin'], { input: 'Opening-Day7\n' });
    expect(r.code).toBe(2);
    expect(r.err).toContain(`no config file given, and ${DEFAULT_CONFIG} (the installed default) does not exist`);
    expect(r.err).toContain('--config FILE');
    expect(readdirSync(r.cwd)).toEqual([]);
    expect(existsSync(database)).toBe(false);
  });

  describe('says which database it used, and where that came from', () => {
    const fromConfig = `using database ${database} (store.path in ${config}, from --config)`;
    beforeAll(async () => {
      const r = await gatehouse(['user', 'add', '--config', config, '--name', 'head-it', '--role', 'admin'], { input: 'Opening-Day7\n' });
      expect(r.code).toBe(0);
      expect(r.err).toBe(fromConfig + '\n');
      expect(r.out).toContain('created admin "head-it"; the password must be changed at first login, and MFA set up');
    });

    it('from $GATEHOUSE_CONFIG', async () => {
      const r = await gatehouse(['user', 'list'], { env: { GATEHOUSE_CONFIG: config } });
      expect(r.err).toBe(`using database ${database} (store.path in ${config}, $GATEHOUSE_CONFIG)\n`);
      expect(r.out).toBe('head-it\tadmin\tactive\tmfa=off\n');
    });

    it.each([
      ['log', 'search', '--config', config],
      ['log', 'top', 'domains', '--config', config],
      ['backup', '--config', config, join(dir, 'copy.db')],
      ['user', 'unlock', '--config', config, 'head-it'],
    ])('%s %s …', async (...args) => {
      const r = await gatehouse(args);
      expect(r.code).toBe(0);
      expect(r.err.split('\n')[0]).toBe(fromConfig);
    });

    it('from --db', async () => {
      expect((await gatehouse(['log', 'search', '--db', database])).err.split('\n')[0]).toBe(`using database ${database} (from --db)`);
    });

    it('and a command that opens no database says nothing of one', async () => {
      expect(await gatehouse(['check-config', '--config', config])).toMatchObject({ code: 0, out: `${config}: ok\n`, err: '' });
    });
  });
});

describe('findConfig', () => {
  it('takes --config, then $GATEHOUSE_CONFIG, then the installed default if it exists, else refuses', () => {
    const none = () => false;
    expect(findConfig('a.yaml', { GATEHOUSE_CONFIG: 'b.yaml' }, () => true)).toEqual({ path: 'a.yaml', how: '--config' });
    expect(findConfig(undefined, { GATEHOUSE_CONFIG: 'b.yaml' }, () => true)).toEqual({ path: 'b.yaml', how: '$GATEHOUSE_CONFIG' });
    expect(findConfig(undefined, {}, (p) => p === DEFAULT_CONFIG)).toEqual({ path: DEFAULT_CONFIG, how: 'the default config' });
    expect(() => findConfig(undefined, {}, none)).toThrow(expect.objectContaining({ code: 'GH_ERR_NO_CONFIG' }));
    expect(DEFAULT_CONFIG).toBe('/etc/gatehouse/gatehouse.yaml');
  });
});
