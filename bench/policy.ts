// Policy benchmark: the cost of the policy handler's own work per query, with
// the example config (keywords, schedules, safe search) plus 200 exceptions,
// a matcher that holds nothing (so the lists' cost is left out) and a `next`
// that answers at once. Prints CPU nanoseconds per query for each kind of name.
//   npx tsx bench/policy.ts
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { PolicyHandler } from '../src/resolver/policy.js';
import type { Answer, Query } from '../src/resolver/types.js';

const config = loadConfig(new URL('../config/gatehouse.example.yaml', import.meta.url).pathname);
const adult = 1 << config.categories.findIndex((c) => c.id === 'adult');
const matcher = { lookup: (name: string) => (name.endsWith('blocked.example') ? adult : 0) };
const policy = new PolicyHandler({ config, matcher: () => matcher, logger: silentLogger() });
policy.setExceptions(
  Array.from(
    { length: 200 },
    (_, i) => ({ domain: `site${i}.example.org`, action: i % 2 ? 'allow' : 'deny', groups: ['pupils'] }) as const,
  ),
);

const upstream: Answer = { wire: Buffer.alloc(64), rcode: 0, source: 'cache' };
const next = () => upstream;

function query(name: string): Query {
  const wire = Buffer.alloc(12 + name.length + 2 + 4);
  wire.writeUInt16BE(1, 4);
  return {
    id: 1,
    name,
    type: 1,
    klass: 1,
    questionEnd: wire.length,
    edns: false,
    udpSize: 512,
    dnssecOk: false,
    checkingDisabled: false,
    recursionDesired: true,
    transport: 'udp',
    client: { address: '10.10.0.5', port: 5000, group: { index: 0, name: 'pupils' } },
    wire,
    receivedAt: 0,
  };
}

// Two names per case, taken in turn, so nothing is remembered from the query before.
const cases: [string, string[]][] = [
  ['allowed, plain ASCII', ['www.bbc.co.uk', 'www.bbc.com']],
  ['allowed, long name', ['a1b2.static.cdn.some-provider.example.net', 'a1b3.static.cdn.some-provider.example.net']],
  ['allowed, digits (keyword folding)', ['cdn77.example.net', 'cdn78.example.net']],
  ['allowed, punycode (skeleton)', ['xn--mnchen-3ya.de', 'xn--bcher-kva.example']],
  ['blocked by category', ['blocked.example', 'www.blocked.example']],
  ['deny exception', ['www.site10.example.org', 'www.site12.example.org']],
  ['help service (decision added)', ['www.samaritans.org', 'www.childline.org.uk']],
  ['blocked by a compound keyword', ['freeporn-videos.example', 'onlinecasino.example']],
];

for (const [label, names] of cases) {
  const qs = names.map(query);
  const n = 2_000_000;
  for (let i = 0; i < 100_000; i++) policy.resolve(qs[i & 1], next);
  // CPU time rather than wall time: the machines here are shared, and a
  // descheduled process would otherwise count someone else's work.
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) policy.resolve(qs[i & 1], next);
  const used = process.cpuUsage(start);
  const ns = ((used.user + used.system) * 1000) / n;
  console.log(`${label.padEnd(36)} ${names[0].padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/query`);
}
