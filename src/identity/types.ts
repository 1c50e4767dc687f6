// The shapes shared by the identity sources, the address → identity map and
// the identify link. A source reports what it knows about one address as a
// SourceRecord; the map merges the records of one address into one
// ClientIdentity (merge.ts), built off the query path and read on it as is.

export type SourceName = 'radius' | 'dhcp' | 'ptr';

/** What a DoH/DoT request says of itself (identity/credentials.ts): a device token, or a Chrome identifier hash. */
export type CredentialSource = 'token' | 'chrome';

/** What one source knows about one address (or, for RADIUS, one IPv6 prefix). */
export interface SourceRecord {
  source: SourceName;
  /** The address as the DNS server formats client addresses (ipaddr.js normal form), or `prefix/len`. */
  address: string;
  /** RADIUS: the user name as the NAS sent it (before normalisation). */
  userName?: string;
  /** RADIUS: the interned person (identity_people.id). */
  personId?: number;
  /** Lower-case, colon-separated (aa:bb:cc:dd:ee:ff). */
  mac?: string;
  /** The interned device: of the MAC, else (ptr) of the host name. */
  deviceId?: number;
  /** DHCP: the host name the client gave; ptr: the PTR name. Cleaned (names.ts). */
  hostName?: string;
  /** Where it came from: the lease file, the NAS address, the DNS server. */
  origin: string;
  /** RADIUS Acct-Session-Id. */
  sessionId?: string;
  /** Lease start / session start, ms since the epoch, when known. */
  startedAt?: number;
  /** When the source last confirmed it (lease write, Interim-Update, PTR answer). */
  updatedAt: number;
  /** When it stops counting (lease end, session timeout, TTL); Infinity for never. */
  expiresAt: number;
}

/**
 * Who and what is at an address now, as the identify link sees it. One frozen
 * object per address, rebuilt when a source changes; the query path only reads it.
 * The next step (query-log columns) stores `personId` and `deviceId` in each row.
 */
export interface ClientIdentity {
  /** identity_people.id: small, stable in the database, never reused. */
  readonly personId?: number;
  /** identity_devices.id: small, stable in the database, never reused. */
  readonly deviceId?: number;
  /** The person's user name (the roster's, else the normalised RADIUS name). */
  readonly user?: string;
  /** The roster's group for the person, when identity.groups maps them to one. */
  readonly group?: string;
  readonly mac?: string;
  /** The school's name for the device, else the DHCP host name, else the PTR name. */
  readonly deviceName?: string;
  /** Which source gave each part (for `gatehouse identity show`). */
  readonly from: Readonly<{
    person?: SourceName | CredentialSource;
    mac?: SourceName;
    deviceName?: SourceName | 'devices';
    device?: CredentialSource;
  }>;
}

/** A person as the roster (or RADIUS alone) knows them: a row of identity_people. */
export interface Person {
  id: number;
  /** The normalised user name: the person's key. */
  userKey: string;
  displayName?: string;
  email?: string;
  role?: string;
  yearGroup?: string;
  orgUnit?: string;
  /** Other names that mean this person (the generic format's `aliases`). */
  aliases: string[];
  /** The roster source that lists them; undefined for a name seen only on RADIUS. */
  rosterSource?: string;
  inRoster: boolean;
}

/** A device: a row of identity_devices. Named ones carry the school's own fields. */
export interface Device {
  id: number;
  /** `mac:aa:bb:cc:dd:ee:ff`, `ip:ADDRESS` (named by address) or `name:HOST` (known only by name). */
  key: string;
  name?: string;
  assetTag?: string;
  owner?: string;
  /** The maker's serial number and Google's directory id (a Chromebook's deviceId), for Chrome's DoH identifiers. */
  serial?: string;
  directoryId?: string;
  /** The school named it (devices import / the admin UI), rather than it being only seen. */
  named: boolean;
  /** The host name it last gave (DHCP, PTR): its own choice, shown as text only. */
  hostName?: string;
}
