// The filtering self-test: real DNS queries to the running service, sent from
// an address in each group's networks where this machine can bind one, checking
// that the configured test names are blocked or allowed as the config says for
// that group at this moment. `gatehouse check` prints the result; `serve` can
// run it on a schedule (checks.schedule) and record it.
//
// What "as the config says" means is worked out here from the config itself
// (illegal categories, the group's blocked categories, its open schedule
// windows), not from the resolver's compiled policy, so a fault in the policy
// shows up as a failed check instead of agreeing with itself.
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import dnsPacket from 'dns-packet';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config.js';
import { GroupIdentifier } from '../resolver/identify.js';
import { Schedules } from '../resolver/schedules.js';
import { CHECK_OPTION_CODE } from './check-token.js';
import { EDE, OPTION_EDE } from '../resolver/wire.js';

/** Firefox's DoH canary: Gatehouse must answer NXDOMAIN for every group. */
export const CANARY_NAME = 'use-application-dns.net';

/** Extended DNS Error codes that mean "the resolver's policy stopped this" (RFC 8914). */

export type Outcome = 'blocked' | 'allowed' | 'error';

export interface CheckCase {
  group: string;
  /** Address the queries were sent from. */
  source: string;
  /** Category under test; `allowed` for the allowed names; `canary` for the DoH canary. */
  category: string;
  name: string;
  expected: 'blocked' | 'allowed';
  actual: Outcome;
  ok: boolean;
  /** Response code and the resolver's explanation (EDE text), or the error. */
  detail: string;
  /** Why this expectation: "illegal", "group blocks it", "schedule window open", "not blocked". */
  why: string;
}

export interface SkippedGroup {
  group: string;
  reason: string;
}

export interface CheckResult {
  ok: boolean;
  startedAt: Date;
  finishedAt: Date;
  /** The address:port queried. */
  server: string;
  cases: CheckCase[];
  skipped: SkippedGroup[];
  passed: number;
  failed: number;
  /** One line for logs, alerts and the checks record. */
  summary: string;
}

export interface SelfTestOptions {
  config: Config;
  /** IP:PORT to query instead of checks.server / the first dns.listen. */
  server?: string;
  /** Only these groups. */
  groups?: readonly string[];
  timeoutMs?: number;
  /** Clock for the schedule windows (tests). */
  now?: () => number;
  /** Local addresses to consider as sources; default: this machine's interfaces plus loopback. */
  localAddresses?: readonly string[];
  /** Queries in flight at once. */
  concurrency?: number;
  /**
   * The service's check token (check-token.ts): each query carries it, so the
   * service logs the run as check traffic, apart from people's lookups, and
   * raises no alert for it. Without it the queries count as real lookups.
   */
  checkToken?: Buffer;
  /**
   * Whether filtering is switched off for a group, or for the source address,
   * by a temporary change (src/changes/): then only illegal categories must be blocked.
   */
  unfiltered?: (group: string, source: string) => boolean;
}

/** Run the self-test. Never throws for a DNS problem: that is a failed case. */
export async function runSelfTest(opts: SelfTestOptions): Promise<CheckResult> {
  const { config } = opts;
  const startedAt = new Date();
  const now = opts.now ?? Date.now;
  const server = parseHostPort(opts.server ?? config.checks.server ?? defaultServer(config.dns.listen));
  const timeoutMs = opts.timeoutMs ?? config.checks.timeoutMs;
  const family = ipaddr.parse(server.host).kind();
  const wanted = config.groups.filter((g) => !opts.groups || opts.groups.includes(g.name));
  const sources = chooseSources(config, family, opts.localAddresses ?? localAddresses());

  const skipped: SkippedGroup[] = [];
  const plans: CheckPlan[] = [];
  const categoryIds = config.categories.map((c) => c.id);
  for (const group of wanted) {
    const source = sources.get(group.name);
    if (!source) {
      const configured = config.checks.sources[group.name];
      skipped.push({
        group: group.name,
        reason: configured
          ? `checks.sources.${group.name} (${configured}) is not a ${family} address the resolver puts in this group`
          : `no local ${family} address in its networks (add one, e.g. a 127.0.0.x/32, to the group's networks)`,
      });
      continue;
    }
    const off = opts.unfiltered?.(group.name, source) ?? false;
    const blocked = off ? illegalBlocks(config) : expectedBlocks(config, group.name, now());
    for (const [category, names] of Object.entries(config.checks.names)) {
      if (!categoryIds.includes(category)) continue; // the config loader reports it
      const why = blocked.get(category);
      for (const name of names) {
        plans.push({
          group: group.name,
          source,
          category,
          name,
          expected: why ? 'blocked' : 'allowed',
          why: why ?? (off ? 'filtering is switched off here for now (change control)' : 'not blocked for this group'),
        });
      }
    }
    for (const name of config.checks.allowed) {
      plans.push({ group: group.name, source, category: 'allowed', name, expected: 'allowed', why: 'listed in checks.allowed' });
    }
    plans.push({ group: group.name, source, category: 'canary', name: CANARY_NAME, expected: 'blocked', why: 'Firefox DoH canary' });
  }

  return runPlans({ config, server, plans, skipped, timeoutMs, startedAt, concurrency: opts.concurrency, checkToken: opts.checkToken });
}

/** A planned case: a name to ask from a source, and what the answer must be. */
export type CheckPlan = Omit<CheckCase, 'actual' | 'ok' | 'detail'>;

/**
 * Send the planned queries (a few at a time) and judge the answers. The
 * self-test and the test of a change (src/changes/verify.ts) both end here.
 */
export async function runPlans(opts: {
  config: Config;
  server: HostPort;
  plans: readonly CheckPlan[];
  skipped: SkippedGroup[];
  timeoutMs: number;
  startedAt?: Date;
  concurrency?: number;
  /** Marks the queries as check traffic (see SelfTestOptions.checkToken). */
  checkToken?: Buffer;
}): Promise<CheckResult> {
  const { config, server, plans, skipped, timeoutMs } = opts;
  const startedAt = opts.startedAt ?? new Date();
  const cases: CheckCase[] = new Array(plans.length);
  let next = 0;
  const worker = async () => {
    while (next < plans.length) {
      const i = next++;
      const plan = plans[i];
      const reply = await query(server, plan.source, plan.name, timeoutMs, opts.checkToken);
      const actual = plan.category === 'canary' ? canaryOutcome(reply) : outcome(reply, config);
      cases[i] = { ...plan, actual, ok: actual === plan.expected, detail: reply.detail };
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, plans.length) }, worker));

  const failed = cases.filter((c) => !c.ok).length;
  const passed = cases.length - failed;
  const ok = failed === 0 && cases.length > 0;
  const serverText = formatHostPort(server);
  const summary =
    cases.length === 0
      ? `nothing tested against ${serverText}: no group has a local source address`
      : `${passed} of ${cases.length} checks passed against ${serverText}` +
        (failed ? `; failed: ${failedSummary(cases, config)}` : '') +
        (skipped.length ? `; not tested: ${skipped.map((s) => s.group).join(', ')}` : '');
  return { ok, startedAt, finishedAt: new Date(), server: serverText, cases, skipped, passed, failed, summary };
}

/** Only the illegal categories: what stays blocked where filtering is switched off. */
export function illegalBlocks(config: Config): Map<string, string> {
  return new Map(config.categories.filter((c) => c.illegal).map((c) => [c.id, 'illegal: blocked for everyone']));
}

/** Category id → why the group has it blocked now (absent: allowed). */
export function expectedBlocks(config: Config, groupName: string, nowMs: number): Map<string, string> {
  const out = new Map<string, string>();
  const group = config.groups.find((g) => g.name === groupName);
  if (!group) return out;
  for (const [id, why] of illegalBlocks(config)) out.set(id, why);
  for (const id of group.block) if (!out.has(id)) out.set(id, 'the group blocks it');
  const ids = config.categories.map((c) => c.id);
  const schedules = new Schedules(group.schedules, (list) => list.reduce((m, id) => m | (1 << ids.indexOf(id)), 0));
  const open = schedules.active(nowMs);
  ids.forEach((id, bit) => {
    if (open & (1 << bit) && !out.has(id)) out.set(id, 'a schedule window is open');
  });
  return out;
}

/**
 * For each group, the first usable local address that the resolver would put
 * in that group: checks.sources first, then addresses in the group's own
 * loopback networks (127.0.0.2/32 in tests), then this machine's addresses.
 */
export function chooseSources(config: Config, family: 'ipv4' | 'ipv6', locals: readonly string[]): Map<string, string> {
  const identify = new GroupIdentifier(config);
  const candidates: string[] = [];
  const add = (a: string) => {
    if (!candidates.includes(a)) candidates.push(a);
  };
  for (const g of config.groups) {
    for (const cidr of g.networks) {
      const address = loopbackAddressIn(cidr);
      if (address) add(address);
    }
  }
  for (const a of locals) add(a);
  const chosen = new Map<string, string>();
  for (const [group, address] of Object.entries(config.checks.sources)) {
    // An address the resolver puts in another group would test the wrong policy.
    if (ipaddr.parse(address).kind() === family && identify.groupOf(address).name === group) chosen.set(group, address);
  }
  for (const a of candidates) {
    let ip: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      ip = ipaddr.parse(a);
    } catch {
      continue;
    }
    if (ip.kind() !== family) continue;
    const group = identify.groupOf(a).name;
    if (!chosen.has(group)) chosen.set(group, a);
  }
  return chosen;
}

/**
 * For a loopback network (tests, a lab machine), the address in it to send
 * from: a /32 is the address itself; in a wider network, the first address
 * after the network's own. Undefined for any other network.
 */
export function loopbackAddressIn(cidr: string): string | undefined {
  const [net, bits] = ipaddr.parseCIDR(cidr);
  if (net.range() !== 'loopback') return undefined;
  if (net.kind() !== 'ipv4') return net.toString();
  const base = ipaddr.IPv4.networkAddressFromCIDR(cidr).toByteArray();
  if (bits < 31) base[3] += 1;
  return ipaddr.fromByteArray(base).toString();
}

/** This machine's addresses, loopback first (link-local IPv6 left out: it needs a scope). */
export function localAddresses(): string[] {
  const out = ['127.0.0.1', '::1'];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family === 'IPv6' && i.address.toLowerCase().startsWith('fe80')) continue;
      if (!out.includes(i.address)) out.push(i.address);
    }
  }
  return out;
}

interface Reply {
  rcode?: string;
  answers: string[];
  ede: { code: number; text: string }[];
  detail: string;
  error?: string;
}

/** One A query with EDNS (so the resolver explains blocks with EDE), one retry after a timeout. */
export async function query(server: HostPort, source: string, name: string, timeoutMs: number, checkToken?: Buffer): Promise<Reply> {
  let last: Reply | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    last = await queryOnce(server, source, name, timeoutMs, checkToken);
    if (last.error !== 'timeout') return last;
  }
  return last!;
}

function queryOnce(server: HostPort, source: string, name: string, timeoutMs: number, checkToken?: Buffer): Promise<Reply> {
  const id = randomInt(0, 0x10000);
  const options = checkToken ? [{ code: CHECK_OPTION_CODE, data: checkToken }] : [];
  const packet = dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', class: 'IN', name }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options } as unknown as dnsPacket.Answer],
  });
  const socket = dgram.createSocket(ipaddr.parse(source).kind() === 'ipv6' ? 'udp6' : 'udp4');
  return new Promise<Reply>((resolve) => {
    let done = false;
    const finish = (r: Reply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(r);
    };
    const fail = (error: string) => finish({ answers: [], ede: [], detail: error, error });
    const timer = setTimeout(() => fail('timeout'), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'EADDRNOTAVAIL' ? `cannot send from ${source}: not an address of this machine` : err.message),
    );
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== server.port) return;
      let response: dnsPacket.Packet;
      try {
        response = dnsPacket.decode(msg);
      } catch {
        return fail('malformed response');
      }
      // An answer to some other question is not ours (CoreDNS's forward does the same check).
      if (response.id !== id || response.questions?.[0]?.name.toLowerCase() !== name.toLowerCase()) return;
      finish(describe(response));
    });
    socket.bind({ address: source, port: 0 }, () => {
      socket.send(packet, server.port, server.host, (err) => {
        if (err) fail(err.message);
      });
    });
  });
}

function describe(response: dnsPacket.Packet): Reply {
  const answers = (response.answers ?? [])
    .filter((a) => a.type === 'A' || a.type === 'AAAA')
    .map((a) => String((a as { data: unknown }).data));
  const ede: { code: number; text: string }[] = [];
  for (const rr of response.additionals ?? []) {
    if (rr.type !== 'OPT') continue;
    for (const o of (rr as unknown as { options?: { code: number; data?: Buffer }[] }).options ?? []) {
      if (o.code === OPTION_EDE && o.data && o.data.length >= 2)
        ede.push({ code: o.data.readUInt16BE(0), text: o.data.subarray(2).toString('utf8') });
    }
  }
  const rcode = (response as { rcode?: string }).rcode ?? 'NOERROR';
  const parts = [rcode, ...(answers.length ? [answers.join(' ')] : []), ...ede.map((e) => `EDE ${e.code}${e.text ? ` "${e.text}"` : ''}`)];
  return { rcode, answers, ede, detail: parts.join(', ') };
}

/** Blocked, allowed, or an error (no answer, SERVFAIL, REFUSED: the name could not be judged). */
export function outcome(reply: Reply, config: Config): Outcome {
  if (reply.error) return 'error';
  if (reply.ede.some((e) => e.code === EDE.BLOCKED || e.code === EDE.FILTERED || e.code === EDE.CENSORED)) return 'blocked';
  if (reply.rcode === 'SERVFAIL' || reply.rcode === 'REFUSED' || reply.rcode === 'FORMERR' || reply.rcode === 'NOTIMP') return 'error';
  // A resolver that leaves out EDE: recognise the configured block answer.
  const { mode, a } = config.dns.block;
  const blockAddress = mode === 'null' ? '0.0.0.0' : mode === 'address' ? a : null;
  if (blockAddress !== null && reply.answers.length > 0 && reply.answers.every((x) => x === blockAddress)) return 'blocked';
  return 'allowed';
}

/** The canary is "blocked" when Gatehouse answers NXDOMAIN for it (the real name exists). */
function canaryOutcome(reply: Reply): Outcome {
  if (reply.error) return 'error';
  return reply.rcode === 'NXDOMAIN' ? 'blocked' : reply.rcode === 'NOERROR' ? 'allowed' : 'error';
}

/** The summary goes to the service log and into alert messages: an illegal category's test name is left out. */
function failedSummary(cases: readonly CheckCase[], config: Config): string {
  const illegal = new Set(config.categories.filter((c) => c.illegal).map((c) => c.id));
  const bad = cases.filter((c) => !c.ok);
  const shown = bad
    .slice(0, 5)
    .map((c) => `${c.group}/${c.category} ${illegal.has(c.category) ? '(name withheld)' : c.name} ${c.actual} (expected ${c.expected})`);
  return shown.join('; ') + (bad.length > shown.length ? `; and ${bad.length - shown.length} more` : '');
}

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(text: string): HostPort {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text) ?? /^([0-9.]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`expected IP:PORT or [IPv6]:PORT, got "${text}"`);
  return { host: m[1], port: Number(m[2]) };
}

function formatHostPort(h: HostPort): string {
  return h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}

/** The first listen address, with a wildcard replaced by the loopback address of its family. */
export function defaultServer(listen: readonly string[]): string {
  const first = parseHostPort(listen[0]);
  if (first.host === '0.0.0.0') first.host = '127.0.0.1';
  if (first.host === '::') first.host = '::1';
  return formatHostPort(first);
}

/** The result as a plain-text table (for `gatehouse check` and the journal). */
export function formatTable(result: CheckResult): string {
  const rows = [['group', 'source', 'category', 'name', 'expected', 'result', '', 'detail']];
  for (const c of result.cases) rows.push([c.group, c.source, c.category, c.name, c.expected, c.actual, c.ok ? 'ok' : 'FAIL', c.detail]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  for (const s of result.skipped) lines.push(`${s.group}: not tested: ${s.reason}`);
  lines.push(result.summary);
  return lines.join('\n') + '\n';
}
