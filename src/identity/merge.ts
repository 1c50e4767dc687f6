// How the records several sources hold for one address become one identity.
// The same function serves the service (building the map) and
// `gatehouse identity show` (reading the database), so both agree.
//
// Precedence, field by field:
// - person: RADIUS only (the one source that knows who signed in).
// - MAC: RADIUS's Calling-Station-Id, else the DHCP lease's hardware address.
//   When both are known and differ, the address has changed hands: the newer
//   record (DHCP by its lease start, RADIUS by its last update) wins and the
//   older one is ignored whole (a lease without a start time, as dnsmasq's,
//   counts from when Gatehouse first saw it), so a lost RADIUS Stop cannot pin a person on
//   an address DHCP has since given to another device.
// - device: the device of that MAC; with no MAC, a device the school named by
//   address; else the device known by its PTR name.
// - device name: the school's own name (devices list, by MAC then by
//   address), else the DHCP host name, else the PTR name.
import type { ClientIdentity, SourceName, SourceRecord } from './types.js';

export interface MergeContext {
  /** The person's user name and roster group. */
  person(id: number): { user: string; group?: string } | undefined;
  /** A device's school-given name, if it has one. */
  deviceName(id: number): string | undefined;
  /** The device the school named by this address ('ip:' key), if any. */
  namedByAddress(address: string): { id: number; name?: string } | undefined;
}

export type RecordSet = Partial<Record<SourceName, SourceRecord>>;

export function mergeIdentity(address: string, records: RecordSet, ctx: MergeContext): ClientIdentity | undefined {
  let { radius, dhcp } = records;
  const { ptr } = records;
  if (radius?.mac && dhcp?.mac && radius.mac !== dhcp.mac) {
    if ((dhcp.startedAt ?? dhcp.updatedAt) > radius.updatedAt) radius = undefined;
    else dhcp = undefined;
  }
  const from: { person?: SourceName; mac?: SourceName; deviceName?: SourceName | 'devices' } = {};
  const person = radius?.personId !== undefined ? ctx.person(radius.personId) : undefined;
  if (person) from.person = 'radius';
  const macRecord = radius?.mac ? radius : dhcp?.mac ? dhcp : undefined;
  if (macRecord) from.mac = macRecord.source;
  const byAddress = ctx.namedByAddress(address);
  const deviceId = macRecord?.deviceId ?? byAddress?.id ?? ptr?.deviceId;
  let deviceName = (macRecord?.deviceId !== undefined ? ctx.deviceName(macRecord.deviceId) : undefined) ?? byAddress?.name;
  if (deviceName !== undefined) from.deviceName = 'devices';
  else if (dhcp?.hostName) {
    deviceName = dhcp.hostName;
    from.deviceName = 'dhcp';
  } else if (ptr?.hostName) {
    deviceName = ptr.hostName;
    from.deviceName = 'ptr';
  }
  if (!person && deviceId === undefined && !macRecord && deviceName === undefined) return undefined;
  return Object.freeze({
    personId: person ? radius!.personId : undefined,
    deviceId,
    user: person?.user,
    group: person?.group,
    mac: macRecord?.mac,
    deviceName,
    from: Object.freeze(from),
  });
}
