// Devices the school names itself: a MAC (or a fixed address) → name, asset
// tag, owner. Edited from `gatehouse device import` (a CSV, e.g. an MDM
// export) and, next, the admin UI; every change is a change-log row in the
// same transaction. The change log cannot be edited or deleted, so a row
// records the device, the name and asset tag, and only *that* the owner
// changed, never who the owner is (personal data must stay erasable).
// A device row is never deleted by an edit: removing the school's name keeps
// the interned id, which old query-log rows point at.
import type { Database } from 'better-sqlite3';
import { appendChange } from '../admin/changelog.js';
import { readCsv, column, field } from './csv.js';
import { IdentityError } from './errors.js';
import { cleanText, normaliseAddress, normaliseMac } from './names.js';
import { deviceOf, readDevices } from './store.js';
import type { Device } from './types.js';

export interface DeviceInput {
  mac?: string;
  address?: string;
  name?: string;
  assetTag?: string;
  owner?: string;
  /** The maker's serial number and Google's directory id: what Chromebooks can send hashed in their DoH requests. */
  serial?: string;
  directoryId?: string;
}

/** The key a named device is stored under: its MAC, else its address. */
export function deviceKey(input: DeviceInput): string {
  const mac = normaliseMac(input.mac);
  if (input.mac !== undefined && !mac) throw new IdentityError('GH_ERR_IDENTITY_DEVICE', 'not a MAC address');
  if (mac) return `mac:${mac}`;
  const address = normaliseAddress(input.address);
  if (input.address !== undefined && !address) throw new IdentityError('GH_ERR_IDENTITY_DEVICE', 'not an IP address');
  if (address) return `ip:${address}`;
  throw new IdentityError('GH_ERR_IDENTITY_DEVICE', 'a device needs a MAC address or an IP address');
}

function clean(value: string | undefined, what: string): string | null {
  const v = cleanText(value);
  if (typeof v === 'object') throw new IdentityError('GH_ERR_IDENTITY_DEVICE', `${what}: ${v.error}`);
  return v ?? null;
}

export function listDevices(db: Database, options: { named?: boolean } = {}): Device[] {
  const all = readDevices(db);
  return options.named === undefined ? all : all.filter((d) => d.named === options.named);
}

export function getDevice(db: Database, id: number): Device | undefined {
  const row = db.prepare('SELECT * FROM identity_devices WHERE id = ?').get(id);
  return row ? deviceOf(row as Parameters<typeof deviceOf>[0]) : undefined;
}

type Outcome = 'added' | 'changed' | 'unchanged';

/** Name a device (or rename it). Call inside a transaction when saving several; writes its change-log row. */
function saveOne(db: Database, input: DeviceInput, actor: string, now: number): { device: Device; outcome: Outcome } {
  const key = deviceKey(input);
  const fields = {
    name: clean(input.name, 'name'),
    asset_tag: clean(input.assetTag, 'asset tag'),
    owner: clean(input.owner, 'owner'),
    serial: clean(input.serial, 'serial number'),
    directory_id: clean(input.directoryId, 'directory id'),
  };
  if (!fields.name && !fields.asset_tag && !fields.owner)
    throw new IdentityError('GH_ERR_IDENTITY_DEVICE', 'give a name, an asset tag or an owner');
  const before = db.prepare('SELECT * FROM identity_devices WHERE key = ?').get(key) as Record<string, unknown> | undefined;
  const same =
    before &&
    before.named === 1 &&
    before.name === fields.name &&
    before.asset_tag === fields.asset_tag &&
    before.owner === fields.owner &&
    before.serial === fields.serial &&
    before.directory_id === fields.directory_id;
  if (same) return { device: deviceOf(before as unknown as Parameters<typeof deviceOf>[0]), outcome: 'unchanged' };
  db.prepare(
    `INSERT INTO identity_devices (key, name, asset_tag, owner, serial, directory_id, named, first_seen, last_seen, updated_at)
     VALUES (@key, @name, @asset_tag, @owner, @serial, @directory_id, 1, @now, @now, @now)
     ON CONFLICT (key) DO UPDATE SET name = excluded.name, asset_tag = excluded.asset_tag, owner = excluded.owner,
       serial = excluded.serial, directory_id = excluded.directory_id, named = 1, updated_at = excluded.updated_at`,
  ).run({ key, ...fields, now });
  const row = db.prepare('SELECT * FROM identity_devices WHERE key = ?').get(key) as Parameters<typeof deviceOf>[0];
  const outcome: Outcome = before && before.named === 1 ? 'changed' : 'added';
  appendChange(db, {
    actor,
    entity: 'device',
    entityId: row.id,
    action: outcome === 'added' ? 'create' : 'update',
    before:
      before && before.named === 1
        ? {
            key,
            name: before.name,
            assetTag: before.asset_tag,
            owner: before.owner ? 'set' : null,
            ...deviceIds(before.serial, before.directory_id),
          }
        : undefined,
    after: {
      key,
      name: fields.name,
      assetTag: fields.asset_tag,
      owner: fields.owner ? (before?.owner && before.owner !== fields.owner ? 'changed' : 'set') : null,
      ...deviceIds(fields.serial, fields.directory_id),
    },
    at: now,
  });
  return { device: deviceOf(row), outcome };
}

/** The serial number and directory id for a change-log row, only when there are any (rows of devices without them stay as they were). */
function deviceIds(serial: unknown, directoryId: unknown): { serial?: unknown; directoryId?: unknown } {
  return { ...(serial ? { serial } : {}), ...(directoryId ? { directoryId } : {}) };
}

/** Name or rename one device, with its change-log row, in one transaction. */
export function saveDevice(db: Database, input: DeviceInput, actor: string, now = Date.now()): Device {
  return db.transaction(() => saveOne(db, input, actor, now).device).immediate();
}

/** Remove the school's name from a device (the id stays, for the log rows that point at it). */
export function unnameDevice(db: Database, id: number, actor: string, now = Date.now()): void {
  db.transaction(() => {
    const before = getDevice(db, id);
    if (!before || !before.named) throw new IdentityError('GH_ERR_IDENTITY_NOT_FOUND', 'no such named device');
    db.prepare(
      'UPDATE identity_devices SET name = NULL, asset_tag = NULL, owner = NULL, serial = NULL, directory_id = NULL, named = 0, updated_at = ? WHERE id = ?',
    ).run(now, id);
    appendChange(db, {
      actor,
      entity: 'device',
      entityId: id,
      action: 'delete',
      before: { key: before.key, name: before.name ?? null, assetTag: before.assetTag ?? null, owner: before.owner ? 'set' : null },
      at: now,
    });
  }).immediate();
}

export interface DeviceImportResult {
  added: number;
  changed: number;
  unchanged: number;
  refused: { line: number; reason: string }[];
}

/**
 * Import a CSV of devices in one transaction. Columns, by header (case and
 * spaces ignored): mac / macAddress / "Wi-Fi MAC" / "MAC Address";
 * address / ip / "IP Address"; name / deviceName / "Device name";
 * asset_tag / annotatedAssetId / "Asset tag" / serialNumber; owner /
 * annotatedUser / "Primary user UPN" / user; and, for Chromebooks' DoH
 * identifiers, serialNumber / "Serial number" and deviceId / "Device ID" /
 * directoryApiId (Google's directory id). A row that cannot be used is
 * refused with its line and a reason; the others are saved.
 */
export function importDevices(db: Database, text: string, actor: string, now = Date.now()): DeviceImportResult {
  const table = readCsv(text);
  const result: DeviceImportResult = { added: 0, changed: 0, unchanged: 0, refused: [...table.errors] };
  if (table.truncated)
    throw new IdentityError('GH_ERR_IDENTITY_DEVICE', 'the file ends inside a quoted field (cut short?); nothing imported');
  const h = table.header;
  const mac = column(h, 'mac', 'macAddress', 'Wi-Fi MAC', 'wifiMacAddress', 'MAC Address', 'ethernetMacAddress');
  const address = column(h, 'address', 'ip', 'IP Address');
  const name = column(h, 'name', 'deviceName', 'Device name', 'annotatedLocation');
  const asset = column(h, 'asset_tag', 'annotatedAssetId', 'Asset tag', 'assetTag', 'serialNumber', 'Serial number');
  const owner = column(h, 'owner', 'annotatedUser', 'Primary user UPN', 'user');
  const serial = column(h, 'serialNumber', 'Serial number', 'serial');
  const directoryId = column(h, 'deviceId', 'Device ID', 'directoryApiId', 'Directory API ID', 'directory_id');
  if (mac < 0 && address < 0) throw new IdentityError('GH_ERR_IDENTITY_DEVICE', 'no MAC or address column; nothing imported');
  const seen = new Set<string>();
  db.transaction(() => {
    for (const r of table.records) {
      const input: DeviceInput = {
        mac: field(r, mac),
        address: field(r, address),
        name: field(r, name),
        assetTag: field(r, asset),
        owner: field(r, owner),
        serial: field(r, serial),
        directoryId: field(r, directoryId),
      };
      try {
        const key = deviceKey(input);
        if (seen.has(key)) throw new IdentityError('GH_ERR_IDENTITY_DEVICE', 'device repeated');
        seen.add(key);
        result[saveOne(db, input, actor, now).outcome]++;
      } catch (err) {
        if (!(err instanceof IdentityError)) throw err;
        result.refused.push({ line: r.line, reason: err.message });
      }
    }
  }).immediate();
  return result;
}
