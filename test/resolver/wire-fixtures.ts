// Queries and upstream answers in wire form for handler unit tests: a query is
// built byte by byte (so labels may hold any byte, dots and bars included)
// and decoded by the server's own parseQuery; answers copy its question and
// carry records encoded by dns-packet.
import dnsPacket from 'dns-packet';
import { encodeRecord } from '../../src/resolver/block-answer.js';
import type { Answer, Next, Query } from '../../src/resolver/types.js';
import { CLASS_IN, FLAG_AD, FLAG_CD, TYPE_A, edeOption, parseQuery, writeOpt, type Ede } from '../../src/resolver/wire.js';

export interface QuerySpec {
  /** The name's labels; a string label is taken byte for byte (latin1), dots included. */
  labels: (string | Buffer)[];
  type?: number;
  klass?: number;
  id?: number;
  edns?: boolean;
  dnssecOk?: boolean;
  checkingDisabled?: boolean;
  authenticData?: boolean;
  transport?: 'udp' | 'tcp';
}

/** "www.example.com" as labels. */
export const labels = (name: string): string[] => (name === '' ? [] : name.split('.'));

export function queryPacket(spec: QuerySpec): Buffer {
  const name = Buffer.concat([
    ...spec.labels.map((l) => {
      const bytes = typeof l === 'string' ? Buffer.from(l, 'latin1') : l;
      return Buffer.concat([Buffer.from([bytes.length]), bytes]);
    }),
    Buffer.from([0]),
  ]);
  const edns = spec.edns ?? spec.dnssecOk ?? false;
  const out = Buffer.alloc(12 + name.length + 4 + (edns ? 11 : 0));
  out.writeUInt16BE(spec.id ?? 0x4242, 0);
  out[2] = 0x01; // RD
  out[3] = (spec.authenticData ? FLAG_AD : 0) | (spec.checkingDisabled ? FLAG_CD : 0);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(edns ? 1 : 0, 10);
  name.copy(out, 12);
  out.writeUInt16BE(spec.type ?? TYPE_A, 12 + name.length);
  out.writeUInt16BE(spec.klass ?? CLASS_IN, 12 + name.length + 2);
  if (edns) writeOpt(out, 12 + name.length + 4, 4096, spec.dnssecOk ?? false);
  return out;
}

/** The Query the server would hand the chain for this packet. */
export function wireQuery(spec: QuerySpec): Query {
  const wire = queryPacket(spec);
  const parsed = parseQuery(wire);
  if (typeof parsed === 'string') throw new Error(`parseQuery refused the test query: ${parsed}`);
  return {
    ...parsed,
    transport: spec.transport ?? 'udp',
    client: { address: '127.0.0.2', port: 5353, group: { index: 0, name: 'everyone' } },
    wire,
    receivedAt: 0,
  };
}

export interface ResponseSpec {
  rcode?: number;
  ad?: boolean;
  truncated?: boolean;
  answers?: dnsPacket.Answer[];
  authorities?: dnsPacket.Answer[];
  additionals?: dnsPacket.Answer[];
  /** An OPT record carrying this EDE, as an upstream would send it. */
  ede?: Ede;
}

/** An upstream's response to `q`: its question bytes, then the records (owner names written out). */
export function responseTo(q: Query, spec: ResponseSpec = {}): Buffer {
  const sections = [spec.answers ?? [], spec.authorities ?? [], spec.additionals ?? []].map((rrs) => rrs.map(encodeRecord));
  const option = spec.ede ? edeOption(spec.ede) : undefined;
  const opt = Buffer.alloc(spec.ede ? 11 + option!.length : 0);
  if (spec.ede) writeOpt(opt, 0, 1232, q.dnssecOk, option);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0x9999, 0); // an upstream ID, never the client's
  head[2] = 0x81 | (spec.truncated ? 0x02 : 0); // QR, RD
  head[3] = 0x80 | (spec.ad ? FLAG_AD : 0) | (spec.rcode ?? 0);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(sections[0].length, 6);
  head.writeUInt16BE(sections[1].length, 8);
  head.writeUInt16BE(sections[2].length + (spec.ede ? 1 : 0), 10);
  return Buffer.concat([head, q.wire.subarray(12, q.questionEnd), ...sections.flat(), opt]);
}

/** A stub `next`: answers every query with `make(q)` and counts the calls. */
export function stubNext(make: (q: Query) => Answer | Promise<Answer>): Next & { calls: Query[] } {
  const calls: Query[] = [];
  const next = (q: Query) => {
    calls.push(q);
    return make(q);
  };
  return Object.assign(next, { calls });
}

export const upstream = (wire: Buffer): Answer => ({ wire, rcode: wire[3] & 0x0f, source: 'upstream', link: 'primary' });

export const soa = (name: string, ttl: number, minimum: number): dnsPacket.Answer =>
  ({
    type: 'SOA',
    name,
    ttl,
    data: { mname: `ns.${name}`, rname: `admin.${name}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum },
  }) as dnsPacket.Answer;
