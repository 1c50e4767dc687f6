// systemd/gatehouse.service: offline checks with systemd-analyze (no running
// systemd needed). `verify` catches unknown directives and bad values;
// `security --offline=yes` computes the exposure score docs/operations.md quotes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePrograms } from '../helpers/programs.js';

const repo = resolve(import.meta.dirname, '../..');
const unitText = readFileSync(join(repo, 'systemd/gatehouse.service'), 'utf8');
const have = havePrograms('systemd-analyze');

/** The directives of the [Service] section, as name → values. */
function directives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

describe('systemd/gatehouse.service', () => {
  const d = directives(unitText);
  const one = (name: string) => d.get(name)?.at(-1);

  it('lets the background threads lower their priority: setpriority is allowed back after @resources is denied', () => {
    // systemd merges the lines in order: an allow list, names removed, then names added back.
    const filters = d.get('SystemCallFilter') ?? [];
    const denied = filters.findIndex((f) => f.startsWith('~') && f.includes('@resources'));
    expect(denied).toBeGreaterThan(-1);
    expect(filters.slice(denied + 1).some((f) => !f.startsWith('~') && f.split(/\s+/).includes('setpriority'))).toBe(true);
    expect(d.get('CapabilityBoundingSet')).toEqual(['CAP_NET_BIND_SERVICE']); // so they can never raise it
  });

  it('runs the service command as the gatehouse user with only CAP_NET_BIND_SERVICE', () => {
    expect(one('ExecStart')).toBe('/usr/bin/node /opt/gatehouse/dist/cli.js serve --config /etc/gatehouse/gatehouse.yaml');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('User')).toBe('gatehouse');
    expect(one('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    expect(one('StateDirectory')).toBe('gatehouse');
    expect(one('ConfigurationDirectory')).toBe('gatehouse');
    expect(one('Restart')).toBe('on-failure');
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThanOrEqual(10);
    expect(one('MemoryMax')).toBeDefined();
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('UMask')).toBe('0027');
    // V8's JIT needs writable-then-executable memory.
    expect(d.has('MemoryDenyWriteExecute')).toBe(false);
  });

  describe.skipIf(!have)('with systemd-analyze', () => {
    let dir: string;
    let unit: string;
    beforeAll(() => {
      // `verify` checks that ExecStart's program exists: point it at this node,
      // as the installer does.
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-unit-'));
      unit = join(dir, 'gatehouse.service');
      writeFileSync(unit, unitText.replace('ExecStart=/usr/bin/node ', `ExecStart=${realpathSync(process.execPath)} `));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('passes systemd-analyze verify without warnings', () => {
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
      const ours = (r.stderr ?? '').split('\n').filter((l) => l.includes('gatehouse.service'));
      expect(ours).toEqual([]);
      expect(r.status).toBe(0);
    });

    it('has a systemd-analyze security exposure of 2.0 or less', () => {
      const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit], { encoding: 'utf8' });
      if (r.status !== 0 && /offline|unrecognized option/i.test(r.stderr ?? '')) {
        // systemd older than 250 cannot score a unit file offline.
        if (process.env.CI === 'true') throw new Error(`systemd-analyze security --offline unsupported: ${r.stderr}`);
        console.warn('skipping: this systemd-analyze cannot run security --offline');
        return;
      }
      const m = /Overall exposure level for gatehouse\.service: (\d+\.\d+)/.exec(r.stdout);
      expect(m, r.stdout + r.stderr).not.toBeNull();
      const score = Number(m![1]);
      expect(score).toBeLessThanOrEqual(2.0);
      // The score docs/operations.md quotes is the one measured.
      const docs = readFileSync(join(repo, 'docs/operations.md'), 'utf8');
      expect(docs).toContain(`exposure level ${m![1]}`);
      execFileSync('systemd-analyze', ['security', '--offline=yes', '--threshold=20', '--no-pager', unit]);
    });
  });
});
