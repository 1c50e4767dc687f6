// What a DoH or DoT request says about whose device it is, and the identity
// it stands for: the memory-only look-up the encrypted servers make on every
// request (no database, no file), rebuilt off the query path when tokens, the
// roster or the devices change.
//
// Two kinds of identifier:
// - a device token (device-tokens.ts), in the DoH path (/dns-query/<token>)
//   or as the first label of the DoT name (<token>.dns.school.example);
// - Chrome's hashed identifiers. With the ChromeOS policy
//   DnsOverHttpsTemplatesWithIdentifiers and a DnsOverHttpsSalt, Chrome puts
//   base::HexEncode(crypto::SHA256HashString(salt + value)) in place of each
//   ${…} placeholder of the template (chrome/browser/ash/net/dns_over_https/
//   templates_uri_resolver_impl.cc, FormatVariable): SHA-256 of the salt's
//   bytes followed by the value's, as upper-case hex (base::HexEncode writes
//   upper case). Hashed: ${USER_EMAIL}, ${USER_EMAIL_NAME} (the part before
//   the @), ${USER_EMAIL_DOMAIN}, ${DEVICE_DIRECTORY_ID}, ${DEVICE_ASSET_ID},
//   ${DEVICE_SERIAL_NUMBER}, ${DEVICE_ANNOTATED_LOCATION}; device values are
//   "VALUE_NOT_AVAILABLE" (hashed the same way) for a user not affiliated
//   with the device's domain. ${DEVICE_IP_ADDRESSES} is not hashed: "0010" and
//   the IPv4 address's 4 bytes in hex, then "0020" and the IPv6 address's 16
//   (GetIpReplacementValue). The hash is one-way, so Gatehouse hashes what it
//   knows (its roster's e-mails and their local parts, its devices' directory
//   ids, serial numbers and asset tags) with the school's salt (doh.chromeSalt)
//   and looks the request's hashes up. Which device value is behind which
//   placeholder does not matter here (older ChromeOS releases put the asset id
//   in place of the serial number and the reverse): every known value of a
//   device points at that device.
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { activeTokenHashes, markTokensUsed, tokenHash, tokensStamp, TOKEN_PATTERN } from './device-tokens.js';
import { groupFor } from './groups.js';
import { readDevices, readPeople } from './store.js';
import type { ClientIdentity } from './types.js';

/** Chrome's identifier hash: upper-case hex SHA-256 of salt + value (UTF-8). */
export function chromeHash(salt: string, value: string): string {
  return createHash('sha256')
    .update(salt + value, 'utf8')
    .digest('hex')
    .toUpperCase();
}

/** What Chrome sends for a device value of a user not affiliated with the device. */
export const CHROME_NOT_AVAILABLE = 'VALUE_NOT_AVAILABLE';

/** A known identity, with the key its requests are rate-limited under from outside the school. */
export interface Credential {
  identity: ClientIdentity;
  key: string;
  /** The device token it came from, if one (its last use is recorded). */
  tokenId?: number;
}

interface PersonPart {
  personId: number;
  user: string;
  group?: string;
}

interface DevicePart {
  deviceId: number;
  deviceName?: string;
  /** A token's group (the device's requests are filtered as this group). */
  group?: string;
  tokenId?: number;
}

const HEX64 = /^[0-9A-Fa-f]{64}$/;
/** ${DEVICE_IP_ADDRESSES}: 0010 + 8 hex digits and/or 0020 + 32. */
const IP_SEGMENT = /^(?:0010[0-9A-Fa-f]{8})?(?:0020[0-9A-Fa-f]{32})?$/;
const MEMO_LIMIT = 16_384;
const POLL_MS = 5000;
const USED_FLUSH_MS = 60_000;

export class Credentials {
  /** Changes at every rebuild: a DoT connection re-reads its token when it differs. */
  generation = 0;
  private tokens = new Map<string, DevicePart>();
  private people = new Map<string, PersonPart>();
  private devices = new Map<string, DevicePart>();
  private notAvailable = '';
  /** Identifier text (a DoT label, a DoH path's tail) → what it resolved to; null for nothing known. */
  private memo = new Map<string, Credential | null>();
  private readonly used = new Set<number>();
  private stamp = '';
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly db: Database,
    private config: Config,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.refresh();
    this.timers.push(
      setInterval(() => this.poll(), POLL_MS),
      setInterval(() => this.flushUsed(), USED_FLUSH_MS),
    );
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.flushUsed();
  }

  /** A new config (SIGHUP): the salt or the roster's group mapping may have changed. */
  configure(config: Config): void {
    this.config = config;
    this.refresh();
  }

  /** The governed roster group mappings changed: the people's groups are worked out again. */
  setMappings(groups: Config['identity']['groups']): void {
    if (JSON.stringify(groups) === JSON.stringify(this.config.identity.groups)) return;
    this.config = { ...this.config, identity: { ...this.config.identity, groups } };
    this.refresh();
  }

  /** Rebuild the maps from the database (tokens, people, devices). Off the query path. */
  refresh(): void {
    const tokens = new Map<string, DevicePart>();
    const people = new Map<string, PersonPart>();
    const devices = new Map<string, DevicePart>();
    const deviceRows = new Map(readDevices(this.db).map((d) => [d.id, d]));
    for (const t of activeTokenHashes(this.db)) {
      tokens.set(t.hash, { deviceId: t.deviceId, deviceName: deviceRows.get(t.deviceId)?.name, group: t.group, tokenId: t.id });
    }
    const salt = this.config.doh?.chromeSalt;
    if (salt !== undefined) {
      const ambiguous = new Set<string>();
      const addPerson = (value: string, part: PersonPart) => {
        const h = chromeHash(salt, value);
        const had = people.get(h);
        if (had && had.personId !== part.personId) ambiguous.add(h);
        else people.set(h, part);
      };
      for (const p of readPeople(this.db)) {
        if (!p.email) continue;
        const part = { personId: p.id, user: p.userKey, group: p.inRoster ? groupFor(p, this.config.identity.groups) : undefined };
        // Google gives the e-mail in lower case; a roster may not.
        for (const email of new Set([p.email, p.email.toLowerCase()])) {
          addPerson(email, part);
          const at = email.lastIndexOf('@');
          if (at > 0) addPerson(email.slice(0, at), part);
        }
      }
      // A local part two people share (in two domains) names neither.
      for (const h of ambiguous) people.delete(h);
      for (const d of deviceRows.values()) {
        if (!d.named) continue;
        const part = { deviceId: d.id, deviceName: d.name };
        for (const value of [d.directoryId, d.serial, d.assetTag]) if (value) devices.set(chromeHash(salt, value), part);
      }
      this.notAvailable = chromeHash(salt, CHROME_NOT_AVAILABLE);
    } else this.notAvailable = '';
    this.tokens = tokens;
    this.people = people;
    this.devices = devices;
    this.memo = new Map();
    this.generation++;
    this.stamp = this.readStamp();
  }

  /** How many identifiers are known, for the Encrypted DNS page. */
  counts(): { tokens: number; chromePeople: number; chromeDevices: number } {
    return { tokens: this.tokens.size, chromePeople: this.people.size, chromeDevices: this.devices.size };
  }

  /** The hot path of DoT: the first label of the name the client asked for (SNI). */
  byToken(label: string): Credential | undefined {
    let found = this.memo.get(label);
    if (found === undefined) {
      const lower = label.toLowerCase();
      const part = TOKEN_PATTERN.test(lower) ? this.tokens.get(tokenHash(lower)) : undefined;
      found = part ? this.credential(undefined, part) : null;
      this.remember(label, found);
    }
    if (found?.tokenId !== undefined) this.used.add(found.tokenId);
    return found ?? undefined;
  }

  /**
   * The hot path of DoH: the path after /dns-query/, one identifier per
   * segment (a token, a Chrome hash, Chrome's IP addresses). Known if any
   * segment names a person or a device; segments nobody knows count for nothing.
   */
  byPath(rest: string): Credential | undefined {
    let found = this.memo.get(rest);
    if (found === undefined) {
      found = this.resolvePath(rest);
      this.remember(rest, found);
    }
    if (found?.tokenId !== undefined) this.used.add(found.tokenId);
    return found ?? undefined;
  }

  private resolvePath(rest: string): Credential | null {
    let person: PersonPart | undefined;
    let device: DevicePart | undefined;
    for (const segment of rest.split('/')) {
      if (segment === '' || segment.length > 128) continue;
      if (HEX64.test(segment)) {
        const h = segment.toUpperCase();
        if (h === this.notAvailable) continue;
        person ??= this.people.get(h);
        device ??= this.devices.get(h);
      } else if (TOKEN_PATTERN.test(segment.toLowerCase())) {
        const part = this.tokens.get(tokenHash(segment.toLowerCase()));
        // A token names the device for certain: it wins over a device hash.
        if (part) device = part;
      } else if (IP_SEGMENT.test(segment)) continue;
    }
    return person || device ? this.credential(person, device) : null;
  }

  private credential(person: PersonPart | undefined, device: DevicePart | undefined): Credential {
    const identity: ClientIdentity = Object.freeze({
      personId: person?.personId,
      deviceId: device?.deviceId,
      user: person?.user,
      // The person's roster group first (as on the school network), else the token's.
      group: person?.group ?? device?.group,
      deviceName: device?.deviceName,
      from: Object.freeze({
        ...(person ? { person: 'chrome' as const } : {}),
        ...(device ? { device: device.tokenId !== undefined ? ('token' as const) : ('chrome' as const) } : {}),
        ...(device?.deviceName !== undefined ? { deviceName: 'devices' as const } : {}),
      }),
    });
    return {
      identity,
      key: person ? `person ${person.personId}` : `device ${device!.deviceId}`,
      ...(device?.tokenId !== undefined ? { tokenId: device.tokenId } : {}),
    };
  }

  private remember(text: string, found: Credential | null): void {
    if (this.memo.size >= MEMO_LIMIT) this.memo = new Map();
    this.memo.set(text, found);
  }

  private readStamp(): string {
    const people = this.db.prepare('SELECT count(*) AS n, coalesce(max(updated_at), 0) AS at FROM identity_people').get() as {
      n: number;
      at: number;
    };
    const devices = this.db
      .prepare('SELECT count(*) AS n, coalesce(max(updated_at), 0) AS at FROM identity_devices WHERE named = 1')
      .get() as { n: number; at: number };
    return `${tokensStamp(this.db)}/${people.n}:${people.at}/${devices.n}:${devices.at}`;
  }

  /** Tokens issued or revoked (here or by the CLI), a roster import, a device change: rebuild. */
  poll(): void {
    try {
      if (this.readStamp() !== this.stamp) this.refresh();
    } catch (err) {
      this.logger.error({ err }, 'encrypted DNS identifiers could not be re-read');
    }
  }

  private flushUsed(): void {
    if (this.used.size === 0) return;
    try {
      markTokensUsed(this.db, this.used, this.now());
      this.used.clear();
    } catch (err) {
      this.logger.error({ err }, 'device tokens: last use could not be recorded');
    }
  }
}
