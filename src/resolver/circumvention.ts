// Fixed names that switch off or discover ways around the filter. They are
// answered the way the vendors document for networks that filter:
// - use-application-dns.net: NXDOMAIN tells Firefox not to turn on its own DoH.
// - mask.icloud.com, mask-h2.icloud.com: NXDOMAIN tells Apple devices that
//   iCloud Private Relay is not available on this network.
// - resolver.arpa: NODATA, so clients find no designated encrypted resolver
//   (DDR, RFC 9462: they ask for _dns.resolver.arpa SVCB).
export interface Canary {
  /** Low-cardinality reason for the decision. */
  reason: 'canary' | 'private-relay' | 'ddr';
  answer: 'nxdomain' | 'nodata';
  /** EDE text; names the mechanism, never the client. */
  text: string;
}

const CANARIES: readonly [string, Canary][] = [
  ['use-application-dns.net', { reason: 'canary', answer: 'nxdomain', text: 'Filtered: Firefox DNS-over-HTTPS canary' }],
  ['mask.icloud.com', { reason: 'private-relay', answer: 'nxdomain', text: 'Filtered: iCloud Private Relay' }],
  ['mask-h2.icloud.com', { reason: 'private-relay', answer: 'nxdomain', text: 'Filtered: iCloud Private Relay' }],
  ['resolver.arpa', { reason: 'ddr', answer: 'nodata', text: 'Filtered: encrypted resolver discovery' }],
];

/** The canary the name (or a parent) is, or undefined. Four endsWith() calls: most fail at the last character. */
export function canaryFor(name: string): Canary | undefined {
  for (let i = 0; i < CANARIES.length; i++) {
    const domain = CANARIES[i][0];
    if (name.endsWith(domain) && (name.length === domain.length || name.charCodeAt(name.length - domain.length - 1) === 46)) {
      return CANARIES[i][1];
    }
  }
  return undefined;
}
