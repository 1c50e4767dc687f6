// dnsmasq's lease file (dnsmasq.leases, --dhcp-leasefile): one lease a line,
// rewritten whole on every change. DHCPv4: "EXPIRY MAC ADDRESS HOSTNAME
// CLIENT-ID"; a "duid DUID" line opens the DHCPv6 leases, "EXPIRY IAID ADDRESS
// HOSTNAME DUID" (no MAC). EXPIRY is seconds since the epoch, 0 for an
// infinite lease; an unknown host name is "*". See dnsmasq's lease.c.
import { cleanHostName, normaliseAddress, normaliseMac } from '../names.js';
import { MAX_LINE, type LeaseEvent } from './types.js';

export function* parseDnsmasq(text: string): Generator<LeaseEvent> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    if (raw.length > MAX_LINE) {
      yield { kind: 'bad', line, reason: 'line too long' };
      continue;
    }
    const f = raw.trim().split(/\s+/);
    if (f[0] === 'duid') continue;
    if (f.length < 4 || !/^\d+$/.test(f[0])) {
      yield { kind: 'bad', line, reason: 'expected EXPIRY MAC ADDRESS HOSTNAME [CLIENT-ID]' };
      continue;
    }
    const address = normaliseAddress(f[2]);
    if (!address) {
      yield { kind: 'bad', line, reason: 'not an IP address' };
      continue;
    }
    const v6 = address.includes(':');
    const mac = v6 ? undefined : normaliseMac(f[1]);
    if (!v6 && !mac) yield { kind: 'warn', line, reason: 'not a MAC address' };
    const hostName = cleanHostName(f[3]);
    if (f[3] !== '*' && !hostName) yield { kind: 'warn', line, reason: 'unusable host name' };
    const expiry = Number(f[0]);
    yield { kind: 'lease', line, lease: { address, mac, hostName, endsAt: expiry === 0 ? Infinity : expiry * 1000, active: true } };
  }
}
