// Who may ask, and how fast: the check the DNS server makes on every packet
// before it decodes it or builds a query (so a turned-away packet costs one
// map look-up and a few numbers, no allocation).
//
// - dns.allowNetworks: an appliance put on the internet by mistake must not be
//   an open resolver. Other sources get REFUSED, as unbound's access-control
//   "refuse" (its default for unlisted sources).
// - dns.rateLimit: a token bucket per client address and one per network
//   (IPv4 /24, IPv6 /56 by default), as dnsdist's MaxQPSIPRule (qps, burst,
//   v4/v6 masks) and unbound's ip-ratelimit. Over the limit a UDP query gets
//   an empty answer with TC=1 (dnsdist's TCAction): a real client retries over
//   TCP, and a flood with spoofed sources gains nothing, since the answer is no
//   bigger than the query. A TCP query over the limit gets REFUSED: TCP sources
//   cannot be spoofed, so the answer reaches the real client, which stops at
//   once; a drop would only make it retry and hold its connection.
//
// Records live in bounded maps. A timer, off the query path, drops those idle
// long enough for their bucket to be full again and reports, once per
// `reportSeconds`, every client and network that went over the limit with the
// number of queries turned away: the service log and an IT alert carry that
// summary instead of one query-log row per excess query.
import type { Config } from '../config.js';
import { addressAllowed, networkOf, parseNetworks, type Range } from '../util/networks.js';

export const ADMIT = 0;
export const NOT_ALLOWED = 1;
export const RATE_LIMITED = 2;
/** DoH/DoT only (checkEncrypted): admitted from outside dns.allowNetworks on the identity the request carries. */
export const ADMIT_REMOTE = 3;
export type Verdict = typeof ADMIT | typeof NOT_ALLOWED | typeof RATE_LIMITED;
export type EncryptedVerdict = Verdict | typeof ADMIT_REMOTE;

/** Loopback, link-local, RFC 1918 and ULA: the networks a school's own devices ask from. */
export const LOCAL_NETWORKS = [
  '127.0.0.0/8',
  '::1/128',
  '169.254.0.0/16',
  'fe80::/10',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
] as const;

class Bucket {
  tokens: number;
  last: number;
  /** Queries turned away since the last report. */
  excess = 0;

  constructor(
    readonly key: string,
    /** Tokens added per millisecond. */
    private readonly perMs: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Take one token; false when empty. */
  take(now: number): boolean {
    let tokens = this.tokens;
    if (now > this.last) {
      tokens += (now - this.last) * this.perMs;
      if (tokens > this.burst) tokens = this.burst;
      this.last = now;
    }
    if (tokens >= 1) {
      this.tokens = tokens - 1;
      return true;
    }
    this.tokens = tokens;
    this.excess++;
    return false;
  }

  /** Full again by `now`, with nothing to report: safe to forget. */
  idle(now: number): boolean {
    return this.excess === 0 && this.tokens + (now - this.last) * this.perMs >= this.burst;
  }
}

/** One source address: its own bucket and its network's (both null when it is not limited). */
interface Client {
  own: Bucket | null;
  net: Bucket | null;
}

export interface AdmissionStats {
  notAllowed: number;
  rateLimitedUdp: number;
  rateLimitedTcp: number;
  /** DoH/DoT requests from outside dns.allowNetworks without a known identity (HTTP 403, DoT REFUSED). */
  remoteRefused: number;
  /** DoH/DoT requests over the rate limit (of their address inside, of their identity outside). */
  rateLimitedEncrypted: number;
  /** Clients and networks over the limit in the last report period. */
  limitedClients: number;
}

/** One entry of a report: a client address or a network that went over its limit. */
export interface LimitedSource {
  source: string;
  /** identity: a device or person over DoH/DoT from outside the school (source is its key, e.g. "device 12"). */
  kind: 'client' | 'network' | 'identity';
  excess: number;
  periodSeconds: number;
}

type RateLimitConfig = Config['dns']['rateLimit'];

/** How often idle records are dropped. */
const SWEEP_MS = 10_000;
/** Addresses remembered as not allowed, before that memo starts again. */
const DENIED_MEMO = 65_536;

export class Admission {
  private clients = new Map<string, Client>();
  /** Buckets of identities asking from outside the school's networks over DoH/DoT, by identity key. */
  private identities = new Map<string, Bucket>();
  private networks = new Map<string, Bucket>();
  private denied = new Set<string>();
  private allow: Range[] = [];
  private exempt: Range[] = [];
  private limit!: RateLimitConfig;
  /** Shared by new clients once the maps are full, so memory stays bounded. */
  private overflow: Client | null = null;
  private timer: NodeJS.Timeout | undefined;
  private lastReport = 0;
  readonly stats: AdmissionStats = {
    notAllowed: 0,
    rateLimitedUdp: 0,
    rateLimitedTcp: 0,
    remoteRefused: 0,
    rateLimitedEncrypted: 0,
    limitedClients: 0,
  };

  constructor(
    config: Config,
    private readonly onReport: (limited: LimitedSource[]) => void = () => undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.configure(config);
  }

  /** New settings (SIGHUP): every record starts again. */
  configure(config: Config): void {
    const { allowNetworks, rateLimit } = config.dns;
    this.allow = parseNetworks(allowNetworks ?? [...LOCAL_NETWORKS, ...config.groups.flatMap((g) => g.networks)]);
    this.exempt = parseNetworks(rateLimit.exempt);
    this.limit = rateLimit;
    this.clients = new Map();
    this.networks = new Map();
    this.identities = new Map();
    this.denied = new Set();
    const t = this.now();
    this.overflow = rateLimit.enabled
      ? { own: new Bucket('(untracked clients)', rateLimit.networkQps / 1000, rateLimit.networkBurst, t), net: null }
      : { own: null, net: null };
    this.lastReport = t;
    if (this.timer) this.start(); // reportSeconds may have changed
  }

  /** Start the sweep and report timer. */
  start(): void {
    this.stop();
    this.timer = setInterval(() => this.sweep(), Math.min(SWEEP_MS, this.limit.reportSeconds * 1000));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The hot path: may this packet from `address` be answered? `now` is performance.now(). */
  check(address: string, udp: boolean, now: number): Verdict {
    let client = this.clients.get(address);
    if (client === undefined) {
      if (this.denied.has(address)) {
        this.stats.notAllowed++;
        return NOT_ALLOWED;
      }
      client = this.track(address, now);
      if (client === undefined) {
        this.stats.notAllowed++;
        return NOT_ALLOWED;
      }
    }
    const own = client.own;
    if (own === null) return ADMIT;
    if (own.take(now)) {
      const net = client.net;
      if (net === null || net.take(now)) return ADMIT;
    }
    if (udp) this.stats.rateLimitedUdp++;
    else this.stats.rateLimitedTcp++;
    return RATE_LIMITED;
  }

  /**
   * The hot path of DoH and DoT (doh.ts, dot.ts). Inside the school's networks
   * a request is limited by its address, as over UDP and TCP, whatever
   * identity it carries. From outside, only a request with a known identity
   * (`identityKey`: a device token, a Chrome hash that matched) is answered,
   * limited per identity with the same qps and burst as a client address; one
   * without is NOT_ALLOWED and counted (the server answers 403 or REFUSED,
   * the same for an unknown identifier as for none).
   */
  checkEncrypted(address: string, identityKey: string | undefined, now: number): EncryptedVerdict {
    let client = this.clients.get(address);
    if (client === undefined && !this.denied.has(address)) client = this.track(address, now);
    if (client !== undefined) {
      const own = client.own;
      if (own === null || (own.take(now) && (client.net === null || client.net.take(now)))) return ADMIT;
      this.stats.rateLimitedEncrypted++;
      return RATE_LIMITED;
    }
    if (identityKey === undefined) {
      this.stats.remoteRefused++;
      return NOT_ALLOWED;
    }
    const limit = this.limit;
    if (!limit.enabled) return ADMIT_REMOTE;
    let bucket = this.identities.get(identityKey);
    if (bucket === undefined) {
      if (this.identities.size >= limit.maxTracked) this.sweepIdle(now);
      bucket = this.identities.size >= limit.maxTracked ? this.overflow!.own! : new Bucket(identityKey, limit.qps / 1000, limit.burst, now);
      if (bucket !== this.overflow!.own) this.identities.set(identityKey, bucket);
    }
    if (bucket.take(now)) return ADMIT_REMOTE;
    this.stats.rateLimitedEncrypted++;
    return RATE_LIMITED;
  }

  /** First packet from an address: allowed? limited by which buckets? Undefined when not allowed. */
  private track(address: string, now: number): Client | undefined {
    if (!addressAllowed(address, this.allow)) {
      if (this.denied.size >= DENIED_MEMO) this.denied.clear();
      this.denied.add(address);
      return undefined;
    }
    const limit = this.limit;
    let client: Client;
    if (!limit.enabled || addressAllowed(address, this.exempt)) client = { own: null, net: null };
    else {
      if (this.clients.size >= limit.maxTracked || this.networks.size >= limit.maxTracked) this.sweepIdle(now);
      if (this.clients.size >= limit.maxTracked || this.networks.size >= limit.maxTracked) return this.overflow!;
      const netKey = networkOf(address, limit.networkPrefix4, limit.networkPrefix6) ?? address;
      let net = this.networks.get(netKey);
      if (net === undefined) this.networks.set(netKey, (net = new Bucket(netKey, limit.networkQps / 1000, limit.networkBurst, now)));
      client = { own: new Bucket(address, limit.qps / 1000, limit.burst, now), net };
    }
    this.clients.set(address, client);
    return client;
  }

  /** Off the query path: drop idle records, and report once a period. */
  sweep(): void {
    const now = this.now();
    if (now - this.lastReport >= this.limit.reportSeconds * 1000) this.report(now);
    this.sweepIdle(now);
  }

  private sweepIdle(now: number): void {
    // Unlimited records (exempt, or no rate limit) cost a re-check to rebuild: keep them while there is room.
    const crowded = this.clients.size > this.limit.maxTracked / 2;
    for (const [address, c] of this.clients) if (c.own === null ? crowded : c.own.idle(now)) this.clients.delete(address);
    for (const [key, b] of this.networks) if (b.idle(now)) this.networks.delete(key);
    for (const [key, b] of this.identities) if (b.idle(now)) this.identities.delete(key);
  }

  private report(now: number): void {
    const periodSeconds = Math.round((now - this.lastReport) / 1000);
    this.lastReport = now;
    const limited: LimitedSource[] = [];
    const collect = (b: Bucket | null | undefined, kind: LimitedSource['kind']) => {
      if (!b || b.excess === 0) return;
      limited.push({ source: b.key, kind, excess: b.excess, periodSeconds });
      b.excess = 0;
    };
    for (const c of this.clients.values()) collect(c.own, 'client');
    collect(this.overflow?.own, 'client');
    for (const b of this.networks.values()) collect(b, 'network');
    for (const b of this.identities.values()) collect(b, 'identity');
    this.stats.limitedClients = limited.length;
    if (limited.length > 0) this.onReport(limited.sort((a, b) => b.excess - a.excess));
  }
}
