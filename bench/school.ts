// Gatehouse as a school runs it, for the benchmarks: deploy/gatehouse.site.yaml
// with its real public lists read from ../shared/lists (file: sources in
// place of their URLs; never copied into the project), made-up stand-ins for
// the licensed IWF and CTIRU lists, 20,000 identities (DHCP leases and the
// benchmark's own address signed in over RADIUS as a roster pupil), the rate
// limiter on with limits far above the load (so every query pays for the
// check and none is limited), and every query logged. All traffic stays on
// loopback: every link forwards to the benchmark's nsd.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { openDatabase } from '../src/store/db.js';
import { waitForPorts } from '../test/helpers/ports.js';

const ROOT = join(import.meta.dirname, '..');
const SITE = join(ROOT, 'deploy/gatehouse.site.yaml');
/** The real public lists (see its README.md), beside the project checkout. */
export const SHARED_LISTS = join(ROOT, '../shared/lists');
/** Where the site config's block answers point (its dns.block.a). */
export const BLOCK_ADDRESS = '10.0.0.2';

interface ListEntry {
  id: string;
  category: string;
  source: string;
  format: string;
  refresh?: string;
}

/**
 * The file under ../shared/lists holding what a site-config URL serves
 * (its README says which upstream commit each folder is), or undefined.
 */
export function sharedFileFor(url: string): string | undefined {
  const blp = /blocklistproject\.github\.io\/Lists\/([\w-]+)\.txt$/.exec(url);
  if (blp) return join(SHARED_LISTS, 'blocklistproject', `${blp[1]}.hosts`);
  const ut1 = /ut1-blacklists\/master\/blacklists\/([\w-]+)\/(domains|urls)$/.exec(url);
  if (ut1) return join(SHARED_LISTS, 'ut1', `${ut1[1]}.${ut1[2]}`);
  const hagezi = /hagezi\/dns-blocklists\/main\/domains\/([\w-]+\.txt)$/.exec(url);
  if (hagezi) return join(SHARED_LISTS, 'hagezi', `domains-${hagezi[1]}`);
  return undefined;
}

export interface SchoolConfig {
  /** The YAML text to serve with. */
  yaml: string;
  /** Site-config lists loaded from ../shared/lists. */
  lists: string[];
  /** Site-config lists left out: not in ../shared/lists. */
  missing: string[];
}

/**
 * The site config rewritten for the bench: lists from ../shared/lists (or,
 * when it is absent, one list of `fallbackBlocked` in the gambling category),
 * identity from `leases` with the roster's /Students as pupils, and the
 * benchmark's address (127.0.0.1) on the staff network, so only its identity
 * makes it a pupil. The links' health probe asks the bench's own zone
 * (bench.test, which every bench's nsd serves): the site config's `. NS`
 * would be REFUSED by an nsd that serves no root, and every link would go
 * down and come back, with its alerts and log lines, in the middle of a load.
 */
export function schoolConfig(o: {
  dir: string;
  dataDir: string;
  upstream: number;
  queryLog: boolean;
  leases: string;
  fallbackBlocked: string[];
}): SchoolConfig {
  const site = YAML.parse(readFileSync(SITE, 'utf8'));
  const loaded: string[] = [];
  const missing: string[] = [];
  const lists: ListEntry[] = [];
  const real = existsSync(SHARED_LISTS);
  for (const l of site.lists as ListEntry[]) {
    if (l.source.startsWith('file:/etc/gatehouse/')) {
      lists.push({ ...l, source: `file:${standIn(o.dir, l)}` });
      continue;
    }
    const file = real ? sharedFileFor(l.source) : undefined;
    if (file && existsSync(file)) {
      lists.push({ ...l, source: `file:${file}` });
      loaded.push(l.id);
    } else missing.push(l.id);
  }
  if (!real) {
    const file = join(o.dir, 'bench-gambling.txt');
    writeFileSync(file, o.fallbackBlocked.map((n) => `${n}\n`).join(''));
    lists.push({ id: 'bench-gambling', category: 'gambling', source: `file:${file}`, format: 'domains' });
  }
  const config = {
    ...site,
    dns: {
      ...site.dns,
      listen: ['127.0.0.1:0'],
      rateLimit: { enabled: true, qps: 1e8, burst: 1e8, networkQps: 1e8, networkBurst: 1e8 },
    },
    links: (site.links as { name: string; timeoutMs: number }[]).map((l) => ({
      name: l.name,
      upstreams: [`udp://127.0.0.1:${o.upstream}`],
      timeoutMs: l.timeoutMs,
    })),
    health: { ...site.health, probeName: 'bench.test', probeType: 'SOA' },
    lists,
    groups: (site.groups as { name: string; networks?: string[] }[]).map((g) =>
      g.name === 'staff' ? { ...g, networks: [...(g.networks ?? []), '127.0.0.0/8'] } : g,
    ),
    checks: { ...site.checks, schedule: '' },
    identity: { ...site.identity, dhcp: [{ format: 'dnsmasq', path: o.leases }], groups: [{ orgUnit: '/Students', group: 'pupils' }] },
    store: { path: join(o.dataDir, 'gatehouse.db'), retentionDays: 365, queryLog: o.queryLog },
    admin: { listen: '127.0.0.1:0', blockPage: { enabled: false }, metrics: { networks: ['127.0.0.0/8'] } },
    logging: { level: 'error' },
  };
  return { yaml: YAML.stringify(config), lists: loaded, missing };
}

/** Made-up stand-ins for the licensed lists (the real ones are members' only). */
function standIn(dir: string, l: ListEntry): string {
  const file = join(dir, `${l.id}-standin.${l.format === 'rpz' ? 'rpz' : 'txt'}`);
  const names = Array.from({ length: 100 }, (_, i) => `${l.id}-standin-${i}.invalid`);
  writeFileSync(file, names.map((n) => (l.format === 'rpz' ? `${n} CNAME .\n` : `${n}\n`)).join(''));
  return file;
}

/**
 * `count` identities: count − 1 DHCP leases (dnsmasq format) on 10.x
 * addresses, and the benchmark client (127.0.0.1) signed in over RADIUS as a
 * roster pupil (org unit /Students), written to the database before the
 * service starts. Returns the lease file.
 */
export function seedIdentities(dataDir: string, count: number): string {
  mkdirSync(dataDir, { recursive: true });
  const leases = join(dataDir, 'dnsmasq.leases');
  const expiry = Math.floor(Date.now() / 1000) + 86_400;
  const lines = Array.from({ length: count - 1 }, (_, i) => {
    const mac = (i + 1).toString(16).padStart(12, '0').match(/../g)!.join(':');
    return `${expiry} ${mac} 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} device-${i} *`;
  });
  writeFileSync(leases, lines.join('\n') + '\n');
  const db = openDatabase(join(dataDir, 'gatehouse.db'));
  const now = Date.now();
  const person = db
    .prepare(
      "INSERT INTO identity_people (user_key, org_unit, roster_source, in_roster, first_seen, last_seen, updated_at) VALUES ('bench-pupil', '/Students', 'file:bench', 1, ?, ?, ?)",
    )
    .run(now, now, now).lastInsertRowid;
  db.prepare(
    "INSERT INTO identity_addresses (source, address, person_id, user_name, origin, session_id, started_at, updated_at, expires_at) VALUES ('radius', '127.0.0.1', ?, 'bench-pupil', '127.0.0.1', 'bench', ?, ?, ?)",
  ).run(person, now, now, now + 86_400_000);
  db.close();
  return leases;
}

export interface RunningGatehouse {
  name: string;
  child: ChildProcess;
  pid: number;
  /** DNS, UDP and TCP. */
  port: number;
  /** The admin UI (and /metrics). */
  adminPort: number;
  dataDir: string;
}

/**
 * `gatehouse serve` from dist/ (npm run build first; this checkout's or `root`'s), with `nodeArgs` for
 * node itself (the profiler's flags). Its ports are read back from /proc: the
 * DNS listener opens once the lists are loaded, and it is the one UDP socket
 * not connected to an upstream; the admin UI is the other TCP listener.
 */
export async function startGatehouse(
  name: string,
  configFile: string,
  dataDir: string,
  nodeArgs: string[] = [],
  /** The checkout whose dist/ runs (bench/ab.ts compares two). */
  root = ROOT,
): Promise<RunningGatehouse> {
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'dist/cli.js'), 'serve', '--config', configFile], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const ports = await waitForPorts(
    child.pid!,
    (p) => {
      if (!alive()) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode})`);
      return p.udpUnconnected.length > 0 && p.tcp.some((t) => t !== p.udpUnconnected[0]);
    },
    () => `${name} did not listen`,
    120_000,
  );
  const port = ports.udpUnconnected[0];
  return { name, child, pid: child.pid!, port, adminPort: ports.tcp.find((t) => t !== port)!, dataDir };
}

/** Stop a Gatehouse with SIGTERM (it drains and flushes its query log) and wait for it to exit. */
export async function stopGatehouse(g: RunningGatehouse): Promise<void> {
  if (g.child.exitCode !== null || g.child.signalCode !== null) return;
  const exited = new Promise((r) => g.child.once('exit', r));
  g.child.kill('SIGTERM');
  await exited;
}

/** Names from the real gambling list (pupils' groups block it), or made-up ones when ../shared/lists is absent. */
export function blockedSample(n: number): string[] {
  const file = join(SHARED_LISTS, 'ut1/gambling.domains');
  if (!existsSync(file)) return Array.from({ length: n }, (_, i) => `casino${i}.blocked.test`);
  const names = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim().toLowerCase())
    .filter((l) => /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(l) && !/^[\d.]+$/.test(l));
  return names.slice(0, n);
}
