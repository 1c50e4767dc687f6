// Fixed names that switch off or discover ways around the filter. They are
// answered the way the vendors document for networks that filter:
// - use-application-dns.net: NXDOMAIN tells Firefox not to turn on its own DoH.
// - mask.icloud.com, mask-h2.icloud.com: NXDOMAIN tells Apple devices that
//   iCloud Private Relay is not available on this network.
// - resolver.arpa: NODATA, so clients find no designated encrypted resolver
//   (DDR, RFC 9462: they ask for _dns.resolver.arpa SVCB).
import { EDE, type Ede } from './wire.js';
import { CANARY_CATEGORY } from './categories.js';
import type { Decision } from './types.js';

export interface Canary {
  /** Low-cardinality reason for the decision. */
  reason: 'canary' | 'private-relay' | 'ddr';
  answer: 'nxdomain' | 'nodata';
  /** Names the mechanism, never the client. */
  ede: Ede;
  /** The decision on every answer to it (shared, so frozen): a block in the built-in canary category. */
  decision: Decision;
}

function canary(reason: Canary['reason'], answer: Canary['answer'], text: string): Canary {
  const decision = Object.freeze({ action: 'block', reason, category: CANARY_CATEGORY, circumvention: true }) as Decision;
  return { reason, answer, ede: { code: EDE.FILTERED, text }, decision };
}

const CANARIES: readonly [string, Canary][] = [
  ['use-application-dns.net', canary('canary', 'nxdomain', 'Filtered: Firefox DNS-over-HTTPS canary')],
  ['mask.icloud.com', canary('private-relay', 'nxdomain', 'Filtered: iCloud Private Relay')],
  ['mask-h2.icloud.com', canary('private-relay', 'nxdomain', 'Filtered: iCloud Private Relay')],
  ['resolver.arpa', canary('ddr', 'nodata', 'Filtered: encrypted resolver discovery')],
];

/** The canary the name (or a parent) is, or undefined. The last letter rules out nearly every name at once. */
export function canaryFor(name: string): Canary | undefined {
  const last = name.charCodeAt(name.length - 1);
  if (last !== 116 && last !== 109 && last !== 97) return undefined; // t (.net), m (.com), a (.arpa)
  for (let i = 0; i < CANARIES.length; i++) {
    const domain = CANARIES[i][0];
    if (name.endsWith(domain) && (name.length === domain.length || name.charCodeAt(name.length - domain.length - 1) === 46)) {
      return CANARIES[i][1];
    }
  }
  return undefined;
}
