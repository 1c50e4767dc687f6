// deploy/install.sh against a scratch root directory: install, upgrade,
// repeated install, uninstall and purge, from a small fake source tree (the
// real installer and unit, a stand-in dist/ and node_modules), so the test
// is fast and needs no network.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram, havePrograms } from '../helpers/programs.js';

const repo = resolve(import.meta.dirname, '../..');
const installer = join(repo, 'deploy/install.sh');
const unboundTemplate = readFileSync(join(repo, 'deploy/unbound.conf'), 'utf8');

let work: string;
let source: string;
let root: string;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('bash', [join(source, 'deploy/install.sh'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH}`, ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function ok(args: string[], env: Record<string, string> = {}) {
  const r = run(args, env);
  if (r.code !== 0) throw new Error(`install.sh ${args.join(' ')} exited ${r.code}\n${r.out}\n${r.err}`);
  return r;
}

/** Every path under dir, relative, sorted (symlinks not followed). */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      out.push(relative(dir, p));
      if (lstatSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

const at = (p: string) => join(root, p);

/** A built Gatehouse tree in miniature. */
function makeSource(dir: string, version: string): void {
  mkdirSync(join(dir, 'dist'), { recursive: true });
  mkdirSync(join(dir, 'deploy'), { recursive: true });
  mkdirSync(join(dir, 'systemd'), { recursive: true });
  mkdirSync(join(dir, 'build/Release/obj.target'), { recursive: true });
  writeFileSync(join(dir, 'build/Release/udp_batch.node'), 'fake addon');
  writeFileSync(join(dir, 'build/Release/obj.target/udp-batch.o'), 'intermediate');
  cpSync(installer, join(dir, 'deploy/install.sh'));
  chmodSync(join(dir, 'deploy/install.sh'), 0o755);
  cpSync(join(repo, 'systemd/gatehouse.service'), join(dir, 'systemd/gatehouse.service'));
  cpSync(join(repo, 'deploy/unbound.conf'), join(dir, 'deploy/unbound.conf'));
  writeFileSync(
    join(dir, 'deploy/gatehouse.site.yaml'),
    [
      '# site example',
      'links:',
      '  - { name: primary, upstreams: ["udp://127.0.0.1:5335"] }',
      '  # - { name: old, upstreams: ["udp://192.0.2.53:53"] }',
      'lists:',
      '  - { id: iwf, category: iwf, source: "file:/etc/gatehouse/lists/iwf.txt", format: domains }',
      '  # - { id: old, category: iwf, source: "file:/etc/gatehouse/lists/commented-out.txt", format: domains }',
      '  - { id: porn, category: adult, source: "https://lists.example.org/porn.txt", format: hosts }',
      'store: { path: /var/lib/gatehouse/gatehouse.db }',
      '',
    ].join('\n'),
  );
  writeCli(dir, version);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: 'gatehouse',
        version,
        type: 'module',
        scripts: { prepare: 'tsc -p tsconfig.json' },
        dependencies: { 'fake-dep': '1.0.0' },
        devDependencies: { 'fake-dev': '1.0.0' },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify(
      {
        name: 'gatehouse',
        version,
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'gatehouse', version, dependencies: { 'fake-dep': '1.0.0' }, devDependencies: { 'fake-dev': '1.0.0' } },
          'node_modules/fake-dep': { version: '1.0.0' },
          'node_modules/fake-dev': { version: '1.0.0', dev: true },
        },
      },
      null,
      2,
    ),
  );
  for (const pkg of ['fake-dep', 'fake-dev']) {
    mkdirSync(join(dir, 'node_modules', pkg), { recursive: true });
    writeFileSync(join(dir, 'node_modules', pkg, 'package.json'), JSON.stringify({ name: pkg, version: '1.0.0' }));
    writeFileSync(join(dir, 'node_modules', pkg, 'index.js'), 'module.exports = 1;\n');
  }
}

function writeCli(dir: string, version: string): void {
  writeFileSync(
    join(dir, 'dist/cli.js'),
    `#!/usr/bin/env node
// fake gatehouse ${version}
import { readFileSync } from 'node:fs';
const cmd = process.argv[2];
if (cmd === '--help') { process.stdout.write('usage: gatehouse <command>\\n\\ncommands:\\n  check-config validate a config file\\n'); process.exit(0); }
if (cmd === 'check-config') {
  const text = readFileSync(process.argv[process.argv.indexOf('--config') + 1], 'utf8');
  if (${version === '1.2.0' ? "text.includes('oldKey')" : 'false'}) { process.stderr.write('invalid config: oldKey (line 1): unknown key\\n'); process.exit(1); }
  process.exit(0);
}
process.exit(2);
`,
  );
}

const version = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'gatehouse-install-'));
  source = join(work, 'src');
  root = join(work, 'root');
  makeSource(source, '1.0.0');
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('deploy/install.sh', () => {
  it('installs the program, config, data directory, unit and command link', () => {
    const r = ok(['install', '--root', root, '--admin', 'jsmith']);
    expect(r.out).toContain('created');
    expect(r.out).toContain("not creating admin 'jsmith' under --root");
    expect(r.out).toMatch(/not creating the 'gatehouse' system user under --root/);

    expect(readFileSync(at('opt/gatehouse/dist/cli.js'), 'utf8')).toContain('fake gatehouse 1.0.0');
    expect(lstatSync(at('opt/gatehouse/dist/cli.js')).mode & 0o111).not.toBe(0);
    const pkg = JSON.parse(readFileSync(at('opt/gatehouse/package.json'), 'utf8'));
    expect(pkg.version).toBe('1.0.0');
    expect(pkg.scripts).toBeUndefined(); // no build step can run on the appliance
    expect(existsSync(at('opt/gatehouse/package-lock.json'))).toBe(true);
    expect(existsSync(at('opt/gatehouse/deploy/install.sh'))).toBe(true);
    // The native UDP addon, without node-gyp's intermediate files.
    expect(readFileSync(at('opt/gatehouse/build/Release/udp_batch.node'), 'utf8')).toBe('fake addon');
    expect(existsSync(at('opt/gatehouse/build/Release/obj.target'))).toBe(false);

    // node_modules copied from the source tree, development packages pruned.
    expect(existsSync(at('opt/gatehouse/node_modules/fake-dep/index.js'))).toBe(true);
    expect(existsSync(at('opt/gatehouse/node_modules/fake-dev'))).toBe(false);
    expect(existsSync(join(source, 'node_modules/fake-dev'))).toBe(true); // the source is untouched

    expect(readFileSync(at('etc/gatehouse/gatehouse.yaml'), 'utf8')).toBe(readFileSync(join(source, 'deploy/gatehouse.site.yaml'), 'utf8'));
    expect(lstatSync(at('etc/gatehouse/gatehouse.yaml')).mode & 0o777).toBe(0o640);
    expect(lstatSync(at('etc/gatehouse')).mode & 0o777).toBe(0o750);
    // The local list files the config names: the directory is made, a missing file is named.
    expect(lstatSync(at('etc/gatehouse/lists')).mode & 0o777).toBe(0o750);
    expect(r.err).toContain('list files named in');
    expect(r.err).toContain('    /etc/gatehouse/lists/iwf.txt\n');
    expect(r.err).not.toContain('commented-out.txt');
    // The site config asks the local unbound, which this install did not set up.
    expect(r.err).toMatch(/asks unbound on 127\.0\.0\.1:5335 .*re-run with --with-unbound/);
    expect(existsSync(at('etc/unbound'))).toBe(false);
    expect(lstatSync(at('var/lib/gatehouse')).isDirectory()).toBe(true);
    expect(lstatSync(at('var/lib/gatehouse')).mode & 0o777).toBe(0o750);

    const unit = readFileSync(at('etc/systemd/system/gatehouse.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/\S*node \/opt\/gatehouse\/dist\/cli\.js serve --config \/etc\/gatehouse\/gatehouse\.yaml$/m);
    expect(unit).toContain(`ExecStart=${execFileSync('readlink', ['-f', process.execPath], { encoding: 'utf8' }).trim()} `);
    expect(readlinkSync(at('etc/systemd/system/multi-user.target.wants/gatehouse.service'))).toBe('/etc/systemd/system/gatehouse.service');
    expect(readlinkSync(at('usr/local/bin/gatehouse'))).toBe('/opt/gatehouse/dist/cli.js');
    // The unit as installed (with this machine's node path) is valid.
    if (findProgram('systemd-analyze')) {
      const v = spawnSync('systemd-analyze', ['verify', '--man=no', at('etc/systemd/system/gatehouse.service')], { encoding: 'utf8' });
      expect(v.stderr.split('\n').filter((l) => l.includes('gatehouse.service'))).toEqual([]);
      expect(v.status).toBe(0);
    }
  });

  it('upgrades the program and keeps config and data', () => {
    const configFile = at('etc/gatehouse/gatehouse.yaml');
    writeFileSync(at('etc/gatehouse/lists/iwf.txt'), 'iwf-test.gatehouse.test\n');
    expect(ok(['install', '--root', root]).err).not.toContain('list files named in');
    writeFileSync(configFile, '# edited by the technician\n');
    writeFileSync(at('var/lib/gatehouse/gatehouse.db'), 'precious data');

    // A new release in the source tree.
    writeCli(source, '1.1.0');
    const pkg = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));
    writeFileSync(join(source, 'package.json'), JSON.stringify({ ...pkg, version: '1.1.0' }, null, 2));
    writeFileSync(join(source, 'deploy/gatehouse.site.yaml'), '# a newer site example\n');

    const r = ok(['upgrade', '--root', root]);
    expect(r.out).toContain('upgraded from 1.0.0 to 1.1.0');
    expect(r.out).toContain('keeping existing config');
    expect(readFileSync(at('opt/gatehouse/dist/cli.js'), 'utf8')).toContain('fake gatehouse 1.1.0');
    expect(version(at('opt/gatehouse'))).toBe('1.1.0');
    expect(version(at('opt/gatehouse.previous'))).toBe('1.0.0');
    expect(existsSync(at('opt/gatehouse.new'))).toBe(false);
    expect(readFileSync(configFile, 'utf8')).toBe('# edited by the technician\n');
    expect(readFileSync(at('var/lib/gatehouse/gatehouse.db'), 'utf8')).toBe('precious data');
  });

  it('refuses an upgrade whose new version rejects the config, changing nothing', () => {
    const configFile = at('etc/gatehouse/gatehouse.yaml');
    writeFileSync(configFile, '# edited by the technician\noldKey: 1\n');
    writeCli(source, '1.2.0');
    const r = run(['upgrade', '--root', root]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('invalid config: oldKey (line 1): unknown key');
    expect(r.err).toContain('the new version rejects');
    expect(r.err).toContain('nothing was changed');
    expect(readFileSync(at('opt/gatehouse/dist/cli.js'), 'utf8')).toContain('fake gatehouse 1.1.0');
    expect(version(at('opt/gatehouse.previous'))).toBe('1.0.0');
    expect(existsSync(at('opt/gatehouse.new'))).toBe(false);
    expect(readFileSync(configFile, 'utf8')).toContain('oldKey');
    // Fixed config: the upgrade goes through.
    writeFileSync(configFile, '# edited by the technician\n');
    ok(['upgrade', '--root', root]);
    expect(readFileSync(at('opt/gatehouse/dist/cli.js'), 'utf8')).toContain('fake gatehouse 1.2.0');
    writeCli(source, '1.1.0');
    ok(['upgrade', '--root', root]);
  });

  it('is idempotent: installing again changes nothing but the program copy', () => {
    const before = tree(root);
    ok(['install', '--root', root]);
    const second = tree(root);
    ok(['install', '--root', root]);
    expect(tree(root)).toEqual(second);
    expect(second).toEqual(before);
    expect(readFileSync(at('etc/gatehouse/gatehouse.yaml'), 'utf8')).toBe('# edited by the technician\n');
    expect(readFileSync(at('var/lib/gatehouse/gatehouse.db'), 'utf8')).toBe('precious data');
  });

  it('uninstall removes the program and the unit and keeps config and data', () => {
    const r = ok(['uninstall', '--root', root]);
    expect(r.out).toContain('kept config');
    for (const p of [
      'opt/gatehouse',
      'opt/gatehouse.previous',
      'etc/systemd/system/gatehouse.service',
      'etc/systemd/system/multi-user.target.wants/gatehouse.service',
      'usr/local/bin/gatehouse',
    ]) {
      expect(existsSync(at(p)), p).toBe(false);
    }
    expect(readFileSync(at('etc/gatehouse/gatehouse.yaml'), 'utf8')).toBe('# edited by the technician\n');
    expect(readFileSync(at('var/lib/gatehouse/gatehouse.db'), 'utf8')).toBe('precious data');
    ok(['uninstall', '--root', root]); // again: nothing to do, no error
  });

  it('a reinstall after uninstall picks up the kept config and data', () => {
    ok(['install', '--root', root, '--skip-node-modules']);
    expect(existsSync(at('opt/gatehouse/node_modules'))).toBe(false);
    expect(readFileSync(at('etc/gatehouse/gatehouse.yaml'), 'utf8')).toBe('# edited by the technician\n');
    expect(readFileSync(at('var/lib/gatehouse/gatehouse.db'), 'utf8')).toBe('precious data');
  });

  it('uninstall --purge removes config and data too', () => {
    const r = ok(['uninstall', '--root', root, '--purge']);
    expect(r.out).toContain('purged');
    for (const p of ['opt/gatehouse', 'etc/gatehouse', 'var/lib/gatehouse', 'etc/systemd/system/gatehouse.service']) {
      expect(existsSync(at(p)), p).toBe(false);
    }
  });

  it('refuses clearly: upgrade before install, unknown action or option, old Node.js, unbuilt tree', () => {
    const scratch = join(work, 'other-root');
    let r = run(['upgrade', '--root', scratch]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('not installed');

    r = run(['reinstall']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown action "reinstall"');

    r = run(['install', '--root', scratch, '--frobnicate']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown option "--frobnicate"');

    r = run(['install', '--root', scratch, '--purge']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--purge only goes with uninstall');

    r = run(['uninstall', '--root', scratch, '--with-unbound']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--with-unbound goes with install or upgrade');

    const oldNode = join(work, 'node18');
    writeFileSync(oldNode, '#!/bin/sh\necho 18.19.0\n');
    chmodSync(oldNode, 0o755);
    r = run(['install', '--root', scratch], { GATEHOUSE_NODE: oldNode });
    expect(r.code).toBe(1);
    expect(r.err).toContain('Node.js 18.19.0 is too old');

    const unbuilt = join(work, 'unbuilt');
    makeSource(unbuilt, '1.0.0');
    rmSync(join(unbuilt, 'dist'), { recursive: true });
    r = run(['install', '--root', scratch, '--source', unbuilt]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('build first');
    expect(existsSync(join(scratch, 'opt/gatehouse'))).toBe(false);
  });

  it.skipIf(!findProgram('shellcheck') && process.env.CI !== 'true')('is shellcheck-clean', () => {
    if (!havePrograms('shellcheck')) return;
    execFileSync(findProgram('shellcheck')!, [installer], { encoding: 'utf8' });
  });
});

describe('deploy/install.sh --with-unbound (scratch root)', () => {
  let uroot: string;
  const u = (p: string) => join(uroot, p);
  const conf = 'etc/unbound/unbound.conf.d/gatehouse.conf';
  const anchorLine =
    '\n    # Added by deploy/install.sh: no other unbound config names a trust anchor.\n    auto-trust-anchor-file: "/var/lib/unbound/root.key"\n';
  beforeAll(() => {
    uroot = join(work, 'unbound-root');
  });

  it('writes deploy/unbound.conf as gatehouse.conf, with a trust anchor where no other file names one', () => {
    const r = ok(['install', '--root', uroot, '--with-unbound', '--skip-node-modules']);
    expect(r.out).toContain('not installing the unbound package under --root');
    expect(r.out).toContain(`unbound config written to ${u(conf)}`);
    expect(r.err).not.toContain('asks unbound on 127.0.0.1:5335');
    expect(readFileSync(u(conf), 'utf8')).toBe(unboundTemplate + anchorLine);
    expect(lstatSync(u(conf)).mode & 0o777).toBe(0o644);
    expect(readdirSync(u('etc/unbound/unbound.conf.d'))).toEqual(['gatehouse.conf']);
  });

  it.skipIf(!findProgram('unbound-checkconf') && process.env.CI !== 'true')('is accepted by unbound-checkconf', () => {
    if (!havePrograms('unbound-checkconf')) return;
    // The anchor file lives in the target system; here a copy of the root's DS stands in for it.
    const anchor = join(work, 'root.key');
    writeFileSync(anchor, '. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n');
    const checked = join(work, 'gatehouse-check.conf');
    writeFileSync(
      checked,
      readFileSync(u(conf), 'utf8').replace('auto-trust-anchor-file: "/var/lib/unbound/root.key"', `auto-trust-anchor-file: "${anchor}"`),
    );
    const out = execFileSync(findProgram('unbound-checkconf')!, [checked], { encoding: 'utf8' });
    expect(out).toContain('no errors');
    // What the file is for, as unbound reads it.
    const option = (name: string) => execFileSync(findProgram('unbound-checkconf')!, ['-o', name, checked], { encoding: 'utf8' }).trim();
    expect(option('interface')).toBe('127.0.0.1@5335');
    expect(option('do-not-query-localhost')).toBe('yes');
    expect(option('qname-minimisation')).toBe('yes');
    expect(option('harden-dnssec-stripped')).toBe('yes');
    expect(option('hide-version')).toBe('yes');
    expect(option('ede')).toBe('yes');
    expect(option('serve-expired')).toBe('no');
    expect(option('val-log-level')).toBe('0');
    expect(option('module-config')).toBe('validator iterator');
    expect(option('auto-trust-anchor-file')).toBe(anchor);
    expect(Number(option('msg-cache-size'))).toBe(64 * 1024 * 1024);
    expect(Number(option('rrset-cache-size'))).toBe(128 * 1024 * 1024);
  });

  it('is idempotent, and keeps a previous copy that differs as gatehouse.conf.old', () => {
    const before = tree(uroot);
    ok(['install', '--root', uroot, '--with-unbound', '--skip-node-modules']);
    expect(tree(uroot)).toEqual(before);
    writeFileSync(u(conf), '# changed by hand\n');
    const r = ok(['upgrade', '--root', uroot, '--skip-node-modules']); // upgrade refreshes it without being asked
    expect(r.out).toContain(`kept the previous ${u(conf)} as ${u(conf)}.old`);
    expect(readFileSync(u(`${conf}.old`), 'utf8')).toBe('# changed by hand\n');
    expect(readFileSync(u(conf), 'utf8')).toBe(unboundTemplate + anchorLine);
    expect(readdirSync(u('etc/unbound/unbound.conf.d')).sort()).toEqual(['gatehouse.conf', 'gatehouse.conf.old']);
  });

  it("adds no second trust anchor to Debian's, which unbound would load twice", () => {
    writeFileSync(
      u('etc/unbound/unbound.conf.d/root-auto-trust-anchor-file.conf'),
      'server:\n    auto-trust-anchor-file: "/var/lib/unbound/root.key"\n',
    );
    ok(['install', '--root', uroot, '--with-unbound', '--skip-node-modules']);
    expect(readFileSync(u(conf), 'utf8')).toBe(unboundTemplate);
  });

  it('uninstall keeps it; uninstall --purge removes it and leaves the rest of unbound alone', () => {
    expect(ok(['uninstall', '--root', uroot]).out).toContain('kept unbound and its Gatehouse config');
    expect(existsSync(u(conf))).toBe(true);
    const r = ok(['uninstall', '--root', uroot, '--purge']);
    expect(r.out).toContain(`removed ${u(conf)}; the unbound package stays`);
    expect(readdirSync(u('etc/unbound/unbound.conf.d'))).toEqual(['root-auto-trust-anchor-file.conf']);
  });
});
