// Where a V8 CPU profile (node --cpu-prof) spent its time, by stage of the
// query path, for the samples inside a time window. Each sample goes to the
// deepest frame on its stack that belongs to a known stage (so Map.get called
// from the cache counts as the cache, pushRow called from record as the query
// log's record), else to the file of its leaf frame, else to V8's own
// categories: (garbage collector), (program) (native code: the UDP addon's
// recvmmsg/sendmmsg, libuv, V8 itself), (idle).
//
//   npx tsx bench/profile-summary.ts FILE.cpuprofile [--from µs] [--to µs] [--per N]
//
// --from/--to are CLOCK_MONOTONIC microseconds (process.hrtime, the profile's
// own clock); --per divides the totals by N (queries answered in the window).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Stages of the query path and of the writer thread: [stage, file (end of the url), function names or * for any]. */
const STAGES: [string, string, string[] | '*'][] = [
  // The main thread, in the order a query meets them.
  ['UDP: batch read and reply (udp-batch.ts, JS side)', 'resolver/udp-batch.js', '*'],
  ['admission (rate limiter, allow-list)', 'resolver/admission.js', '*'],
  ['parse (header and question)', 'resolver/wire.js', ['parseQuery', 'readName', 'readNameEscaped', 'skipName', 'findQueryOpt']],
  ['finishResponse (ID, letter case, TTLs, TC)', 'resolver/wire.js', '*'],
  ['server: query object, chain call, dispatch', 'resolver/server.js', '*'],
  ['chain links (chain.ts)', 'resolver/chain.js', '*'],
  ['identify (group, identity map)', 'resolver/identify.js', '*'],
  ['identify (group, identity map)', 'identity/map.js', '*'],
  ['observers: identity notice', 'identity/service.js', ['noticeAddress']],
  ['policy (lists, keywords, schedules, safe search)', 'resolver/policy.js', '*'],
  ['policy (lists, keywords, schedules, safe search)', 'resolver/policy-state.js', '*'],
  ['policy (lists, keywords, schedules, safe search)', 'resolver/safe-search.js', '*'],
  ['policy (lists, keywords, schedules, safe search)', 'resolver/schedules.js', '*'],
  ['policy (lists, keywords, schedules, safe search)', 'resolver/exceptions.js', '*'],
  ['policy (lists, keywords, schedules, safe search)', 'resolver/circumvention.js', '*'],
  ['policy (lists, keywords, schedules, safe search)', 'resolver/help-services.js', '*'],
  ['policy (lists, keywords, schedules, safe search)', 'resolver/suffix-map.js', '*'],
  ['policy (lists, keywords, schedules, safe search)', 'resolver/wire-names.js', '*'],
  ['policy (lists, keywords, schedules, safe search)', 'lists/', '*'],
  ['block answer', 'resolver/block-answer.js', '*'],
  ['cache', 'resolver/cache.js', '*'],
  ['rebinding', 'resolver/rebinding.js', '*'],
  ['forward (links, upstream)', 'resolver/links.js', '*'],
  ['forward (links, upstream)', 'resolver/forward.js', '*'],
  ['forward (links, upstream)', 'resolver/upstream', '*'],
  ['observers: query-log record', 'resolver/observers.js', ['onAnswer', 'listIndex']],
  ['observers: check marker', 'checks/check-token.js', '*'],
  ['observers: alerts', 'alerts/', '*'],
  ['observers: block counter', 'admin/metrics.js', '*'],
  ['query log: record (columnar push)', 'store/batch.js', ['pushRow']],
  ['query log: hand-over (new batch, postMessage)', 'store/batch.js', '*'],
  ['query log: hand-over (new batch, postMessage)', 'store/query-log.js', ['postBatch', 'tick']],
  ['query log: record (columnar push)', 'store/query-log.js', '*'],
  // The writer thread.
  ['writer: interning names and clients', 'store/writer.js', ['nameId', 'clientId', 'resetCaches']],
  ['writer: shape lookup', 'store/writer.js', ['shapeId']],
  ['writer: row inserts (statement execution)', 'store/writer.js', ['insertRow', 'stage', 'flushStaged', 'insertCheckRow']],
  ['writer: rollup upserts', 'store/writer.js', ['flushAggregates', 'bump2']],
  ['writer: batch loop (sort, aggregates)', 'store/writer.js', '*'],
  ['writer: transaction, commit', 'better-sqlite3/lib/methods/transaction.js', '*'],
  ['writer: message receive (deserialise the batch)', 'store/writer-worker.js', '*'],
];

function stageOf(f: CallFrame): string | undefined {
  for (const [stage, file, fns] of STAGES) {
    if (!f.url.includes(file)) continue;
    if (fns === '*' || fns.includes(f.functionName.replace(/^.*\./, ''))) return stage;
  }
  return undefined;
}

/** Microseconds per bucket over the samples in [from, to]. */
export function summarise(p: CpuProfile, from = -Infinity, to = Infinity): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const bucketOf = new Map<number, string>();
  const bucket = (id: number): string => {
    let b = bucketOf.get(id);
    if (b !== undefined) return b;
    const leaf = byId.get(id)!.callFrame;
    for (let at: number | undefined = id; at !== undefined && b === undefined; at = parent.get(at)) b = stageOf(byId.get(at)!.callFrame);
    if (b === undefined) {
      if (leaf.functionName.startsWith('(')) b = leaf.functionName;
      else if (leaf.url === '') b = `native: ${leaf.functionName}`;
      else b = `other: ${leaf.url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '')}`;
    }
    bucketOf.set(id, b);
    return b;
  };
  const out = new Map<string, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    // A sample's time runs until the next one.
    const dt = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0;
    if (t < from || t > to) continue;
    const b = bucket(p.samples[i]);
    out.set(b, (out.get(b) ?? 0) + dt);
  }
  return out;
}

/** Microseconds per function (self time: its own code, not its callees') over the samples in [from, to]. */
export function selfTimes(p: CpuProfile, from = -Infinity, to = Infinity): Map<string, number> {
  const name = new Map(
    p.nodes.map((n) => {
      const f = n.callFrame as CallFrame & { lineNumber?: number };
      const where = f.url === '' ? '' : ` ${f.url.replace(/^.*\/(node_modules|dist)\//, '')}:${(f.lineNumber ?? 0) + 1}`;
      return [n.id, `${f.functionName || '(anonymous)'}${where}`];
    }),
  );
  const out = new Map<string, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    const dt = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0;
    if (t < from || t > to) continue;
    const k = name.get(p.samples[i])!;
    out.set(k, (out.get(k) ?? 0) + dt);
  }
  return out;
}

/** The table: bucket, µs (per query when `per` is given), share of the busy (non-idle) time. */
export function formatSummary(s: Map<string, number>, per = 1, top = 40): string {
  const busy = [...s].filter(([k]) => k !== '(idle)').reduce((a, [, v]) => a + v, 0);
  const rows = [...s].sort((a, b) => b[1] - a[1]).slice(0, top);
  const unit = per === 1 ? 'ms' : 'µs/query';
  const value = (us: number) => (per === 1 ? (us / 1000).toFixed(1) : (us / per).toFixed(3));
  return [
    `  busy ${value(busy)} ${unit}`,
    ...rows.map(
      ([k, v]) => `  ${value(v).padStart(9)} ${unit}  ${k === '(idle)' ? '     ' : `${((100 * v) / busy).toFixed(1).padStart(4)}%`}  ${k}`,
    ),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      per: { type: 'string', default: '1' },
      functions: { type: 'boolean', default: false },
    },
  });
  for (const file of positionals) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const [from, to] = [Number(values.from ?? -Infinity), Number(values.to ?? Infinity)];
    console.log(file);
    console.log(formatSummary(values.functions ? selfTimes(p, from, to) : summarise(p, from, to), Number(values.per)));
  }
}

/** One sample of `perf script -F tid,period,ip,sym,dso`: its thread, its CPU time (ns), its frames leaf first. */
interface PerfSample {
  tid: number;
  ns: number;
  frames: { sym: string; dso: string }[];
}

function* perfSamples(text: string): Generator<PerfSample> {
  let current: PerfSample | undefined;
  for (const line of text.split('\n')) {
    if (line.length === 0) {
      if (current) yield current;
      current = undefined;
    } else if (line.startsWith('\t')) {
      // "\t    7fa79c0062ab JS:*lookup file:///…/matcher.js:91:11 (/tmp/perf-1.map)"
      const m = /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(line);
      if (m && current) current.frames.push({ sym: m[1], dso: m[2] });
    } else {
      const m = /^\s*(\d+)\s+(\d+)/.exec(line);
      if (m) current = { tid: Number(m[1]), ns: Number(m[2]), frames: [] };
    }
  }
  if (current) yield current;
}

const GC =
  /v8::internal::(Heap|Scavenge|MarkCompact|MinorMarkCompact|MinorMS|ConcurrentMarking|IncrementalMarking|MemoryAllocator|Sweeper|ArrayBufferSweeper|GCTracer|ScavengerCollector|MarkingVisitor|MemoryReducer)/;

/** The bucket of one perf sample (see the file's header for the JS stages). */
function perfBucket(s: PerfSample): string {
  if (s.frames.some((f) => GC.test(f.sym))) return 'V8: garbage collection';
  if (s.frames.some((f) => f.sym.includes('SamplingEventsProcessor') || f.sym.includes('CpuProfiler'))) return 'V8: CPU profiler';
  for (const f of s.frames) {
    const js = /^JS:[*~^+]?(\S*) (\S+):\d+:\d+$/.exec(f.sym);
    const stage = js ? stageOf({ functionName: js[1], url: js[2] }) : undefined;
    if (stage) return stage;
  }
  const leaf = s.frames[0];
  if (!leaf) return 'unknown';
  if (leaf.dso.includes('kernel')) {
    for (const f of s.frames) {
      const sys = /^__(?:x64_)?sys_(\w+)$/.exec(f.sym);
      if (sys) return `kernel: ${sys[1]}`;
    }
    return s.frames.some((f) => /irq|softirq/.test(f.sym))
      ? 'kernel: interrupts, softirq (network)'
      : 'kernel: other (scheduling, page faults)';
  }
  if (s.frames.some((f) => f.dso.includes('udp_batch'))) return 'UDP addon (native, outside system calls)';
  if (s.frames.some((f) => f.dso.includes('better_sqlite3'))) return 'SQLite (no JS caller found)';
  const js = s.frames.find((f) => f.sym.startsWith('JS:'));
  if (js)
    return `JS other: ${js.sym.replace(/^JS:[*~^+]?\S* (?:file:\/\/)?(.*?)(:\d+)+$/, '$1').replace(/^.*\/(node_modules|dist)\//, '')}`;
  return `native: ${leaf.dso.replace(/^.*\//, '')}`;
}

/** CPU time (µs) by thread and bucket, from perf script's text. */
export function summarisePerf(text: string): Map<number, Map<string, number>> {
  const out = new Map<number, Map<string, number>>();
  for (const s of perfSamples(text)) {
    const byBucket = out.get(s.tid) ?? new Map<string, number>();
    out.set(s.tid, byBucket);
    const b = perfBucket(s);
    byBucket.set(b, (byBucket.get(b) ?? 0) + s.ns / 1000);
  }
  return out;
}
