// Safe search: the search engines' own switch for networks that filter. The
// engine's name is answered with a CNAME to its safe-search host plus that
// host's addresses, which we get by asking the rest of the chain (cache, then
// upstream) for the safe host: the policy itself sends nothing on the network.
import dnsPacket from 'dns-packet';
import type { GroupConfig } from '../config.js';
import { AnswerBuilder, encodeAtQuestion, encodeRecord } from './block-answer.js';
import { EDE, HEADER_SIZE, RCODE, TYPE_CNAME, TYPE_OPT, type Ede } from './wire.js';
import { isPromise } from './maybe-async.js';
import type { Answer, Decision, Next, Query } from './types.js';

export type Provider = 'google' | 'bing' | 'duckduckgo' | 'youtube';

export interface SafeTarget {
  provider: Provider;
  /** The provider's safe-search host the name is pointed at. */
  host: string;
  /** RFC 8914 "Forged Answer": the answer is ours, not the provider's zone. */
  ede: Ede;
  /** Our CNAME record from the question name to `host`, encoded once. */
  cname: Buffer;
}

function target(provider: Provider, host: string, ttl: number): SafeTarget {
  const cname = encodeAtQuestion({ type: 'CNAME', name: '.', ttl, data: host });
  return { provider, host, ede: { code: EDE.FORGED_ANSWER, text: `Safe search: ${provider}` }, cname };
}

// www.google.com, google.co.uk, www.google.com.au: Google's country domains.
const GOOGLE = /^(?:www\.)?google\.(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})$/;

const BING_NAMES = ['www.bing.com'];
const DUCKDUCKGO_NAMES = ['duckduckgo.com', 'www.duckduckgo.com', 'start.duckduckgo.com'];
const YOUTUBE_NAMES = ['www.youtube.com', 'm.youtube.com', 'youtubei.googleapis.com', 'youtube.googleapis.com', 'www.youtube-nocookie.com'];

/** A group's safe-search settings, compiled to one map lookup per query. */
export class SafeSearchRules {
  readonly enabled: boolean;
  private readonly names = new Map<string, SafeTarget>();
  private readonly google: SafeTarget | null;

  /** `ttl`: of our CNAME records; short, like blocks, so a policy change applies soon. */
  constructor(settings: GroupConfig['safeSearch'], ttl: number) {
    const add = (names: string[], target: SafeTarget) => names.forEach((n) => this.names.set(n, target));
    if (settings.bing) add(BING_NAMES, target('bing', 'strict.bing.com', ttl));
    if (settings.duckduckgo) add(DUCKDUCKGO_NAMES, target('duckduckgo', 'safe.duckduckgo.com', ttl));
    if (settings.youtube !== 'off') {
      const host = settings.youtube === 'strict' ? 'restrict.youtube.com' : 'restrictmoderate.youtube.com';
      add(YOUTUBE_NAMES, target('youtube', host, ttl));
    }
    this.google = settings.google ? target('google', 'forcesafesearch.google.com', ttl) : null;
    this.enabled = this.google !== null || this.names.size > 0;
  }

  /** Where the name must be pointed, or undefined when safe search does not apply to it. */
  target(name: string): SafeTarget | undefined {
    const found = this.names.get(name);
    if (found !== undefined) return found;
    if (this.google !== null && (name.startsWith('google.') || name.startsWith('www.google.')) && GOOGLE.test(name)) {
      return this.google;
    }
    return undefined;
  }
}

const DECISION: Decision = Object.freeze({ action: 'rewrite', reason: 'safe-search' });

/**
 * The rewritten answer: our CNAME to the safe host, then the records the
 * chain returns for the safe host (same type). A CNAME query gets the CNAME alone.
 */
export function safeSearchAnswer(
  q: Query,
  target: SafeTarget,
  next: Next,
  answers: AnswerBuilder,
  udpSize: number,
): Answer | Promise<Answer> {
  const finish = (rcode: number, records: Buffer[]): Answer => ({
    wire: answers.respond(q, rcode, [target.cname, ...records], target.ede),
    rcode,
    source: 'policy',
    decision: DECISION,
  });
  if (q.type === TYPE_CNAME) return finish(0, []);
  const complete = (sub: Answer): Answer => {
    const records = recordsOf(sub.wire);
    return records === null ? finish(RCODE.SERVFAIL, []) : finish(sub.rcode, records);
  };
  const sub = next(safeHostQuery(q, target.host, udpSize));
  return isPromise(sub) ? sub.then(complete) : complete(sub);
}

/** The answer-section records of a response, re-encoded; null if it cannot be decoded. */
function recordsOf(wire: Buffer): Buffer[] | null {
  try {
    const packet = dnsPacket.decode(wire);
    return (packet.answers ?? []).filter((rr) => rr.type !== 'OPT').map(encodeRecord);
  } catch {
    return null;
  }
}

/** A query for the safe host, of the client's type, as the cache and upstream expect it. */
function safeHostQuery(q: Query, host: string, udpSize: number): Query {
  const labels = host.split('.');
  const nameLength = labels.reduce((n, l) => n + l.length + 1, 1);
  const questionEnd = HEADER_SIZE + nameLength + 4;
  const wire = Buffer.alloc(questionEnd + 11); // ID 0: the upstream query gets its own
  wire.writeUInt16BE(0x0100, 2); // RD
  wire.writeUInt16BE(1, 4); // QDCOUNT
  wire.writeUInt16BE(1, 10); // ARCOUNT: our OPT
  let at = HEADER_SIZE;
  for (const label of labels) {
    wire[at++] = label.length;
    at += wire.write(label, at, 'ascii');
  }
  wire[at++] = 0;
  wire.writeUInt16BE(q.type, at);
  wire.writeUInt16BE(q.klass, at + 2);
  at += 4;
  // OPT: root owner, type 41, our UDP size, no extended rcode, version 0, DO clear, no options.
  wire[at] = 0;
  wire.writeUInt16BE(TYPE_OPT, at + 1);
  wire.writeUInt16BE(udpSize, at + 3);
  return {
    ...q,
    name: host,
    questionEnd,
    edns: true,
    udpSize,
    dnssecOk: false,
    checkingDisabled: false,
    recursionDesired: true,
    wire,
  };
}
