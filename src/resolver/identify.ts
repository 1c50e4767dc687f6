// Client address → group. The most specific network across all groups wins;
// the default group catches the rest. Results are memoised per address, since
// a school has a few thousand devices asking again and again.
import ipaddr from 'ipaddr.js';
import type { Config } from '../config.js';
import type { Answer, Group, Handler, Next, Query } from './types.js';
import type { IdentityLookup } from '../identity/service.js';

interface Network {
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
  kind: 'ipv4' | 'ipv6';
  group: Group;
}

const MEMO_LIMIT = 65_536;

export class GroupIdentifier {
  private networks: Network[] = [];
  private defaultGroup!: Group;
  private groups: Group[] = [];
  private named = new Map<string, Group>();
  private memo = new Map<string, Group>();

  constructor(config: Config) {
    this.configure(config);
  }

  configure(config: Config): void {
    this.groups = config.groups.map((g, index) => ({ index, name: g.name }));
    this.named = new Map(this.groups.map((g) => [g.name, g]));
    this.defaultGroup = this.groups[config.groups.findIndex((g) => g.default)];
    this.networks = config.groups.flatMap((g, i) =>
      g.networks.map((cidr) => {
        const range = ipaddr.parseCIDR(cidr);
        return { range, kind: range[0].kind(), group: this.groups[i] };
      }),
    );
    // Most specific first, so the first match is the best one.
    this.networks.sort((a, b) => b.range[1] - a.range[1]);
    this.memo = new Map();
  }

  get all(): readonly Group[] {
    return this.groups;
  }

  byName(name: string): Group | undefined {
    return this.named.get(name);
  }

  groupOf(address: string): Group {
    let group = this.memo.get(address);
    if (group === undefined) {
      group = this.lookup(address);
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(address, group);
    }
    return group;
  }

  private lookup(address: string): Group {
    let ip: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      ip = ipaddr.process(address); // IPv4-mapped IPv6 becomes IPv4
    } catch {
      return this.defaultGroup;
    }
    const kind = ip.kind();
    for (const n of this.networks) {
      if (n.kind === kind && ip.match(n.range)) return n.group;
    }
    return this.defaultGroup;
  }
}

/** The identify link of the chain: sets the client's group (and identity), then passes on. */
export class IdentifyHandler implements Handler {
  constructor(
    private readonly groups: GroupIdentifier,
    private readonly identities?: IdentityLookup,
  ) {}

  resolve(q: Query, next: Next): Answer | Promise<Answer> {
    const network = this.groups.groupOf(q.client.address);
    // Identity (src/identity/): who and what is at the address, from memory only.
    // A person the roster puts in a group gets that group's policy wherever they
    // connect, unless identity.precedence is "network"; unknown or expired
    // identity (or a group no longer configured) falls back to the network's.
    // A DoH/DoT request's own identifier (a device token, a Chrome hash) comes
    // set, and says more than the address; from outside the school's networks
    // the address says nothing about the group, so the identity decides it.
    const client = q.client;
    const who = client.identity ?? this.identities?.lookup(client.address);
    client.identity = who;
    const byIdentity = who?.group !== undefined && (client.remote === true || this.identities?.personFirst === true);
    client.group = byIdentity ? (this.groups.byName(who.group!) ?? network) : network;
    return next(q);
  }
}
