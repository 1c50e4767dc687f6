// Client address → group. The most specific network across all groups wins;
// the default group catches the rest. Results are memoised per address, since
// a school has a few thousand devices asking again and again. An address in a
// network whose filtering a temporary change switched off gets its group's
// unfiltered form (Group.unfiltered), found on the same memoised look-up; so
// does a person identity puts at the address, when their filtering is off.
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
  /** The same groups, unfiltered (same index and name). */
  private offGroups: Group[] = [];
  private offNetworks: Network['range'][] = [];
  /** User names (lower case) whose filtering is switched off, wherever identity finds them. */
  private offPeople: ReadonlySet<string> = new Set();
  private memo = new Map<string, Group>();

  constructor(config: Config, unfilteredNetworks: readonly string[] = [], unfilteredPeople: readonly string[] = []) {
    this.configure(config, unfilteredNetworks, unfilteredPeople);
  }

  /**
   * `unfilteredNetworks`: networks (CIDR) whose clients have filtering switched off for now;
   * `unfilteredPeople`: user names, the same for a person identity puts at an address.
   */
  configure(config: Config, unfilteredNetworks: readonly string[] = [], unfilteredPeople: readonly string[] = []): void {
    this.groups = config.groups.map((g, index) => ({ index, name: g.name, unfiltered: false }));
    this.named = new Map(this.groups.map((g) => [g.name, g]));
    this.offGroups = config.groups.map((g, index) => ({ index, name: g.name, unfiltered: true }));
    this.offNetworks = unfilteredNetworks.map((n) => ipaddr.parseCIDR(n));
    this.offPeople = new Set(unfilteredPeople.map((p) => p.toLowerCase()));
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

  /** A group's unfiltered form (itself when it is one). */
  unfilteredOf(group: Group): Group {
    return group.unfiltered === true ? group : (this.offGroups[group.index] ?? group);
  }

  /** Whether a temporary change switched filtering off for this user name. */
  isPersonOff(user: string): boolean {
    return this.offPeople.size > 0 && this.offPeople.has(user.toLowerCase());
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
    let group = this.defaultGroup;
    for (const n of this.networks) {
      if (n.kind === kind && ip.match(n.range)) {
        group = n.group;
        break;
      }
    }
    for (const range of this.offNetworks) {
      if (range[0].kind() === kind && ip.match(range)) return this.offGroups[group.index];
    }
    return group;
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
    let group = byIdentity ? (this.groups.byName(who.group!) ?? network) : network;
    // A switch-off (src/changes/) of the client's network, or of the person identity puts there,
    // gives the group's unfiltered form: illegal content stays blocked.
    if (network.unfiltered === true || (who?.user !== undefined && this.groups.isPersonOff(who.user)))
      group = this.groups.unfilteredOf(group);
    client.group = group;
    return next(q);
  }
}
