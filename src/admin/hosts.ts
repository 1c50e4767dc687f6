// Which Host headers the admin UI answers: its configured names
// (admin.hostnames), its listen address, and `localhost` when it listens on
// loopback or on every address. Anything else gets 421 Misdirected Request
// (RFC 9110 §15.5.20): a page on a rebinding name (evil.example resolving to
// this box, the DNS-rebinding attack) or a forged Host reaches nothing. The
// block page is a separate server and answers any Host on purpose.
import ipaddr from 'ipaddr.js';
import { machineAddresses } from '../util/networks.js';
import { parseListen } from './server.js';

/** A Host name as compared: lower case, no brackets (IPv6), no trailing dot, IPv6 in its one short form. */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return ipaddr.isValid(h) && h.includes(':') ? ipaddr.parse(h).toString() : h;
}

const isWildcard = (ip: string) => ip === '0.0.0.0' || ip === '::';

/** This machine's interface addresses (the names a client can use for a wildcard listener). */
const localAddresses = () => machineAddresses().map((a) => normaliseHost(a.split('%')[0]));

const REFRESH_MS = 60_000;

/**
 * A test for the hostname of a request (no port). `listen` is admin.listen;
 * `hostnames` admin.hostnames.
 */
export function hostChecker(listen: string, hostnames: readonly string[], now: () => number = Date.now): (hostname: string) => boolean {
  const listenHost = normaliseHost(parseListen(listen).host);
  const allowed = new Set(hostnames.map(normaliseHost));
  allowed.add(listenHost);
  const wildcard = isWildcard(listenHost);
  if (wildcard || ipaddr.parse(listenHost).range() === 'loopback') allowed.add('localhost');
  // Listening on every address: any address of this machine is the listen address.
  let local = new Set(wildcard ? localAddresses() : []);
  let readAt = now();
  return (hostname) => {
    const host = normaliseHost(hostname);
    if (allowed.has(host)) return true;
    if (!wildcard || !ipaddr.isValid(host)) return false;
    if (!local.has(host) && now() - readAt > REFRESH_MS) {
      // An address added since (DHCP, a new interface); read again, at most once a minute.
      local = new Set(localAddresses());
      readAt = now();
    }
    return local.has(host);
  };
}
