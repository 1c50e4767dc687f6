// Address ranges in CIDR notation, and whether an address is in one of them.
// Shared by the admin UI's allow-list and the DNS listeners' (dns.allowNetworks).
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

export type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseNetworks(cidrs: readonly string[]): Range[] {
  return cidrs.map((c) => ipaddr.parseCIDR(c));
}

/** Whether an address (IPv4-mapped IPv6 counts as IPv4) is in one of the networks. */
export function addressAllowed(address: string | undefined, networks: readonly Range[]): boolean {
  if (!address || !ipaddr.isValid(address)) return false;
  const addr = ipaddr.process(address);
  return networks.some(([net, bits]) => addr.kind() === net.kind() && addr.match(net, bits));
}

/** The network of `address` with `bits4` (IPv4) or `bits6` (IPv6) prefix bits, as "net/bits"; undefined if not an address. */
export function networkOf(address: string, bits4: number, bits6: number): string | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  const addr = ipaddr.process(address);
  const bits = addr.kind() === 'ipv4' ? bits4 : bits6;
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return `${ipaddr.fromByteArray(bytes).toString()}/${bits}`;
}

/** Every address of this machine's interfaces, as the OS reports them (IPv6 link-local with its %scope). */
export function machineAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined)
    .map((i) => i.address);
}
