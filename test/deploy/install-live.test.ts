// deploy/install.sh on a live root (/), the path a school's machine takes:
// the gatehouse user, file ownership, the first admin (password on stdin),
// unbound set up with --with-unbound (checked by the real unbound-checkconf),
// the pre-upgrade backup, and uninstall --purge removing the user. It runs in
// a chroot onto an overlay of this machine's / inside a private mount
// namespace, so every write lands in a scratch directory and the real system
// is untouched. Needs root and mount rights; skipped where they are missing.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram, havePrograms } from '../helpers/programs.js';

const repo = resolve(import.meta.dirname, '../..');

/** Can this process make a private mount namespace with an overlay of /? */
function canOverlay(): boolean {
  if (process.getuid?.() !== 0 || !findProgram('unshare') || !findProgram('chroot')) return false;
  const probe = mkdtempSync(join(tmpdir(), 'gatehouse-ovprobe-'));
  try {
    for (const d of ['up', 'work', 'merged']) mkdirSync(join(probe, d));
    const r = spawnSync('unshare', [
      '-m',
      'sh',
      '-c',
      `mount -t overlay overlay -o lowerdir=/,upperdir=${probe}/up,workdir=${probe}/work ${probe}/merged`,
    ]);
    return r.status === 0;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** A node the live install may use: outside home directories (the installer refuses those on /). */
const systemNode = ['/usr/bin/node', '/usr/local/bin/node', realpathSync(process.execPath)].find(
  (p) => existsSync(p) && !/^\/(home|root)\//.test(p),
);

const available = canOverlay() && systemNode !== undefined;
if (!available)
  console.warn('skipping the live-root installer test: needs root, unshare, overlay mounts and a node outside /home and /root');

let work: string;
let up: string;

// A stand-in program: --help lists its commands; `user add` takes the
// password on stdin and writes it down as the user running it; `backup`
// writes its file; `check-config` accepts anything.
const fakeCli = `#!/usr/bin/env node
const fs = require('node:fs');
const [cmd, sub] = process.argv.slice(2);
if (cmd === '--help') {
  process.stdout.write('usage: gatehouse <command>\\n\\ncommands:\\n  check-config validate\\n  user         accounts\\n  backup       backup\\n');
} else if (cmd === 'check-config') {
  process.exit(0);
} else if (cmd === 'user' && sub === 'add') {
  const args = process.argv.slice(4);
  const name = args[args.indexOf('--name') + 1];
  const password = fs.readFileSync(0, 'utf8').split('\\n')[0];
  fs.appendFileSync('/var/lib/gatehouse/users.txt', name + ' ' + args[args.indexOf('--role') + 1] + ' ' + password.length + ' uid=' + process.getuid() + '\\n');
} else if (cmd === 'backup') {
  fs.writeFileSync(process.argv[process.argv.length - 1], 'backup');
} else process.exit(2);
`;

/** Run shell commands as root in a chroot onto an overlay of / whose writes go to `up`. */
function inOverlay(commands: string): { status: number | null; out: string } {
  const merged = join(work, 'merged');
  const script = [
    'set -e',
    `mount -t overlay overlay -o lowerdir=/,upperdir=${up},workdir=${join(work, 'ovwork')} ${merged}`,
    `mountpoint -q ${merged}`, // never chroot onto the real /
    `mount -t proc proc ${merged}/proc`,
    `mount --bind /dev ${merged}/dev`,
    `chroot ${merged} /usr/bin/env GATEHOUSE_NODE=${systemNode} PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c ${JSON.stringify(commands)}`,
  ].join('\n');
  const r = spawnSync('unshare', ['-m', '-p', '-f', '--kill-child', 'bash', '-c', script], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** The passwd entry for a user in the overlay's /etc/passwd (as it stands in the upper layer). */
function passwdEntry(name: string): string[] | undefined {
  const file = join(up, 'etc/passwd');
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name);
}

beforeAll(() => {
  if (!available) return;
  work = mkdtempSync(join(tmpdir(), 'gatehouse-live-'));
  up = join(work, 'up');
  for (const d of ['up', 'ovwork', 'merged']) mkdirSync(join(work, d));
  const src = join(work, 'src');
  for (const d of ['dist', 'deploy', 'systemd']) mkdirSync(join(src, d), { recursive: true });
  cpSync(join(repo, 'deploy/install.sh'), join(src, 'deploy/install.sh'));
  chmodSync(join(src, 'deploy/install.sh'), 0o755);
  cpSync(join(repo, 'systemd/gatehouse.service'), join(src, 'systemd/gatehouse.service'));
  cpSync(join(repo, 'deploy/unbound.conf'), join(src, 'deploy/unbound.conf'));
  writeFileSync(join(src, 'deploy/gatehouse.site.yaml'), 'store: { path: /var/lib/gatehouse/gatehouse.db }\n');
  writeFileSync(join(src, 'dist/cli.js'), fakeCli);
  writeFileSync(join(src, 'package.json'), JSON.stringify({ name: 'gatehouse', version: '1.0.0' }));
  writeFileSync(join(work, 'password'), 'Welcome2Gatehouse\nsecond line ignored\n');
  chmodSync(join(work, 'password'), 0o600);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!available)('deploy/install.sh on a live root (overlay chroot)', () => {
  const installer = () => join(work, 'src/deploy/install.sh');

  it('creates the user, owns the files right, and makes the first admin from the password file', () => {
    const r = inOverlay(`${installer()} install --skip-node-modules --admin jsmith --admin-password-file ${join(work, 'password')}`);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("created system user 'gatehouse'");
    expect(r.out).toContain("created admin 'jsmith'");

    const user = passwdEntry('gatehouse')!;
    expect(user).toBeDefined();
    const [uid, gid] = [Number(user[2]), Number(user[3])];
    expect(user[5]).toBe('/var/lib/gatehouse');
    expect(user[6]).toBe('/usr/sbin/nologin');
    expect(uid).toBeLessThan(1000); // a system user

    const config = statSync(join(up, 'etc/gatehouse/gatehouse.yaml'));
    expect([config.uid, config.gid, config.mode & 0o777]).toEqual([0, gid, 0o640]);
    const etc = statSync(join(up, 'etc/gatehouse'));
    expect([etc.uid, etc.gid, etc.mode & 0o777]).toEqual([0, gid, 0o750]);
    const data = statSync(join(up, 'var/lib/gatehouse'));
    expect([data.uid, data.gid, data.mode & 0o777]).toEqual([uid, gid, 0o750]);
    expect(statSync(join(up, 'opt/gatehouse/dist/cli.js')).uid).toBe(0);

    // `gatehouse user add` ran as the service user, with the first line of the file on stdin.
    const users = join(up, 'var/lib/gatehouse/users.txt');
    expect(readFileSync(users, 'utf8')).toBe(`jsmith admin 17 uid=${uid}\n`);
    expect(statSync(users).uid).toBe(uid);
  });

  // Needs the unbound package on this machine (the overlay's lower layer), so the
  // installer finds it and does not call apt-get; CI installs it (.ci/run).
  it('--with-unbound configures the installed unbound, seeds its trust anchor, and checks the result', () => {
    if (!havePrograms('unbound', 'unbound-checkconf')) return;
    const r = inOverlay(`${installer()} install --skip-node-modules --with-unbound`);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('unbound is installed');
    expect(r.out).toMatch(
      /unbound config \/etc\/unbound\/unbound\.conf\.d\/gatehouse\.conf: unbound-checkconf: no errors in \/etc\/unbound\/unbound\.conf/,
    );
    expect(r.out).toContain('no running systemd here: unbound is configured but not started');
    const conf = join(up, 'etc/unbound/unbound.conf.d/gatehouse.conf');
    // Debian's package names the trust anchor already: no second one here.
    expect(readFileSync(conf, 'utf8')).toBe(readFileSync(join(repo, 'deploy/unbound.conf'), 'utf8'));
    expect(statSync(conf).mode & 0o777).toBe(0o644);
    // The anchor file unbound keeps up to date, owned by unbound (seeded if it was missing).
    const anchor = inOverlay('stat -c "%U %s" /var/lib/unbound/root.key && grep -c DNSKEY /var/lib/unbound/root.key');
    expect(anchor.status, anchor.out).toBe(0);
    expect(anchor.out).toMatch(/^unbound [1-9]\d* *\n[1-9]/);
    // The whole config, Debian's files and ours, as unbound reads it.
    const option = (name: string) => inOverlay(`unbound-checkconf -o ${name}`).out.trim().split('\n').sort();
    expect(option('interface')).toEqual(['127.0.0.1@5335']);
    expect(option('access-control')).toEqual(['0.0.0.0/0 refuse', '127.0.0.0/8 allow', '::0/0 refuse', '::1/128 allow']);
    expect(option('auto-trust-anchor-file')).toEqual(['/var/lib/unbound/root.key']);
    // No second run changes it.
    const again = inOverlay(`${installer()} install --skip-node-modules --with-unbound && ls /etc/unbound/unbound.conf.d`);
    expect(again.status, again.out).toBe(0);
    expect(again.out).not.toContain('gatehouse.conf.old');
    expect(again.out).not.toContain('gatehouse.conf.new');
  });

  it('upgrade backs up the database first, as the service user', () => {
    const r = inOverlay(`${installer()} upgrade --skip-node-modules`);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/backup before upgrade: \/var\/lib\/gatehouse\/backups\/pre-upgrade-\d{8}T\d{6}Z\.db/);
    const uid = Number(passwdEntry('gatehouse')![2]);
    expect(statSync(join(up, 'var/lib/gatehouse/backups')).uid).toBe(uid);
  });

  it('uninstall --purge removes the program, config, data and the user', () => {
    const r = inOverlay(
      `${installer()} uninstall --purge && ! id gatehouse && ! test -e /opt/gatehouse && ! test -e /etc/gatehouse && ! test -e /var/lib/gatehouse && ! test -e /usr/local/bin/gatehouse && ! test -e /etc/unbound/unbound.conf.d/gatehouse.conf`,
    );
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("removed system user 'gatehouse'");
    expect(passwdEntry('gatehouse')).toBeUndefined();
  });
});
