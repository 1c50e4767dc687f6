// "Who and what is at this address now", read from the database in another
// process than the service (`gatehouse identity show`). It merges the stored
// records with the same function the service uses (merge.ts), so the CLI and
// the identify link agree. Staleness: the service writes a change within
// about a second (its flush), a lease file change within its debounce and
// poll; a record whose time is over counts as gone even if the service (being
// stopped) has not removed it.
import type { Database } from 'better-sqlite3';
import ipaddr from 'ipaddr.js';
import type { IdentityConfig } from './config.js';
import { groupFor } from './groups.js';
import { mergeIdentity, type RecordSet } from './merge.js';
import { normaliseAddress } from './names.js';
import { maskedKey } from './map.js';
import { readAddressRecords, readDevices, readPeople } from './store.js';
import type { ClientIdentity, Device, Person, SourceRecord } from './types.js';

export interface AddressView {
  address: string;
  identity?: ClientIdentity;
  person?: Person;
  device?: Device;
  /** The roster's group for the person, and whether it decides (identity.precedence). */
  personGroup?: string;
  precedence: 'person' | 'network';
  records: (SourceRecord & { expired: boolean })[];
}

/** The records that cover an address: its own, and any IPv6 prefix it falls in (longest wins). */
function recordsAt(db: Database, address: string): SourceRecord[] {
  const all = readAddressRecords(db, address);
  const exact = all.filter((r) => r.address === address);
  if (!address.includes(':')) return exact;
  const ip = ipaddr.IPv6.parse(address);
  const prefixes = all
    .filter((r) => r.address.includes('/'))
    .filter((r) => {
      const [p, len] = r.address.split('/');
      return maskedKey(ip, Number(len)) === p;
    })
    .sort((a, b) => Number(b.address.split('/')[1]) - Number(a.address.split('/')[1]));
  return [...exact, ...prefixes];
}

export function showAddress(db: Database, rawAddress: string, config: IdentityConfig, now = Date.now()): AddressView | undefined {
  const address = normaliseAddress(rawAddress);
  if (!address) return undefined;
  const people = new Map(readPeople(db).map((p) => [p.id, p]));
  const devices = new Map(readDevices(db).map((d) => [d.id, d]));
  const records = recordsAt(db, address).map((r) => ({ ...r, expired: r.expiresAt <= now }));
  const set: RecordSet = {};
  for (const r of records) if (!r.expired && !set[r.source]) set[r.source] = r;
  const identity = mergeIdentity(address, set, {
    person: (id) => {
      const p = people.get(id);
      return p ? { user: p.userKey, group: p.inRoster ? groupFor(p, config.groups) : undefined } : undefined;
    },
    deviceName: (id) => {
      const d = devices.get(id);
      return d?.named ? d.name : undefined;
    },
    namedByAddress: (a) => [...devices.values()].find((d) => d.named && d.key === `ip:${a}`),
  });
  const person = identity?.personId !== undefined ? people.get(identity.personId) : undefined;
  return {
    address,
    identity,
    person,
    device: identity?.deviceId !== undefined ? devices.get(identity.deviceId) : undefined,
    personGroup: identity?.group,
    precedence: config.precedence,
    records,
  };
}
