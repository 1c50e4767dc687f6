// What identity costs on the query path: cache-hit throughput (dnsperf) of
// two Gatehouse services in the same run, one with identity off and one
// knowing 20,000 identities (a DHCP lease file of 20,000 leases, and the
// benchmark's own address signed in over RADIUS as a roster pupil, so every
// query takes the identity hit, the person's group and the policy of that
// group). The runs alternate (off, on, on, off, …) so a noisy neighbour
// shows as a spread, and the medians (and the bests) are compared. Target: identity on
// keeps at least 97% of identity-off throughput.
//
//   npm run build && npx tsx bench/identity.ts [--seconds 5] [--rounds 7]
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startNsd, zone } from '../test/helpers/nsd.js';
import { findProgram } from '../test/helpers/programs.js';
import { parseConfig } from '../src/config.js';
import { IdentityMap } from '../src/identity/map.js';
import { GroupIdentifier, IdentifyHandler } from '../src/resolver/identify.js';
import type { Query } from '../src/resolver/types.js';
import { cpuMs } from './proc.js';
import { seedIdentities, startGatehouse } from './school.js';
import { dnsperf } from './dnsperf.js';
import { waitForAnswer } from './peers.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '7' } } });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const IDENTITIES = 20_000;

for (const p of ['nsd', 'dnsperf']) {
  if (!findProgram(p)) {
    console.error(`bench needs ${p}: apt-get install nsd dnsperf`);
    process.exit(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gh-bench-identity-'));
const children: ChildProcess[] = [];
const names = Array.from({ length: 2000 }, (_, i) => `host${i}.bench.test`);

/** Queries per second at full speed. */
const fullSpeed = (port: number, file: string, secs: number) => dnsperf({ port, file, seconds: secs }).qps;

/** Queries answered by a run at a fixed rate. */
const completed = (port: number, file: string, secs: number, rate: number) => dnsperf({ port, file, seconds: secs, rate }).completed;

async function main(): Promise<void> {
  const nsd = await startNsd({
    'bench.test': zone(
      'bench.test',
      names.map((n, i) => `${n}. IN A 198.18.${(i >> 8) & 255}.${i & 255}`),
    ),
  });
  const queries = join(dir, 'queries.txt');
  writeFileSync(queries, names.map((n) => `${n} A`).join('\n') + '\n');
  const gamblingList = join(dir, 'gambling.txt');
  writeFileSync(gamblingList, 'casino.bench.test\n');
  const servers: { name: string; port: number; pid: number }[] = [];
  for (const identity of [false, true]) {
    const label = identity ? 'identity-on' : 'identity-off';
    const dataDir = join(dir, `data-${label}`);
    mkdirSync(dataDir, { recursive: true });
    const leases = identity ? seedIdentities(dataDir, IDENTITIES) : '';
    const file = join(dir, `gatehouse-${label}.yaml`);
    writeFileSync(
      file,
      [
        // The rate limiter off: one dnsperf client far exceeds a pupil's limit, and it is not what this measures.
        'dns: { listen: ["127.0.0.1:0"], rateLimit: { enabled: false } }',
        `links: [{ name: primary, upstreams: ["udp://127.0.0.1:${nsd.port}"], timeoutMs: 1500 }]`,
        'cache: { maxEntries: 100000 }',
        'logging: { level: error }',
        // The query log off in both: its writer thread's CPU would bury the difference measured here.
        `store: { path: ${join(dataDir, 'gatehouse.db')}, queryLog: false }`,
        'admin: { listen: "127.0.0.1:0", blockPage: { enabled: false } }',
        'checks: { schedule: "" }',
        'categories:',
        '  - { id: adult, name: Adult, keywords: ["porn", "xxx"] }',
        '  - { id: gambling, name: Gambling }',
        `lists: [{ id: gambling-list, category: gambling, source: "file:${gamblingList}", format: domains }]`,
        'groups:',
        // Identity off: the client's network is the pupils'. On: the network is staff's, and the person makes it pupils.
        `  - { name: pupils, networks: [${identity ? '"10.10.0.0/16"' : '"127.0.0.0/8"'}], block: [adult, gambling] }`,
        `  - { name: staff, networks: [${identity ? '"127.0.0.0/8"' : '"10.20.0.0/16"'}], block: [adult] }`,
        '  - { name: guests, default: true, block: [adult, gambling], safeSearch: { google: true, youtube: strict } }',
        ...(identity
          ? [`identity: { dhcp: [{ format: dnsmasq, path: ${leases} }], groups: [{ orgUnit: /Students, group: pupils }] }`]
          : []),
      ].join('\n'),
    );
    const g = await startGatehouse(label, file, dataDir);
    children.push(g.child);
    servers.push({ name: identity ? `identity on (${IDENTITIES})` : 'identity off', port: g.port, pid: g.pid });
  }
  for (const s of servers) await waitForAnswer(s.port, names[0], 30_000);
  // Let the lease file be read (20,000 leases, in slices) before measuring.
  await new Promise((r) => setTimeout(r, 3000));
  // Both must filter 127.0.0.1 as a pupil (off: by network; on: by the signed-in person on a staff network).
  const { ask } = await import('../test/helpers/client.js');
  for (const s of servers) {
    const r = await ask(s.port, 'www.casino.bench.test', 'A', { timeoutMs: 2000 });
    if (r.addresses[0] !== '127.0.0.1') throw new Error(`${s.name}: 127.0.0.1 is not filtered as a pupil (${JSON.stringify(r)})`);
  }
  for (const s of servers) fullSpeed(s.port, queries, 2);

  console.log(`Cache hits: dnsperf -c 1 -q 200, ${names.length} names, ${seconds} s a run, ${rounds} rounds alternating`);
  const results = new Map<string, number[]>(servers.map((s) => [s.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? servers : [...servers].reverse()) results.get(s.name)!.push(fullSpeed(s.port, queries, seconds));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (const [name, qps] of results)
    console.log(
      `  ${name.padEnd(22)} ${qps.map((q) => q.toFixed(0).padStart(8)).join(' ')}   median ${median(qps).toFixed(0)}   best ${Math.max(...qps).toFixed(0)} q/s`,
    );
  const [off, on] = servers.map((s) => results.get(s.name)!);
  const pct = (a: number, b: number) => ((100 * a) / b).toFixed(1);
  console.log(
    `  identity on keeps ${pct(median(on), median(off))}% of identity-off throughput by median, ${pct(Math.max(...on), Math.max(...off))}% by best (target: at least 97%)`,
  );

  // CPU per query at a fixed rate moves far less with the neighbours' load than throughput does.
  const rate = 20_000;
  console.log(`\nCPU time per answered query at a fixed ${rate} q/s (dnsperf -Q), ${seconds} s a run, ${rounds} rounds alternating:`);
  const cpu = new Map<string, number[]>(servers.map((s) => [s.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? servers : [...servers].reverse()) {
      const before = cpuMs(s.pid);
      const n = completed(s.port, queries, seconds, rate);
      cpu.get(s.name)!.push(((cpuMs(s.pid) - before) * 1000) / n);
    }
  }
  for (const [name, us] of cpu)
    console.log(`  ${name.padEnd(22)} ${us.map((u) => u.toFixed(2).padStart(6)).join(' ')}   median ${median(us).toFixed(2)} µs a query`);
  const [cpuOff, cpuOn] = servers.map((s) => median(cpu.get(s.name)!));
  console.log(`  identity on uses ${pct(cpuOn, cpuOff)}% of identity-off CPU a query (budget: 103%)`);
  await nsd.stop();
  linkCost();
}

/**
 * The identify link alone, in this process (steadier than dnsperf on a busy
 * machine): CPU time per call with no identity, and with 20,000 identities
 * where every call is a hit that moves the client to the person's group.
 */
function linkCost(): void {
  const config = parseConfig(
    'links: [{ name: p, upstreams: ["udp://127.0.0.1:53"] }]\ngroups: [{ name: pupils, networks: ["10.10.0.0/16"] }, { name: staff, networks: ["127.0.0.0/8"] }, { name: guests, default: true }]',
  );
  const groups = new GroupIdentifier(config);
  const ctx = { person: () => ({ user: 'p', group: 'pupils' }), deviceName: () => undefined, namedByAddress: () => undefined };
  const map = new IdentityMap(ctx);
  const addresses = Array.from({ length: IDENTITIES }, (_, i) => `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  for (const [i, address] of addresses.entries())
    map.set({ source: 'radius', address, personId: i, origin: 'bench', updatedAt: 0, expiresAt: Infinity });
  const answer = { wire: Buffer.alloc(0), rcode: 0, source: 'cache' } as const;
  const next = () => answer;
  const queries = addresses.map((address) => ({ client: { address, port: 1, group: groups.all[0] } }) as unknown as Query);
  const time = (link: IdentifyHandler) => {
    const calls = 2_000_000;
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) link.resolve(queries[i % queries.length], next);
    const used = process.cpuUsage(start);
    return ((used.user + used.system) * 1000) / calls;
  };
  const empty = new IdentityMap(ctx);
  const offLink = new IdentifyHandler(groups, { personFirst: true, lookup: (a) => empty.lookup(a) });
  const onLink = new IdentifyHandler(groups, { personFirst: true, lookup: (a) => map.lookup(a) });
  time(offLink);
  time(onLink);
  const [a, b] = [Math.min(time(offLink), time(offLink)), Math.min(time(onLink), time(onLink))];
  console.log(`\nThe identify link alone (CPU ns a call, best of 2 × 2,000,000 calls over ${IDENTITIES} addresses):`);
  console.log(
    `  identity off ${a.toFixed(0)} ns   identity on (every call a hit, person's group) ${b.toFixed(0)} ns   difference ${(b - a).toFixed(0)} ns`,
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    setTimeout(() => rmSync(dir, { recursive: true, force: true }), 1000);
  });
