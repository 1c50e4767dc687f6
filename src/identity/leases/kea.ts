// ISC Kea's memfile lease file for DHCPv4 (kea-leases4.csv). A header line
// names the columns (address,hwaddr,client_id,valid_lifetime,expire,subnet_id,
// fqdn_fwd,fqdn_rev,hostname,state,user_context[,pool_id]); each change to a
// lease appends a line, so a later line for an address replaces an earlier
// one. A deleted (released) lease is written with valid_lifetime 0; state 1 is
// declined, 2 expired-reclaimed. Kea writes a comma inside a value as "&#x2c".
// See Kea's CSVLease4File (src/lib/dhcpsrv/csv_lease_file4.cc).
import { cleanHostName, normaliseAddress, normaliseMac } from '../names.js';
import { MAX_LINE, type LeaseEvent } from './types.js';

export function* parseKea(text: string): Generator<LeaseEvent> {
  const lines = text.split('\n');
  let cols: Record<string, number> | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    if (raw.length > MAX_LINE) {
      yield { kind: 'bad', line, reason: 'line too long' };
      continue;
    }
    const fields = raw.split(',');
    // The header is the first line, and Kea writes it again after a lease-file cleanup.
    if (fields[0] === 'address') {
      cols = Object.fromEntries(fields.map((f, j) => [f.trim(), j]));
      if (cols.address === undefined || cols.expire === undefined || cols.valid_lifetime === undefined) {
        cols = undefined;
        yield { kind: 'bad', line, reason: 'header lacks address, valid_lifetime or expire' };
      }
      continue;
    }
    if (!cols) {
      yield { kind: 'bad', line, reason: 'lease line before the header' };
      continue;
    }
    if (fields.length < Object.keys(cols).length) {
      yield { kind: 'bad', line, reason: 'too few fields' };
      continue;
    }
    const address = normaliseAddress(fields[cols.address]);
    const lifetime = Number(fields[cols.valid_lifetime]);
    const expire = Number(fields[cols.expire]);
    if (!address || address.includes(':')) {
      yield { kind: 'bad', line, reason: 'not an IPv4 address' };
      continue;
    }
    if (!/^\d+$/.test(fields[cols.valid_lifetime]) || !/^\d+$/.test(fields[cols.expire])) {
      yield { kind: 'bad', line, reason: 'valid_lifetime or expire is not a number' };
      continue;
    }
    const hw = cols.hwaddr !== undefined ? fields[cols.hwaddr] : '';
    const mac = hw === '' ? undefined : normaliseMac(hw);
    if (hw !== '' && !mac) yield { kind: 'warn', line, reason: 'hwaddr is not a MAC address' };
    const rawName = cols.hostname !== undefined ? unescape(fields[cols.hostname]) : '';
    const hostName = cleanHostName(rawName);
    if (rawName !== '' && !hostName) yield { kind: 'warn', line, reason: 'unusable host name' };
    const state = cols.state !== undefined ? Number(fields[cols.state]) : 0;
    yield {
      kind: 'lease',
      line,
      lease: { address, mac, hostName, startedAt: (expire - lifetime) * 1000, endsAt: expire * 1000, active: lifetime > 0 && state === 0 },
    };
  }
}

function unescape(value: string): string {
  return value.replace(/&#x2c/gi, ',');
}
