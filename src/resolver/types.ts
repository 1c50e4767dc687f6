// The handler contract, in one place (as CoreDNS's plugin.go): a query flows
// one way through a chain of handlers; each one answers it or passes it on.
import type { ParsedQuery } from './wire.js';
import type { ClientIdentity } from '../identity/types.js';

/** A client's group, resolved once per query by the identify handler. */
export interface Group {
  /** Small integer id, stable for the life of a config; used in the query log. */
  index: number;
  name: string;
}

export interface Client {
  address: string;
  port: number;
  group: Group;
  /** Who and what is at the address (src/identity/), set by the identify link when known. */
  identity?: ClientIdentity;
}

/**
 * A decoded view of one incoming query: the header fields and question that
 * wire.ts decodes (ParsedQuery), plus where it came from. `wire` is the
 * client's packet as received.
 */
export interface Query extends ParsedQuery {
  transport: 'udp' | 'tcp';
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
 * whose ID and question may still need patching by the server (see wire.ts
 * `finishResponse`): the server writes the client's ID and fits it to the
 * transport, so handlers never need to care about either.
 */
export interface Answer {
  wire: Buffer;
  rcode: number;
  source: AnswerSource;
  decision?: Decision;
  /** Name of the internet link that produced it, for upstream answers. */
  link?: string;
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
