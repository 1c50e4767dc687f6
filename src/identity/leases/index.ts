// The lease-file formats by name (identity.dhcp[].format).
import type { LeaseFormat } from '../config.js';
import { parseDhcpd } from './dhcpd.js';
import { parseDnsmasq } from './dnsmasq.js';
import { parseKea } from './kea.js';
import type { LeaseEvent, LeaseParseOptions } from './types.js';
import { parseWindowsCsv } from './windows.js';

export type { Lease, LeaseEvent, LeaseParseOptions } from './types.js';

export const leaseParsers: Record<LeaseFormat, (text: string, options?: LeaseParseOptions) => Generator<LeaseEvent>> = {
  kea: parseKea,
  dhcpd: parseDhcpd,
  dnsmasq: parseDnsmasq,
  'windows-csv': parseWindowsCsv,
};
