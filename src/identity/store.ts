// Identity in SQLite: people and devices interned to small stable ids, and
// what each source says is at each address, written behind the sources so
// the CLI (another process) can read it and a restart remembers signed-in
// users. Writes are queued in memory and flushed once a second in one
// transaction on the service's connection; nothing on the query path waits
// for them. People and devices are also held in memory (a school has a few
// thousand of each), so merging never reads the database.
import type { Database } from 'better-sqlite3';
import { PersonIndex, parseUserName, userKey } from './users.js';
import type { Device, Person, SourceName, SourceRecord } from './types.js';

interface PersonRow {
  id: number;
  user_key: string;
  display_name: string | null;
  email: string | null;
  role: string | null;
  year_group: string | null;
  org_unit: string | null;
  aliases_json: string;
  roster_source: string | null;
  in_roster: number;
}

interface DeviceRow {
  id: number;
  key: string;
  name: string | null;
  asset_tag: string | null;
  owner: string | null;
  serial?: string | null;
  directory_id?: string | null;
  named: number;
  host_name: string | null;
}

interface AddressRow {
  source: SourceName;
  address: string;
  person_id: number | null;
  device_id: number | null;
  user_name: string | null;
  mac: string | null;
  host_name: string | null;
  origin: string;
  session_id: string | null;
  started_at: number | null;
  updated_at: number;
  expires_at: number | null;
}

export function personOf(r: PersonRow): Person {
  return {
    id: r.id,
    userKey: r.user_key,
    displayName: r.display_name ?? undefined,
    email: r.email ?? undefined,
    role: r.role ?? undefined,
    yearGroup: r.year_group ?? undefined,
    orgUnit: r.org_unit ?? undefined,
    aliases: JSON.parse(r.aliases_json) as string[],
    rosterSource: r.roster_source ?? undefined,
    inRoster: r.in_roster === 1,
  };
}

export function deviceOf(r: DeviceRow): Device {
  return {
    id: r.id,
    key: r.key,
    name: r.name ?? undefined,
    assetTag: r.asset_tag ?? undefined,
    owner: r.owner ?? undefined,
    serial: r.serial ?? undefined,
    directoryId: r.directory_id ?? undefined,
    named: r.named === 1,
    hostName: r.host_name ?? undefined,
  };
}

export function recordOf(r: AddressRow): SourceRecord {
  return {
    source: r.source,
    address: r.address,
    personId: r.person_id ?? undefined,
    deviceId: r.device_id ?? undefined,
    userName: r.user_name ?? undefined,
    mac: r.mac ?? undefined,
    hostName: r.host_name ?? undefined,
    origin: r.origin,
    sessionId: r.session_id ?? undefined,
    startedAt: r.started_at ?? undefined,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at ?? Infinity,
  };
}

export function readPeople(db: Database): Person[] {
  return (db.prepare('SELECT * FROM identity_people').all() as PersonRow[]).map(personOf);
}

export function readDevices(db: Database): Device[] {
  return (db.prepare('SELECT * FROM identity_devices').all() as DeviceRow[]).map(deviceOf);
}

/** The stored records at an address: exact, plus any IPv6 prefix rows (the caller checks containment). */
export function readAddressRecords(db: Database, address?: string): SourceRecord[] {
  const rows = (
    address === undefined
      ? db.prepare('SELECT * FROM identity_addresses').all()
      : db.prepare("SELECT * FROM identity_addresses WHERE address = ? OR instr(address, '/') > 0").all(address)
  ) as AddressRow[];
  return rows.map(recordOf);
}

export class IdentityStore {
  readonly people = new Map<number, Person>();
  readonly devices = new Map<number, Device>();
  private readonly deviceByKey = new Map<string, Device>();
  private index = new PersonIndex(new Set());
  private schoolDomains: ReadonlySet<string> = new Set();
  /** Pending writes: (source, address) → the record, or null to delete it. */
  private pending = new Map<string, SourceRecord | null>();
  private readonly seenPeople = new Set<number>();
  private readonly seenDevices = new Set<number>();

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  setDomains(domains: readonly string[]): void {
    this.schoolDomains = new Set(domains.map((d) => d.toLowerCase()));
    this.rebuildIndex();
  }

  /** (Re)read people and devices into memory (at start, after a roster import or a devices change). */
  load(): void {
    this.people.clear();
    for (const p of readPeople(this.db)) this.people.set(p.id, p);
    this.devices.clear();
    this.deviceByKey.clear();
    for (const d of readDevices(this.db)) {
      this.devices.set(d.id, d);
      this.deviceByKey.set(d.key, d);
    }
    this.rebuildIndex();
  }

  private rebuildIndex(): void {
    const index = new PersonIndex(this.schoolDomains);
    // Roster people first: a name a roster gives someone is theirs.
    for (const p of this.people.values()) if (p.inRoster) index.add(p.id, [p.userKey, p.email, ...p.aliases]);
    for (const p of this.people.values()) if (!p.inRoster && index.find(p.userKey) === undefined) index.add(p.id, [p.userKey]);
    this.index = index;
  }

  /**
   * The person a user name means: a roster person, or (interned now) the
   * person known only by this name. Undefined for names that are no one's.
   */
  personFor(rawUserName: string | undefined): number | undefined {
    const found = this.index.find(rawUserName);
    if (found !== undefined) return found;
    const name = parseUserName(rawUserName);
    if (!name || this.index.isAmbiguous(rawUserName)) return undefined;
    const key = userKey(name, this.schoolDomains);
    const at = this.now();
    this.db
      .prepare('INSERT OR IGNORE INTO identity_people (user_key, first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?)')
      .run(key, at, at, at);
    const row = this.db.prepare('SELECT * FROM identity_people WHERE user_key = ?').get(key) as PersonRow;
    const person = personOf(row);
    this.people.set(person.id, person);
    this.index.add(person.id, [key]);
    return person.id;
  }

  /** The device id for a key ('mac:…', 'name:…'), interned on first sight. */
  deviceFor(key: string): number {
    const known = this.deviceByKey.get(key);
    if (known) return known.id;
    const at = this.now();
    this.db
      .prepare('INSERT OR IGNORE INTO identity_devices (key, first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?)')
      .run(key, at, at, at);
    const device = deviceOf(this.db.prepare('SELECT * FROM identity_devices WHERE key = ?').get(key) as DeviceRow);
    this.devices.set(device.id, device);
    this.deviceByKey.set(key, device);
    return device.id;
  }

  deviceByAddress(address: string): Device | undefined {
    const d = this.deviceByKey.get(`ip:${address}`);
    return d?.named ? d : undefined;
  }

  /** Queue a record to be stored (or, with null, its row removed) at the next flush. */
  queue(source: SourceName, address: string, record: SourceRecord | null): void {
    this.pending.set(`${source} ${address}`, record);
    if (record?.personId !== undefined) this.seenPeople.add(record.personId);
    if (record?.deviceId !== undefined) this.seenDevices.add(record.deviceId);
  }

  get pendingWrites(): number {
    return this.pending.size;
  }

  /** Write what is queued, in one transaction. Throws on a database error (the queue is kept). */
  flush(): number {
    if (this.pending.size === 0 && this.seenPeople.size === 0 && this.seenDevices.size === 0) return 0;
    const batch = this.pending;
    const at = this.now();
    const upsert = this.db.prepare(
      `INSERT INTO identity_addresses (source, address, person_id, device_id, user_name, mac, host_name, origin, session_id, started_at, updated_at, expires_at)
       VALUES (@source, @address, @person_id, @device_id, @user_name, @mac, @host_name, @origin, @session_id, @started_at, @updated_at, @expires_at)
       ON CONFLICT (source, address) DO UPDATE SET person_id = excluded.person_id, device_id = excluded.device_id,
         user_name = excluded.user_name, mac = excluded.mac, host_name = excluded.host_name, origin = excluded.origin,
         session_id = excluded.session_id, started_at = excluded.started_at, updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
    );
    const remove = this.db.prepare('DELETE FROM identity_addresses WHERE source = ? AND address = ?');
    const seenPerson = this.db.prepare('UPDATE identity_people SET last_seen = max(last_seen, ?) WHERE id = ?');
    const seenDevice = this.db.prepare(
      'UPDATE identity_devices SET last_seen = max(last_seen, ?), host_name = coalesce(?, host_name) WHERE id = ?',
    );
    const hostNames = new Map<number, string>();
    this.db.transaction(() => {
      for (const [key, r] of batch) {
        if (r === null) {
          const space = key.indexOf(' ');
          remove.run(key.slice(0, space), key.slice(space + 1));
          continue;
        }
        if (r.deviceId !== undefined && r.hostName !== undefined) hostNames.set(r.deviceId, r.hostName);
        upsert.run({
          source: r.source,
          address: r.address,
          person_id: r.personId ?? null,
          device_id: r.deviceId ?? null,
          user_name: r.userName ?? null,
          mac: r.mac ?? null,
          host_name: r.hostName ?? null,
          origin: r.origin,
          session_id: r.sessionId ?? null,
          started_at: r.startedAt ?? null,
          updated_at: r.updatedAt,
          expires_at: Number.isFinite(r.expiresAt) ? r.expiresAt : null,
        });
      }
      for (const id of this.seenPeople) seenPerson.run(at, id);
      for (const id of this.seenDevices) seenDevice.run(at, hostNames.get(id) ?? null, id);
    })();
    this.pending = new Map();
    this.seenPeople.clear();
    this.seenDevices.clear();
    return batch.size;
  }

  /** Mark everyone and everything at an address now as seen (retention's clock keeps running while they stay). */
  touch(records: Iterable<SourceRecord>): void {
    for (const r of records) {
      if (r.personId !== undefined) this.seenPeople.add(r.personId);
      if (r.deviceId !== undefined) this.seenDevices.add(r.deviceId);
    }
  }

  /** Stored records still current, to fill the map at start. */
  loadRecords(now: number): SourceRecord[] {
    return readAddressRecords(this.db).filter((r) => r.expiresAt > now);
  }

  /** Remove stored records that expired while the service was down. */
  deleteExpired(now: number): number {
    return this.db.prepare('DELETE FROM identity_addresses WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes;
  }
}
