// Reverse DNS as an identity source: the PTR name of a client address, asked
// of the school's own DNS server (the domain controller registers its
// domain-joined machines there). Nothing on the query path waits for it: the
// DNS server's observer calls notice() after the answer is sent, which costs
// one Map lookup for an address already known or asked; new addresses are
// queued and looked up a few at a time. A name is kept for its TTL (bounded
// by minTtlSeconds/maxTtlSeconds), the lack of one for negativeTtlSeconds;
// then the next query from that address asks again.
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import ipaddr from 'ipaddr.js';
import type { Logger } from '../log.js';
import type { ReverseDnsConfig } from './config.js';
import { cleanHostName } from './names.js';

/** Addresses waiting for a look-up; beyond this, new ones wait for the next query from them. */
const QUEUE_MAX = 10_000;
/** Addresses remembered; past this (spoofed sources, say) the memory starts again, as identify's memo does. */
const KNOWN_MAX = 100_000;

export interface ReverseDnsStats {
  lookups: number;
  names: number;
  noName: number;
  failures: number;
}

export interface PtrResult {
  address: string;
  /** The PTR name, cleaned; undefined when there is none. */
  name?: string;
  /** ms since the epoch when it should be asked again. */
  expiresAt: number;
}

export class ReverseDns {
  readonly stats: ReverseDnsStats = { lookups: 0, names: 0, noName: 0, failures: 0 };
  /** Address → when its answer (or its pending look-up) stops counting. */
  private readonly known = new Map<string, number>();
  private readonly queue: string[] = [];
  private inflight = 0;
  private socket: dgram.Socket | undefined;
  private readonly waiting = new Map<number, { name: string; done: (answer: dnsPacket.Packet | undefined) => void }>();
  private readonly networks: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  private readonly server: { host: string; port: number };
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: ReverseDnsConfig,
    private readonly onResult: (result: PtrResult) => void,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.networks = config.networks.map((n) => ipaddr.parseCIDR(n));
    const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(config.server)!;
    this.server = { host: m[1], port: Number(m[2]) };
  }

  async start(): Promise<void> {
    const socket = dgram.createSocket(this.server.host.includes(':') ? 'udp6' : 'udp4');
    socket.on('message', (msg, from) => this.onMessage(msg, from));
    socket.on('error', (err) => this.logger.warn({ err }, 'reverse DNS socket error'));
    await new Promise<void>((r) => socket.bind(0, () => r()));
    this.socket = socket;
    // Forget answers whose time is over, so the next query from the address asks again.
    this.sweeper = setInterval(() => {
      const now = this.now();
      for (const [address, until] of this.known) if (until <= now) this.known.delete(address);
    }, 10_000);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.socket?.close();
    this.socket = undefined;
    for (const w of this.waiting.values()) w.done(undefined);
    this.waiting.clear();
  }

  /** A query came from this address (called after its answer was sent). Memory only. */
  notice(address: string): void {
    if (this.known.has(address)) return;
    if (this.known.size >= KNOWN_MAX) this.known.clear();
    // Until the look-up ends; an address outside the networks is remembered as never to ask.
    this.known.set(address, this.inScope(address) ? this.now() + this.config.timeoutMs * 2 : Infinity);
    if (this.known.get(address) === Infinity || this.queue.length >= QUEUE_MAX) return;
    this.queue.push(address);
    this.pump();
  }

  private inScope(address: string): boolean {
    try {
      const ip = ipaddr.process(address);
      return this.networks.some((n) => n[0].kind() === ip.kind() && ip.match(n));
    } catch {
      return false;
    }
  }

  private pump(): void {
    while (this.inflight < this.config.concurrency && this.queue.length > 0 && this.socket) {
      const address = this.queue.shift()!;
      this.inflight++;
      void this.lookup(address).finally(() => {
        this.inflight--;
        this.pump();
      });
    }
  }

  /** Ask for one address's PTR now (tests, and the queue). */
  async lookup(address: string): Promise<PtrResult | undefined> {
    this.stats.lookups++;
    const name = reverseName(address);
    const answer = await this.ask(name);
    const now = this.now();
    if (!answer) {
      this.stats.failures++;
      // Try again after the negative time, without telling the map anything new.
      this.known.set(address, now + this.config.negativeTtlSeconds * 1000);
      return undefined;
    }
    const ptr = (answer.answers ?? []).find((a) => a.type === 'PTR' && a.name.toLowerCase() === name) as
      { data: string; ttl?: number } | undefined;
    const host = ptr ? cleanHostName(ptr.data) : undefined;
    let ttl: number;
    if (host) {
      this.stats.names++;
      ttl = Math.min(this.config.maxTtlSeconds, Math.max(this.config.minTtlSeconds, ptr!.ttl ?? 0));
    } else {
      this.stats.noName++;
      ttl = this.config.negativeTtlSeconds;
    }
    const result = { address, name: host, expiresAt: now + ttl * 1000 };
    this.known.set(address, result.expiresAt);
    this.onResult(result);
    return result;
  }

  private ask(name: string): Promise<dnsPacket.Packet | undefined> {
    return new Promise((resolve) => {
      const socket = this.socket;
      if (!socket) return resolve(undefined);
      let id = randomInt(0, 65_536);
      while (this.waiting.has(id)) id = (id + 1) & 0xffff;
      const timer = setTimeout(() => finish(undefined), this.config.timeoutMs);
      const finish = (answer: dnsPacket.Packet | undefined) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(answer);
      };
      this.waiting.set(id, { name, done: finish });
      const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'PTR', name }] });
      socket.send(query, this.server.port, this.server.host, (err) => {
        if (err) finish(undefined);
      });
    });
  }

  private onMessage(msg: Buffer, from: dgram.RemoteInfo): void {
    if (from.port !== this.server.port) return;
    let packet: dnsPacket.Packet;
    try {
      packet = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const w = packet.id === undefined ? undefined : this.waiting.get(packet.id);
    // An answer must match the question we asked (as CoreDNS's forward checks).
    if (!w || packet.type !== 'response' || packet.questions?.[0]?.name.toLowerCase() !== w.name) return;
    const rcode = (packet as { rcode?: string }).rcode;
    if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return w.done(undefined);
    w.done(packet);
  }
}

/** 10.1.2.3 → 3.2.1.10.in-addr.arpa; IPv6 → its nibbles reversed under ip6.arpa (RFC 3596). */
export function reverseName(address: string): string {
  const ip = ipaddr.process(address);
  if (ip.kind() === 'ipv4') return [...ip.toByteArray()].reverse().join('.') + '.in-addr.arpa';
  const nibbles = ip.toByteArray().flatMap((b) => [b >> 4, b & 15]);
  return (
    nibbles
      .reverse()
      .map((n) => n.toString(16))
      .join('.') + '.ip6.arpa'
  );
}
