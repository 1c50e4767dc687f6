// The handler contract, in one place (as CoreDNS's plugin.go): a query flows
// one way through a chain of handlers; each one answers it or passes it on.
//
// Who writes the reply:
// - a handler that answers builds a complete message for this client: flags,
//   question, records and, when the client sent one, our OPT record;
// - the forward link owns its failure: no usable answer from any link becomes
//   the last upstream's SERVFAIL/REFUSED, or our SERVFAIL with EDE 22; the
//   rebinding link may take records out of an upstream answer on its way up;
// - the cache makes each client its own copy of a stored answer (flags, aged
//   TTLs, OPT, EDE 3 when stale, one RRset for ANY over UDP);
// - the server's last step (wire.ts finishResponse) writes the client's ID and
//   its question bytes (letter case) into every answer, then cuts an answer
//   too big for the client's UDP buffer to TC. No handler writes the ID.
import type { Ede, ParsedQuery } from './wire.js';
import type { ClientIdentity } from '../identity/types.js';

/** A client's group, resolved once per query by the identify handler. */
export interface Group {
  /** Small integer id, stable for the life of a config; used in the query log. */
  index: number;
  name: string;
  /**
   * Filtering is switched off for this client for now (a network or person
   * named by a temporary change, src/changes/): the policy uses the group's
   * unfiltered form, which still blocks illegal content.
   */
  unfiltered?: boolean;
}

export interface Client {
  address: string;
  port: number;
  group: Group;
  /**
   * Who and what is at the address (src/identity/), set by the identify link
   * when known. A DoH or DoT request that carries an identifier (a device
   * token, a Chrome hash) arrives with it set, and the identify link keeps it.
   */
  identity?: ClientIdentity;
  /** The request came over DoH or DoT from outside the school's networks (dns.allowNetworks). */
  remote?: boolean;
}

/**
 * A decoded view of one incoming query: the header fields and question that
 * wire.ts decodes (ParsedQuery), plus where it came from. `wire` is the
 * client's packet as received.
 */
export interface Query extends ParsedQuery {
  transport: 'udp' | 'tcp' | 'doh' | 'dot';
  client: Client;
  wire: Buffer;
  /** performance.now() when the packet arrived, for the latency in the query log. */
  receivedAt: number;
  /** Set (after the answer) on the self-test's own queries, which carry the check token (checks/check-token.ts). */
  check?: boolean;
}

export type Action = 'allow' | 'block' | 'rewrite';

/** Why an answer was produced; `reason` is low-cardinality (fit for a metric label). */
export interface Decision {
  action: Action;
  reason: string;
  category?: string;
  listId?: string;
  /** Set on VPN / proxy / DoH / Private Relay / DoH-canary decisions, for the alerts. */
  circumvention?: boolean;
  /** For a CNAME block (reason `cname`): the target in the answer that the policy blocked. */
  target?: string;
}

export type AnswerSource = 'cache' | 'upstream' | 'policy' | 'stale' | 'error';

/**
 * An answer on its way back to the client. `wire` is a complete DNS message
 * for this client and its own buffer: the server patches it in place (ID and
 * question case, wire.ts `finishResponse`) and fits it to the transport, so
 * handlers never write the ID. Never hand two clients the same buffer.
 */
export interface Answer {
  wire: Buffer;
  rcode: number;
  source: AnswerSource;
  decision?: Decision;
  /** Name of the internet link that produced it, for upstream answers. */
  link?: string;
  /**
   * The Extended DNS Error of an answer we made up, also when this client's
   * copy has no OPT record to carry it: a handler that makes other clients
   * their copies of this answer (the cache, for queries in flight) needs it.
   */
  ede?: Ede;
  /**
   * Lower-case targets of the CNAME records in the answer section, in order,
   * when there are any. Filled once when an upstream answer is parsed (and kept
   * in the cache), so the policy can inspect CNAME chains without decoding.
   */
  cnames?: string[];
}

export type Next = (q: Query) => Answer | Promise<Answer>;

/**
 * A link in the chain. Returning an Answer synchronously is allowed and is the
 * fast path (cache hits, blocks): no promise is created for them.
 */
export interface Handler {
  resolve(q: Query, next: Next): Answer | Promise<Answer>;
}
