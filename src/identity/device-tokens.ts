// Device tokens: what a school device that is not a Chromebook (an iPad, an
// Android tablet, a Windows laptop) puts in its DoH URL (/dns-query/<token>)
// or as the first label of its DoT name (<token>.dns.school.example), so that
// Gatehouse knows whose device it is wherever it asks from.
//
// A token is 160 random bits in lower-case base32 (RFC 4648 §6 alphabet, no
// padding): 32 characters, a valid DNS label (at most 63, RFC 1035 §2.3.4),
// case-insensitive as DNS names are. It is shown once when issued and stored
// only as its SHA-256. Issuing and revoking are change-log rows in the same
// transaction (never with the token). A revoked token's row stays, so the
// record says when it stopped working.
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { withChange } from '../admin/changelog.js';
import { IdentityError } from './errors.js';
import { cleanText, normaliseMac } from './names.js';
import { deviceOf } from './store.js';
import type { Device } from './types.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const TOKEN_BYTES = 20;
/** A token as issued: 32 characters of the base32 alphabet. */
export const TOKEN_PATTERN = /^[a-z2-7]{32}$/;

/** Lower-case base32 without padding. */
export function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The stored form of a token: hex SHA-256 of its lower-case text. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token.toLowerCase()).digest('hex');
}

export interface DeviceToken {
  id: number;
  deviceId: number;
  group?: string;
  label?: string;
  createdAt: number;
  createdBy: string;
  revokedAt?: number;
  revokedBy?: string;
  lastUsedAt?: number;
}

interface TokenRow {
  id: number;
  device_id: number;
  token_hash: string;
  group_name: string | null;
  label: string | null;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  revoked_by: string | null;
  last_used_at: number | null;
}

function tokenOf(r: TokenRow): DeviceToken {
  return {
    id: r.id,
    deviceId: r.device_id,
    group: r.group_name ?? undefined,
    label: r.label ?? undefined,
    createdAt: r.created_at,
    createdBy: r.created_by,
    revokedAt: r.revoked_at ?? undefined,
    revokedBy: r.revoked_by ?? undefined,
    lastUsedAt: r.last_used_at ?? undefined,
  };
}

/** Every token, newest first; with `active`, only those not revoked. */
export function listTokens(db: Database, options: { active?: boolean; deviceId?: number } = {}): DeviceToken[] {
  const rows = db
    .prepare(
      `SELECT * FROM device_tokens WHERE (@active = 0 OR revoked_at IS NULL) AND (@device IS NULL OR device_id = @device) ORDER BY id DESC`,
    )
    .all({ active: options.active ? 1 : 0, device: options.deviceId ?? null }) as TokenRow[];
  return rows.map(tokenOf);
}

/** What the query path needs of each active token: its hash, its device and group. */
export function activeTokenHashes(db: Database): { id: number; hash: string; deviceId: number; group?: string }[] {
  return (
    db.prepare('SELECT id, token_hash, device_id, group_name FROM device_tokens WHERE revoked_at IS NULL').all() as Pick<
      TokenRow,
      'id' | 'token_hash' | 'device_id' | 'group_name'
    >[]
  ).map((r) => ({ id: r.id, hash: r.token_hash, deviceId: r.device_id, group: r.group_name ?? undefined }));
}

/** A stamp that changes whenever a token is issued, revoked or used (the service polls it). */
export function tokensStamp(db: Database): string {
  const r = db.prepare('SELECT count(*) AS n, coalesce(max(updated_at), 0) AS at FROM device_tokens').get() as { n: number; at: number };
  return `${r.n}:${r.at}`;
}

/**
 * The device a reference names: its id, its MAC, or (among the devices the
 * school named) its name, asset tag or serial number when exactly one has it.
 */
export function findDevice(db: Database, ref: string): Device {
  const text = ref.trim();
  type Row = Parameters<typeof deviceOf>[0];
  let rows: Row[] = [];
  if (/^\d+$/.test(text)) rows = db.prepare('SELECT * FROM identity_devices WHERE id = ?').all(Number(text)) as Row[];
  const mac = rows.length === 0 ? normaliseMac(text.replace(/^mac:/, '')) : undefined;
  if (mac) rows = db.prepare('SELECT * FROM identity_devices WHERE key = ?').all(`mac:${mac}`) as Row[];
  if (rows.length === 0)
    rows = db
      .prepare(
        'SELECT * FROM identity_devices WHERE named = 1 AND (key = @t OR lower(name) = lower(@t) OR lower(asset_tag) = lower(@t) OR lower(serial) = lower(@t))',
      )
      .all({ t: text }) as Row[];
  if (rows.length === 0)
    throw new IdentityError(
      'GH_ERR_IDENTITY_NOT_FOUND',
      'no such device (give its id, its MAC, or the name, asset tag or serial number the school gave it)',
    );
  if (rows.length > 1) throw new IdentityError('GH_ERR_IDENTITY_DEVICE', `${rows.length} devices match; give the device's id or MAC`);
  return deviceOf(rows[0]);
}

export interface IssuedToken {
  id: number;
  token: string;
  device: Device;
}

/** Issue a token for a device: returned once, stored as its hash, with its change-log row. */
export function issueToken(
  db: Database,
  input: { device: Device; group?: string; label?: string; actor: string },
  now = Date.now(),
): IssuedToken {
  const label = cleanText(input.label);
  if (typeof label === 'object') throw new IdentityError('GH_ERR_IDENTITY_DEVICE', `label: ${label.error}`);
  const token = base32(randomBytes(TOKEN_BYTES));
  const id = withChange(
    db,
    (tokenId: number) => ({
      actor: input.actor,
      entity: 'device-token',
      entityId: tokenId,
      action: 'create',
      // Never the token: the change log is kept for ever and read by governors.
      after: { device: input.device.key, deviceId: input.device.id, group: input.group ?? null, label: label ?? null },
      at: now,
    }),
    () =>
      Number(
        db
          .prepare(
            `INSERT INTO device_tokens (device_id, token_hash, group_name, label, created_at, created_by, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(input.device.id, tokenHash(token), input.group ?? null, label ?? null, now, input.actor, now).lastInsertRowid,
      ),
  );
  return { id, token, device: input.device };
}

/** Revoke a token: it stops working within seconds (the service polls), with its change-log row. */
export function revokeToken(db: Database, id: number, actor: string, now = Date.now()): DeviceToken {
  const row = db.prepare('SELECT * FROM device_tokens WHERE id = ?').get(id) as TokenRow | undefined;
  if (!row) throw new IdentityError('GH_ERR_IDENTITY_NOT_FOUND', 'no such token');
  if (row.revoked_at !== null) throw new IdentityError('GH_ERR_IDENTITY_DEVICE', 'the token is already revoked');
  withChange(
    db,
    { actor, entity: 'device-token', entityId: id, action: 'revoke', before: { deviceId: row.device_id, group: row.group_name }, at: now },
    () => db.prepare('UPDATE device_tokens SET revoked_at = ?, revoked_by = ?, updated_at = ? WHERE id = ?').run(now, actor, now, id),
  );
  return tokenOf({ ...row, revoked_at: now, revoked_by: actor });
}

/** Record when tokens were last used (called about once a minute, off the query path). */
export function markTokensUsed(db: Database, ids: Iterable<number>, at: number): void {
  const st = db.prepare('UPDATE device_tokens SET last_used_at = ? WHERE id = ?');
  db.transaction(() => {
    for (const id of ids) st.run(at, id);
  })();
}
