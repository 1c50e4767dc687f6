// Shared pieces for the policy tests: a config with three groups, a matcher
// built from a Map, queries built with dns-packet, and fake `next` handlers.
import dnsPacket from 'dns-packet';
import { vi } from 'vitest';
import { parseConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { PolicyHandler, type PolicyMatcher } from '../../src/resolver/policy.js';
import type { Answer, Query } from '../../src/resolver/types.js';

export const CONFIG_YAML = `
dns:
  udpSize: 1232
  block: { mode: address, ttl: 60, a: 10.0.0.80, aaaa: "fd00::80" }
links:
  - { name: primary, upstreams: ["udp://127.0.0.1:5300"] }
categories:
  - { id: iwf, name: "Child sexual abuse (IWF)", illegal: true, severity: critical }
  - { id: ctiru, name: "Terrorism (CTIRU)", illegal: true, severity: critical }
  - { id: adult, name: "Pornography", severity: high, keywords: ["sex", "porn*", "xxx", "cock", "hentai"] }
  - { id: self-harm, name: "Self-harm and suicide", severity: critical, keywords: ["suicide", "selfharm"] }
  - { id: violence, name: "Violence", severity: high, keywords: ["rape"] }
  - { id: gambling, name: "Gambling", severity: medium, keywords: ["casino", "betting"] }
  - { id: vpn-proxy, name: "VPN, proxy and DoH circumvention", severity: medium, circumvention: true }
  - { id: social, name: "Social networks" }
  - { id: games, name: "Games" }
groups:
  - name: pupils
    networks: ["127.0.0.2/32"]
    block: [adult, self-harm, violence, gambling, vpn-proxy, games]
    schedules:
      - block: [social]
        days: [mon, tue, wed, thu, fri]
        times: ["08:30-12:00", "13:00-15:30"]
        timezone: Europe/London
    safeSearch: { google: true, bing: true, duckduckgo: true, youtube: strict }
  - name: staff
    networks: ["127.0.0.3/32"]
    block: [adult, vpn-proxy]
    safeSearch: { google: true, bing: false, duckduckgo: false, youtube: moderate }
  - name: guests
    default: true
    block: [adult, self-harm, violence, gambling, vpn-proxy, social]
`;

export function testConfig(yaml = CONFIG_YAML): Config {
  return parseConfig(yaml, 'test.yaml');
}

/** The groups as identify numbers them: config order. */
export const GROUPS = { pupils: { index: 0, name: 'pupils' }, staff: { index: 1, name: 'staff' }, guests: { index: 2, name: 'guests' } };
export type GroupName = keyof typeof GROUPS;

/** A matcher from a plain map of domain → category ids; an entry covers its subdomains. */
export class MapMatcher implements PolicyMatcher {
  private readonly masks = new Map<string, number>();
  constructor(entries: Record<string, string[]>, config: Config) {
    const ids = config.categories.map((c) => c.id);
    for (const [domain, cats] of Object.entries(entries)) {
      this.masks.set(
        domain,
        cats.reduce((m, c) => m | (1 << ids.indexOf(c)), 0),
      );
    }
  }
  lookup(name: string): number {
    let mask = 0;
    for (let at = 0; at !== -1; at = name.indexOf('.', at) + 1 || -1) mask |= this.masks.get(name.slice(at)) ?? 0;
    return mask;
  }
}

export const LISTED: Record<string, string[]> = {
  'abuse.example': ['iwf'],
  'terror.example': ['ctiru'],
  'adult.example': ['adult'],
  'casino.example': ['gambling'],
  'vpn.example': ['vpn-proxy'],
  'social.example': ['social'],
  'game.example': ['games'],
  'roblox.com': ['games'], // the listed name an IDN look-alike imitates
  'mixed.example': ['adult', 'vpn-proxy'],
  'cdn-adult.example': ['adult'],
};

export interface QueryOptions {
  group?: GroupName;
  type?: dnsPacket.RecordType;
  /** The name as the client wrote it (letter case); q.name is its lower case. */
  wireName?: string;
  edns?: boolean;
  dnssecOk?: boolean;
  id?: number;
  rd?: boolean;
}

const TYPE_NUMBER: Partial<Record<dnsPacket.RecordType, number>> = { A: 1, CNAME: 5, MX: 15, TXT: 16, AAAA: 28 };

/** A query as wire.ts would decode it, with the packet built by dns-packet. */
export function makeQuery(name: string, opts: QueryOptions = {}): Query {
  const type = opts.type ?? 'A';
  const id = opts.id ?? 0x1234;
  const questions = [{ name: opts.wireName ?? name, type, class: 'IN' as const }];
  const flags = opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED;
  const questionEnd = dnsPacket.encode({ type: 'query', id, flags, questions }).length;
  const additionals = opts.edns
    ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: opts.dnssecOk ? dnsPacket.DNSSEC_OK : 0 } as unknown as dnsPacket.Answer]
    : [];
  const wire = dnsPacket.encode({ type: 'query', id, flags, questions, additionals });
  return {
    id,
    name: name.toLowerCase(),
    type: TYPE_NUMBER[type] ?? 0,
    klass: 1,
    questionEnd,
    edns: opts.edns ?? false,
    udpSize: opts.edns ? 4096 : 512,
    dnssecOk: opts.dnssecOk ?? false,
    checkingDisabled: false,
    recursionDesired: opts.rd !== false,
    transport: 'udp',
    client: { address: '127.0.0.2', port: 40000, group: GROUPS[opts.group ?? 'pupils'] },
    wire,
    receivedAt: 0,
  };
}

/** An upstream answer for q: one A record, plus CNAME targets as the cache reports them. */
export function upstreamAnswer(q: Query, cnames?: string[], address = '93.184.216.34'): Answer {
  const chain = cnames ?? [];
  const names = [q.name, ...chain];
  const answers: dnsPacket.Answer[] = chain.map((target, i) => ({ type: 'CNAME', name: names[i], ttl: 300, data: target }));
  if (q.type === 1) answers.push({ type: 'A', name: names[names.length - 1], ttl: 300, data: address });
  const wire = dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: q.name, type: 'A' }],
    answers,
  });
  return { wire, rcode: 0, source: 'upstream', link: 'primary', ...(cnames ? { cnames } : {}) };
}

/** A `next` that answers every query from "upstream" (synchronously, like a cache hit). */
export function fakeNext(cnamesFor: Record<string, string[]> = {}) {
  return vi.fn((q: Query): Answer => upstreamAnswer(q, cnamesFor[q.name]));
}

export interface Harness {
  policy: PolicyHandler;
  config: Config;
  clock: { now: Date };
}

export function makePolicy(opts: { config?: Config; listed?: Record<string, string[]>; now?: string } = {}): Harness {
  const config = opts.config ?? testConfig();
  const matcher = new MapMatcher(opts.listed ?? LISTED, config);
  const clock = { now: new Date(opts.now ?? '2026-01-10T12:00:00Z') }; // a Saturday: no schedule open
  const policy = new PolicyHandler({ config, matcher: () => matcher, now: () => clock.now, logger: silentLogger() });
  return { policy, config, clock };
}

/** Resolve and wait; the answer's decision summarised as "pass" (no decision), "reason" or "reason:category". */
export async function decide(policy: PolicyHandler, name: string, opts: QueryOptions = {}, next = fakeNext()): Promise<string> {
  const answer = await policy.resolve(makeQuery(name, opts), next);
  const d = answer.decision;
  if (!d) return 'pass';
  return d.category ? `${d.reason}:${d.category}` : d.reason;
}
