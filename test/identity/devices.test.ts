// Devices the school names: the store functions, the CSV import (an MDM
// export's headers, bad and hostile rows), change-log rows without the
// owner's name, `gatehouse device import|list` and `identity show` as real
// commands, and the service picking up a change made by another process.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { importDevices, listDevices, saveDevice, unnameDevice } from '../../src/identity/devices.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { listChanges, verifyChain } from '../../src/admin/changelog.js';
import { parseConfig } from '../../src/config.js';
import { IdentityService } from '../../src/identity/service.js';
import { silentLogger } from '../../src/log.js';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '../../src/cli.ts');

describe('named devices', () => {
  let dir: string;
  let db: Database;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-devices-'));
    db = openDatabase(join(dir, 'gh.db'));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports a Google Chromebook export and an Intune-style export, refusing bad rows', () => {
    const chromebooks = [
      'serialNumber,macAddress,annotatedAssetId,annotatedUser,status',
      '5CD1,AA:BB:CC:00:00:01,ASSET-001,jsmith@school.example,ACTIVE',
      '5CD2,not-a-mac,ASSET-002,,ACTIVE',
      '5CD3,aabb.cc00.0003,"=cmd|\'/c calc\'!A1",,ACTIVE',
      '5CD4,AA-BB-CC-00-00-01,ASSET-dup,,ACTIVE',
      `5CD5,aa:bb:cc:00:00:05,"bad\u0007tag",,ACTIVE`,
    ].join('\n');
    const r = importDevices(db, chromebooks, 'test', 1000);
    expect(r).toMatchObject({ added: 2, changed: 0, unchanged: 0 });
    expect(r.refused.map((x) => [x.line, x.reason])).toEqual([
      [3, 'not a MAC address'],
      [5, 'device repeated'],
      [6, 'asset tag: control characters'],
    ]);
    const intune = 'Device name,Wi-Fi MAC,Primary user UPN\nLIB-PC-3,AABBCC000001,\nRECEPTION,aa:bb:cc:00:00:09,office@school.example\n';
    expect(importDevices(db, intune, 'test', 2000)).toMatchObject({ added: 1, changed: 1, unchanged: 0, refused: [] });
    expect(importDevices(db, intune, 'test', 3000)).toMatchObject({ added: 0, changed: 0, unchanged: 2 });
    const named = listDevices(db, { named: true });
    expect(named.map((d) => [d.key, d.name, d.assetTag])).toEqual([
      ['mac:aa:bb:cc:00:00:01', 'LIB-PC-3', undefined],
      ['mac:aa:bb:cc:00:00:03', undefined, "=cmd|'/c calc'!A1"],
      ['mac:aa:bb:cc:00:00:09', 'RECEPTION', undefined],
    ]);
  });

  it('writes one change-log row per change, never the owner', () => {
    const d = saveDevice(db, { mac: 'aa:bb:cc:00:00:01', name: 'Laptop 1', owner: 'Jo Smith' }, 'alice', 1000);
    saveDevice(db, { address: '10.0.0.9', name: 'Printer' }, 'alice', 2000);
    unnameDevice(db, d.id, 'bob', 3000);
    const rows = listChanges(db).filter((c) => c.entity === 'device');
    expect(rows.map((c) => [c.actor, c.action])).toEqual([
      ['bob', 'delete'],
      ['alice', 'create'],
      ['alice', 'create'],
    ]);
    expect(JSON.stringify(rows)).not.toContain('Jo Smith');
    expect(verifyChain(db).ok).toBe(true);
    // The id stays for the log rows that point at it.
    expect(listDevices(db).find((x) => x.id === d.id)).toMatchObject({ named: false, name: undefined });
  });

  it.each([
    [{ name: 'x' }, 'a device needs a MAC address or an IP address'],
    [{ mac: 'zz', name: 'x' }, 'not a MAC address'],
    [{ address: '10.0.0.999', name: 'x' }, 'not an IP address'],
    [{ mac: 'aa:bb:cc:00:00:01' }, 'give a name, an asset tag or an owner'],
    [{ mac: 'aa:bb:cc:00:00:01', name: 'x'.repeat(300) }, 'name: longer than 256 characters'],
  ])('refuses %j', (input, message) => {
    expect(() => saveDevice(db, input, 'alice')).toThrow(message);
  });

  it('is picked up by the running service, and shown by the CLI', async () => {
    const dbPath = join(dir, 'gh.db');
    const configPath = join(dir, 'gatehouse.yaml');
    const configText = `links: [{ name: p, upstreams: ["udp://127.0.0.1:9"] }]\ngroups: [{ name: everyone, default: true }]\nstore: { path: ${dbPath} }\n`;
    writeFileSync(configPath, configText);
    const config = parseConfig(configText);
    const service = new IdentityService({ db, config, logger: silentLogger() });
    await service.start();
    try {
      service.onLeases('/leases', [
        { address: '10.0.0.5', mac: 'aa:bb:cc:00:00:01', hostName: 'dhcp-name', endsAt: Date.now() + 60_000, active: true },
      ]);
      expect(service.lookup('10.0.0.5')?.deviceName).toBe('dhcp-name');
      service.flush();
      const csv = join(dir, 'devices.csv');
      writeFileSync(csv, 'mac,name,asset_tag,owner\naa-bb-cc-00-00-01,Library PC 3,LIB-003,Library\nbogus,x,,\n');
      const imported = await run(process.execPath, ['--import', 'tsx', cli, 'device', 'import', csv, '--config', configPath]).catch(
        (e: { stdout: string; code: number }) => e,
      );
      expect(imported.stdout).toContain('1 added, 0 changed, 0 unchanged, 1 refused');
      expect(imported.stdout).toContain('line 3: not a MAC address');
      service.pollDevices();
      expect(service.lookup('10.0.0.5')).toMatchObject({ deviceName: 'Library PC 3', from: { deviceName: 'devices' } });
      const list = await run(process.execPath, ['--import', 'tsx', cli, 'device', 'list', '--config', configPath]);
      expect(list.stdout).toMatch(/mac:aa:bb:cc:00:00:01\tLibrary PC 3\tLIB-003\tLibrary\tnamed/);
      const show = await run(process.execPath, ['--import', 'tsx', cli, 'identity', 'show', '10.0.0.5', '--config', configPath]);
      expect(show.stdout).toContain('Library PC 3  [devices]  mac aa:bb:cc:00:00:01 [dhcp]  asset LIB-003');
      expect(show.stdout).toMatch(/dhcp\s+10\.0\.0\.5\s+mac aa:bb:cc:00:00:01\s+host dhcp-name\s+from \/leases/);
      const unknown = await run(process.execPath, ['--import', 'tsx', cli, 'identity', 'show', '10.0.0.77', '--config', configPath]).catch(
        (e: { stdout: string; code: number }) => e,
      );
      expect((unknown as { code?: number }).code).toBe(3);
      expect(unknown.stdout).toContain('identity  unknown');
      const bad = await run(process.execPath, ['--import', 'tsx', cli, 'identity', 'show', 'not-an-ip', '--config', configPath]).catch(
        (e: { stderr: string; code: number }) => e,
      );
      expect((bad as { code?: number }).code).toBe(2);
    } finally {
      await service.stop();
    }
  }, 60_000);
});
