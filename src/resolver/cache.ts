// The answer cache, as dnsdist's packet cache: upstream answers are stored in
// wire format and a hit copies the bytes, writes the client's ID and letter
// case, and ages the TTLs in place. No decode, no encode.
//
// Keys: name, type, class, DO and CD bits (as CoreDNS). Negative answers are
// cached for min(SOA TTL, SOA MINIMUM) (RFC 2308); truncated answers and
// server failures never are. Identical questions in flight share one upstream
// query; entries hit often are refreshed before they expire (prefetch hides
// the satellite link's latency); expired entries are kept a while longer and
// served when every link is down (serve-stale, RFC 8767).
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.js';
import type { Answer, Handler, Next, Query } from './types.js';
import { AllLinksFailedError } from './links.js';
import { addOptions, edeOptions } from './ede.js';
import { EDE, HEADER_SIZE, OPT_SIZE, RCODE, errorResponse, readResponseLayout, writeOpt } from './wire.js';

export interface CacheEntry {
  /** The answer without its OPT record. */
  wire: Buffer;
  /** EDE options of an error answer (never cached), passed on to the client (ede.ts). */
  ede: Buffer | undefined;
  questionEnd: number;
  ttlOffsets: number[];
  ttls: number[];
  storedAt: number;
  expiresAt: number;
  staleUntil: number;
  ttl: number;
  rcode: number;
  cnames: string[] | undefined;
  link: string | undefined;
  hits: number;
  prefetching: boolean;
}

export interface CacheStats {
  entries: number;
  hits: number;
  misses: number;
  stale: number;
  prefetches: number;
}

type CacheConfig = Config['cache'];

export class CacheHandler implements Handler {
  private lru: LRUCache<string, CacheEntry> | undefined;
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  private settings!: CacheConfig;
  private udpSize = 1232;
  readonly stats: CacheStats = { entries: 0, hits: 0, misses: 0, stale: 0, prefetches: 0 };

  constructor(
    config: Config,
    private readonly now: () => number = Date.now,
  ) {
    this.configure(config);
  }

  /** New settings (SIGHUP). The entries survive unless the size changes. */
  configure(config: Config): void {
    const size = config.cache.maxEntries;
    if (!this.lru || this.settings.maxEntries !== size) this.lru = size > 0 ? new LRUCache({ max: size }) : undefined;
    this.settings = config.cache;
    this.udpSize = config.dns.udpSize;
  }

  clear(): void {
    this.lru?.clear();
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  resolve(q: Query, next: Next): Answer | Promise<Answer> {
    const key = cacheKey(q);
    const entry = this.lru?.get(key);
    const now = this.now();
    if (entry !== undefined && now < entry.expiresAt) {
      this.stats.hits++;
      if (this.settings.prefetch && ++entry.hits >= this.settings.prefetchMinHits) this.maybePrefetch(entry, key, q, next, now);
      return this.answerFrom(entry, q, now, 'cache');
    }
    this.stats.misses++;
    return this.miss(q, key, entry, next);
  }

  private async miss(q: Query, key: string, stale: CacheEntry | undefined, next: Next): Promise<Answer> {
    const fresh = this.fetch(q, key, next);
    const usableStale = stale !== undefined && this.now() < stale.staleUntil ? stale : undefined;
    try {
      // RFC 8767's client response timer: with stale data in hand, wait no
      // longer than staleAnswerAfterMs for the links before answering with it.
      const entry = usableStale ? await raceTimer(fresh, this.settings.staleAnswerAfterMs) : await fresh;
      if (entry) return this.answerFrom(entry, q, this.now(), 'upstream');
    } catch (err) {
      if (!usableStale) return this.failure(q, err);
    }
    this.stats.stale++;
    return this.answerFrom(usableStale!, q, this.now(), 'stale');
  }

  /** One upstream query per key at a time; the answer is stored if it may be. */
  private fetch(q: Query, key: string, next: Next): Promise<CacheEntry> {
    let pending = this.inflight.get(key);
    if (pending) return pending;
    pending = Promise.resolve(next(q))
      .then((answer) => {
        const entry = this.entryFrom(answer, q.questionEnd);
        if (entry.expiresAt > entry.storedAt && this.lru) this.lru.set(key, entry);
        return entry;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, pending);
    return pending;
  }

  private maybePrefetch(entry: CacheEntry, key: string, q: Query, next: Next, now: number): void {
    // Refresh in the last tenth of the TTL (at least the last second), once.
    if (entry.prefetching || entry.ttl < 2 || entry.expiresAt - now > Math.max(1000, entry.ttl * 100)) return;
    entry.prefetching = true;
    this.stats.prefetches++;
    this.fetch(q, key, next).catch(() => {
      entry.prefetching = false;
    });
  }

  /** Turn an upstream answer into an entry: strip OPT, clamp TTLs, work out the lifetime. */
  private entryFrom(answer: Answer, questionEnd: number): CacheEntry {
    const raw = answer.wire;
    const layout = readResponseLayout(raw, questionEnd);
    const now = this.now();
    if (!layout) throw new MalformedAnswerError();
    let wire: Buffer;
    const { ttlOffsets, ttls } = layout;
    if (layout.optStart >= 0) {
      const cut = layout.optEnd - layout.optStart;
      wire = Buffer.concat([raw.subarray(0, layout.optStart), raw.subarray(layout.optEnd)]);
      wire.writeUInt16BE(wire.readUInt16BE(10) - 1, 10);
      for (let i = 0; i < ttlOffsets.length; i++) if (ttlOffsets[i] > layout.optStart) ttlOffsets[i] -= cut;
    } else {
      wire = Buffer.from(raw);
    }
    const s = this.settings;
    let ttl = -1; // -1: not cacheable
    if (!layout.truncated && layout.rcode === RCODE.NXDOMAIN) ttl = layout.negativeTtl;
    else if (!layout.truncated && layout.rcode === RCODE.NOERROR)
      ttl = layout.answerCount === 0 ? layout.negativeTtl : minOf(ttls, layout.answerCount);
    if (ttl >= 0) {
      const negative = layout.rcode === RCODE.NXDOMAIN || layout.answerCount === 0;
      ttl = negative ? Math.min(ttl, s.negativeMaxTtl) : Math.min(Math.max(ttl, s.minTtl), s.maxTtl);
      for (let i = 0; i < ttls.length; i++) ttls[i] = negative ? Math.min(ttls[i], ttl) : Math.min(Math.max(ttls[i], s.minTtl), s.maxTtl);
    }
    const expiresAt = now + Math.max(ttl, 0) * 1000;
    return {
      wire,
      ede: layout.rcode === RCODE.SERVFAIL || layout.rcode === RCODE.REFUSED ? edeOptions(raw, layout.optStart, layout.optEnd) : undefined,
      questionEnd,
      ttlOffsets,
      ttls,
      storedAt: now,
      expiresAt,
      staleUntil: ttl > 0 ? expiresAt + s.serveStaleSeconds * 1000 : expiresAt,
      ttl: Math.max(ttl, 0),
      rcode: layout.rcode,
      cnames: layout.cnames,
      link: answer.link,
      hits: 0,
      prefetching: false,
    };
  }

  /** The client's copy of an entry: its ID, its letter case, its flags, aged TTLs, its OPT. */
  private answerFrom(entry: CacheEntry, q: Query, now: number, source: 'cache' | 'upstream' | 'stale'): Answer {
    const stale = source === 'stale';
    const src = entry.wire;
    const ede = q.edns ? entry.ede : undefined;
    const out = Buffer.allocUnsafe(src.length + (q.edns ? OPT_SIZE : 0) + (ede ? ede.length : 0));
    src.copy(out);
    out.writeUInt16BE(q.id, 0);
    out[2] = 0x80 | (q.recursionDesired ? 0x01 : 0); // QR, opcode QUERY, not authoritative, RD as asked
    // RA, rcode; AD only to a client that set DO or AD itself (RFC 6840 §5.7, §5.8).
    const adWanted = q.dnssecOk || (q.wire[3] & 0x20) !== 0;
    out[3] = 0x80 | (src[3] & (adWanted ? 0x2f : 0x0f)) | (q.checkingDisabled ? 0x10 : 0);
    if (q.questionEnd === entry.questionEnd) q.wire.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
    const elapsed = ((now - entry.storedAt) / 1000) | 0;
    const { ttlOffsets, ttls } = entry;
    for (let i = 0; i < ttlOffsets.length; i++) {
      const left = stale ? this.settings.staleTtl : ttls[i] - elapsed;
      out.writeUInt32BE(left > 0 ? left : 0, ttlOffsets[i]);
    }
    if (q.edns) {
      writeOpt(out, src.length, this.udpSize, q.dnssecOk);
      if (ede) addOptions(out, src.length, ede);
      out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
    }
    return { wire: out, rcode: entry.rcode, source, link: entry.link, cnames: entry.cnames };
  }

  private failure(q: Query, err: unknown): Answer {
    const last = err instanceof AllLinksFailedError ? err.lastAnswer : undefined;
    if (last) {
      // Pass the upstream's own SERVFAIL / REFUSED on, as the client's copy.
      try {
        return this.answerFrom(
          this.entryFrom({ wire: last, rcode: last[3] & 0x0f, source: 'upstream' }, q.questionEnd),
          q,
          this.now(),
          'upstream',
        );
      } catch {
        /* malformed: fall through to our own SERVFAIL */
      }
    }
    const wire = errorResponse(q.wire, RCODE.SERVFAIL, {
      questionEnd: q.questionEnd,
      edns: q.edns,
      udpSize: this.udpSize,
      dnssecOk: q.dnssecOk,
      ede: { code: EDE.NO_REACHABLE_AUTHORITY, text: 'no internet link answered' },
    });
    return { wire, rcode: RCODE.SERVFAIL, source: 'error' };
  }
}

export class MalformedAnswerError extends Error {
  readonly code = 'GH_ERR_MALFORMED_ANSWER';
  constructor() {
    super('malformed answer from upstream');
  }
}

const keySuffixes = new Map<number, string>();

/** name|type for the common case; class and the DO/CD bits are added when they differ from IN/0. */
export function cacheKey(q: Query): string {
  const bits = (q.dnssecOk ? 1 : 0) | (q.checkingDisabled ? 2 : 0);
  const id = q.type * 4 + bits;
  if (q.klass !== 1) return `${q.name}|${q.type}|${q.klass}|${bits}`;
  let suffix = keySuffixes.get(id);
  if (suffix === undefined) {
    suffix = bits === 0 ? `|${q.type}` : `|${q.type}|1|${bits}`;
    if (keySuffixes.size < 4096) keySuffixes.set(id, suffix);
  }
  return q.name + suffix;
}

function minOf(values: number[], count: number): number {
  let min = Infinity;
  for (let i = 0; i < count; i++) if (values[i] < min) min = values[i];
  return min === Infinity ? 0 : min;
}

/** Resolves with the promise's value, or undefined if it takes longer than `ms`. */
function raceTimer<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
