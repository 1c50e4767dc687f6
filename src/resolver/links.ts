// Internet links in order of preference (primary, then the backup satellite
// link, …): ordered failover as in Blocky's StrictResolver. Health is passive
// (timeouts, SERVFAIL and REFUSED from real queries, but not a validator's
// DNSSEC verdict: ede.ts) and active (a probe to
// every link on a timer). A link goes down after `failAfter` consecutive
// failures; we fail back to a better link only once it has been healthy for
// `failbackAfterMs`, so a flapping primary does not flap the school with it.
import { EventEmitter } from 'node:events';
import type { Config, LinkConfig } from '../config.js';
import type { Logger } from '../log.js';
import { parseUpstreamUrl, type Upstream } from './upstream.js';
import { UdpUpstream } from './upstream-udp.js';
import { StreamUpstream } from './upstream-stream.js';
import { SystemUpstream } from './upstream-system.js';
import dnsPacket from 'dns-packet';
import { HEADER_SIZE, RCODE, isServerFailure } from './wire.js';
import { isValidationFailure } from './ede.js';

export type LinkState = 'up' | 'down';

export interface LinkSwitch {
  at: number;
  from: string;
  to: string;
  reason: string;
}

export interface LinkStatus {
  name: string;
  state: LinkState;
  current: boolean;
  upstreams: string[];
  consecutiveFailures: number;
  healthySince: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastRttMs: number | null;
  queries: number;
  failures: number;
}

export interface LinksStatus {
  current: string;
  allDown: boolean;
  links: LinkStatus[];
  lastSwitch: LinkSwitch | null;
}

/** Every link failed this query. `lastAnswer` is the last SERVFAIL/REFUSED received, if any, from `link`. */
export class AllLinksFailedError extends Error {
  readonly code = 'GH_ERR_ALL_LINKS_FAILED';
  constructor(
    message: string,
    readonly lastAnswer?: Buffer,
    readonly link?: string,
  ) {
    super(message);
  }
}

class Link {
  state: LinkState = 'up';
  consecutiveFailures = 0;
  healthySince: number | null;
  lastSuccessAt: number | null = null;
  lastError: string | null = null;
  lastRttMs: number | null = null;
  queries = 0;
  failures = 0;
  probing = false;
  /** Index of the upstream that answered last: tried first next time. */
  preferred = 0;

  constructor(
    public index: number,
    readonly config: LinkConfig,
    readonly upstreams: Upstream[],
    now: number,
  ) {
    this.healthySince = now;
  }
}

/** What the `system` upstream reports after each read of resolv.conf (LinkManager emits it as 'nameservers'). */
export interface NameserversChange {
  link: string;
  servers: string[];
  problem: string | undefined;
}

export function createUpstream(
  url: string,
  link: LinkConfig,
  system: { listen: readonly string[]; onChange?: (c: NameserversChange) => void } = { listen: [] },
): Upstream {
  if (url === 'system') {
    return new SystemUpstream({
      listen: system.listen,
      sourceAddress: link.sourceAddress,
      onChange: (servers, problem) => system.onChange?.({ link: link.name, servers, problem }),
    });
  }
  const { protocol, host, port } = parseUpstreamUrl(url);
  if (protocol === 'udp') return new UdpUpstream(url, host, port, link.sourceAddress);
  const tlsOptions = protocol === 'tls' ? { servername: link.tlsServerName ?? host, caFile: link.tlsCaFile } : undefined;
  return new StreamUpstream(url, host, port, tlsOptions, link.sourceAddress);
}

export class LinkManager extends EventEmitter {
  private links: Link[] = [];
  private currentIndex = 0;
  private lastSwitch: LinkSwitch | null = null;
  private probeTimer: NodeJS.Timeout | undefined;
  private health!: Config['health'];
  private probeQuestion!: Buffer;
  private allDownLogged = false;

  constructor(
    config: Config,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    /** How an upstream URL becomes a transport; unit tests hand in scripted ones. */
    private readonly makeUpstream: typeof createUpstream = createUpstream,
  ) {
    super();
    this.configure(config);
  }

  /** Replace links and health settings (SIGHUP). Links whose settings did not change keep their state. */
  configure(config: Config): void {
    const old = new Map(this.links.map((l) => [JSON.stringify(l.config), l]));
    const current = this.links[this.currentIndex]?.config.name;
    this.links = config.links.map((lc, i) => {
      const kept = old.get(JSON.stringify(lc));
      if (kept) {
        old.delete(JSON.stringify(lc));
        kept.index = i;
        return kept;
      }
      return new Link(
        i,
        lc,
        lc.upstreams.map((u) => this.makeUpstream(u, lc, { listen: config.dns.listen, onChange: (c) => this.onNameservers(c) })),
        this.now(),
      );
    });
    for (const gone of old.values()) for (const u of gone.upstreams) u.close();
    this.health = config.health;
    this.probeQuestion = probeQuestion(config.health.probeName, config.health.probeType);
    const again = this.links.findIndex((l) => l.config.name === current);
    this.currentIndex = again >= 0 ? again : 0;
    if (this.probeTimer) this.startProbes();
  }

  /** The `system` upstreams' latest reads of resolv.conf, by link name. */
  readonly nameservers = new Map<string, NameserversChange>();

  private onNameservers(c: NameserversChange): void {
    this.nameservers.set(c.link, c);
    this.emit('nameservers', c);
  }

  get current(): string {
    return this.links[this.currentIndex].config.name;
  }

  get currentLinkIndex(): number {
    return this.currentIndex;
  }

  linkNames(): string[] {
    return this.links.map((l) => l.config.name);
  }

  /**
   * Resolve one question: the current link first, then every other link that
   * is up, in order. Throws AllLinksFailedError when none gives a usable answer.
   */
  async query(question: Buffer, dnssecOk: boolean, checkingDisabled: boolean): Promise<{ wire: Buffer; link: string; linkIndex: number }> {
    const first = this.links[this.currentIndex];
    let lastAnswer: Buffer | undefined;
    let lastLink: string | undefined;
    let lastError = '';
    for (let i = -1; i < this.links.length; i++) {
      const link = i < 0 ? first : this.links[i];
      if (i >= 0 && (link === first || link.state === 'down')) continue;
      const result = await this.queryLink(link, question, dnssecOk, checkingDisabled);
      if (Buffer.isBuffer(result)) return { wire: result, link: link.config.name, linkIndex: link.index };
      if (result.answer) {
        lastAnswer = result.answer;
        lastLink = link.config.name;
      }
      lastError = result.error;
    }
    throw new AllLinksFailedError(`every link failed: ${lastError}`, lastAnswer, lastLink);
  }

  private async queryLink(
    link: Link,
    question: Buffer,
    dnssecOk: boolean,
    checkingDisabled: boolean,
  ): Promise<Buffer | { error: string; answer?: Buffer }> {
    let error = '';
    let answer: Buffer | undefined;
    const count = link.upstreams.length;
    for (let n = 0; n < count; n++) {
      const index = (link.preferred + n) % count;
      const upstream = link.upstreams[index];
      const started = this.now();
      link.queries++;
      try {
        const wire = await upstream.query(question, dnssecOk, checkingDisabled, link.config.timeoutMs);
        const rcode = wire[3] & 0x0f;
        // A validator's "this name failed DNSSEC" (ede.ts) is an answer, not a fault.
        if (isServerFailure(rcode) && !isValidationFailure(wire, question.length)) {
          answer = wire;
          error = `${upstream.url} answered ${rcode === RCODE.SERVFAIL ? 'SERVFAIL' : 'REFUSED'}`;
          this.recordFailure(link, error);
          continue;
        }
        link.preferred = index;
        link.lastRttMs = this.now() - started;
        this.recordSuccess(link);
        return wire;
      } catch (err) {
        error = (err as Error).message;
        this.recordFailure(link, error);
      }
    }
    return { error, answer };
  }

  private recordSuccess(link: Link): void {
    link.consecutiveFailures = 0;
    link.lastSuccessAt = this.now();
    link.healthySince ??= this.now();
    if (link.state === 'down') {
      link.state = 'up';
      this.logger.info({ link: link.config.name }, 'link is answering again');
      this.emit('state', { link: link.config.name, state: 'up' });
      // The current link is down too: take this one at once rather than wait.
      const current = this.links[this.currentIndex];
      if (current.state === 'down') this.switchTo(link.index, `${link.config.name} answers again while ${current.config.name} is down`);
    }
    this.allDownLogged = false;
  }

  private recordFailure(link: Link, error: string): void {
    link.failures++;
    link.consecutiveFailures++;
    link.lastError = error;
    link.healthySince = null;
    if (link.state === 'up' && link.consecutiveFailures >= this.health.failAfter) {
      link.state = 'down';
      this.logger.warn({ link: link.config.name, error }, 'link is down');
      this.emit('state', { link: link.config.name, state: 'down' });
      if (link.index === this.currentIndex) {
        const next = this.links.findIndex((l) => l.state === 'up');
        if (next >= 0) this.switchTo(next, `${link.config.name} failed ${link.consecutiveFailures} times: ${error}`);
        else if (!this.allDownLogged) {
          this.allDownLogged = true;
          this.logger.error('every internet link is down; answering from the cache where possible');
        }
      }
    }
  }

  private switchTo(index: number, reason: string): void {
    if (index === this.currentIndex) return;
    const change: LinkSwitch = { at: this.now(), from: this.current, to: this.links[index].config.name, reason };
    this.currentIndex = index;
    this.lastSwitch = change;
    this.logger.warn(change, 'switched internet link');
    this.emit('switch', change);
  }

  /** Probe every link on a timer; fail back once a better link has been healthy long enough. */
  startProbes(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = setInterval(() => this.probeAll(), this.health.probeIntervalMs);
    this.probeTimer.unref();
  }

  stop(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    for (const link of this.links) for (const u of link.upstreams) u.close();
  }

  /** One round of probes (exposed for tests and for `gatehouse status`). */
  probeAll(): void {
    for (const link of this.links) {
      if (link.probing) continue;
      link.probing = true;
      this.queryLink(link, this.probeQuestion, false, false)
        .catch(() => undefined)
        .finally(() => {
          link.probing = false;
          this.considerFailback();
        });
    }
  }

  private considerFailback(): void {
    const now = this.now();
    for (let i = 0; i < this.currentIndex; i++) {
      const link = this.links[i];
      if (link.state === 'up' && link.healthySince !== null && now - link.healthySince >= this.health.failbackAfterMs) {
        this.switchTo(i, `${link.config.name} healthy for ${Math.round((now - link.healthySince) / 1000)} s`);
        return;
      }
    }
  }

  status(): LinksStatus {
    return {
      current: this.current,
      allDown: this.links.every((l) => l.state === 'down'),
      lastSwitch: this.lastSwitch,
      links: this.links.map((l) => ({
        name: l.config.name,
        state: l.state,
        current: l.index === this.currentIndex,
        upstreams: l.config.upstreams,
        consecutiveFailures: l.consecutiveFailures,
        healthySince: l.healthySince,
        lastSuccessAt: l.lastSuccessAt,
        lastError: l.lastError,
        lastRttMs: l.lastRttMs,
        queries: l.queries,
        failures: l.failures,
      })),
    };
  }
}

/** The probe's question section (name, type, class IN), encoded by dns-packet. Types by name ("NS") or number. */
export function probeQuestion(name: string, type: string): Buffer {
  const recordType = (/^\d+$/.test(type) ? `UNKNOWN_${type}` : type.toUpperCase()) as dnsPacket.RecordType;
  const packet = dnsPacket.encode({ type: 'query', questions: [{ name, type: recordType, class: 'IN' }] });
  if (packet.readUInt16BE(packet.length - 4) === 0) throw new Error(`unknown record type ${type}`);
  return packet.subarray(HEADER_SIZE);
}
