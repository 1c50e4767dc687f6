// The `system` upstream: the nameservers of /etc/resolv.conf, so a first start
// resolves wherever it runs (with or without systemd-resolved). The file is
// read at start and watched (a stat poll, off the query path: resolv.conf is
// often replaced rather than written, which fs.watch loses); a change swaps the
// servers in for the next query.
//
// Gatehouse's own listen addresses are never used (a loop): a nameserver equal
// to a `dns.listen` host on port 53, or any address of this machine when we
// listen on the wildcard there. Scoped IPv6 addresses (fe80::1%eth0) are
// skipped. As glibc, at most three nameservers are used, in file order. When
// none is left the last good set is kept, and `onChange` reports the problem
// (the app logs it and raises an IT alert); with none ever, queries fail at
// once with an error that says why, so the next link takes over.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { machineAddresses } from '../util/networks.js';
import { UdpUpstream } from './upstream-udp.js';
import { UpstreamError, type Upstream } from './upstream.js';

/** The file read; GATEHOUSE_RESOLV_CONF points tests at their own. */
export function resolvConfPath(): string {
  return process.env.GATEHOUSE_RESOLV_CONF || '/etc/resolv.conf';
}

/** glibc's MAXNS. */
const MAX_NAMESERVERS = 3;
const POLL_MS = 2000;
const OLD_SERVERS_CLOSE_MS = 30_000;

export interface NameserverChoice {
  /** Usable nameservers, in file order. */
  servers: string[];
  /** Why each other `nameserver` line was skipped. */
  skipped: { address: string; reason: string }[];
}

/** The `nameserver` lines of a resolv.conf text, minus those we cannot or must not use. */
export function chooseNameservers(
  text: string,
  listen: readonly string[],
  localAddresses: () => string[] = machineAddresses,
): NameserverChoice {
  const servers: string[] = [];
  const skipped: NameserverChoice['skipped'] = [];
  const isOwn = ownAddresses(listen, localAddresses);
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const address = m[1];
    if (address.includes('%')) skipped.push({ address, reason: 'a scoped (link-local) address' });
    else if (isIP(address) === 0) skipped.push({ address, reason: 'not an IP address' });
    else if (isOwn(normalise(address))) skipped.push({ address, reason: 'Gatehouse itself listens there (dns.listen)' });
    else if (servers.length >= MAX_NAMESERVERS) skipped.push({ address, reason: `only the first ${MAX_NAMESERVERS} are used` });
    else servers.push(address);
  }
  return { servers, skipped };
}

/** Whether an address is Gatehouse on port 53: a listen host, or any local address behind a wildcard listener. */
function ownAddresses(listen: readonly string[], localAddresses: () => string[]): (address: string) => boolean {
  const own = new Set<string>();
  let anyLoopback = false;
  for (const l of listen) {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(l);
    if (!m || m[2] !== '53') continue;
    const host = normalise(m[1]);
    if (host === '0.0.0.0' || host === '::') {
      const v6 = host === '::';
      for (const a of localAddresses()) if (a.includes(':') === v6) own.add(normalise(a));
      if (v6) own.add('::1');
      else anyLoopback = true; // every 127.x.y.z reaches a 0.0.0.0 listener
    } else own.add(host);
  }
  return (address) => own.has(address) || (anyLoopback && address.startsWith('127.'));
}

function normalise(address: string): string {
  const a = address.toLowerCase();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export interface SystemUpstreamOptions {
  listen: readonly string[];
  sourceAddress?: string;
  /** The servers in use after each read, and the problem when none was usable. */
  onChange?: (servers: string[], problem: string | undefined) => void;
}

export class SystemUpstream implements Upstream {
  readonly url = 'system';
  private readonly path = resolvConfPath();
  private servers: UdpUpstream[] = [];
  private problem: string | undefined;
  private lastText: string | undefined;
  private closed = false;
  private readonly onStat = () => void this.reread();

  constructor(private readonly options: SystemUpstreamOptions) {
    try {
      this.apply(readFileSync(this.path, 'utf8'));
    } catch (err) {
      this.apply('', `cannot read ${this.path}: ${(err as Error).message}`);
    }
    watchFile(this.path, { interval: POLL_MS, persistent: false }, this.onStat);
  }

  /** The nameservers in use now (for status pages and tests). */
  get nameservers(): string[] {
    return this.servers.map((s) => s.url);
  }

  query(question: Buffer, dnssecOk: boolean, checkingDisabled: boolean, timeoutMs: number): Promise<Buffer> {
    const servers = this.servers;
    if (servers.length === 0)
      return Promise.reject(new UpstreamError('GH_ERR_NO_SYSTEM_NAMESERVER', `system: ${this.problem ?? 'no nameserver'}`));
    // In file order, as the C library does: the next one only when one fails.
    let attempt = servers[0].query(question, dnssecOk, checkingDisabled, timeoutMs);
    for (let i = 1; i < servers.length; i++) {
      const s = servers[i];
      attempt = attempt.catch(() => s.query(question, dnssecOk, checkingDisabled, timeoutMs));
    }
    return attempt;
  }

  close(): void {
    this.closed = true;
    unwatchFile(this.path, this.onStat);
    for (const s of this.servers) s.close();
  }

  private async reread(): Promise<void> {
    if (this.closed) return;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (this.lastText !== undefined) this.report(`cannot read ${this.path}: ${(err as Error).message}`);
      return;
    }
    if (!this.closed && text !== this.lastText) this.apply(text);
  }

  private apply(text: string, readProblem?: string): void {
    this.lastText = text;
    const { servers, skipped } = chooseNameservers(text, this.options.listen);
    if (servers.length === 0) {
      const why =
        readProblem ??
        `no usable nameserver in ${this.path}${skipped.length ? ` (${skipped.map((s) => `${s.address}: ${s.reason}`).join('; ')})` : ''}`;
      // Keep the last good servers, if there were any: better than none.
      this.report(this.servers.length > 0 ? `${why}; still using ${this.nameservers.join(', ')}` : why);
      return;
    }
    const old = this.servers;
    this.servers = servers.map(
      (host) => new UdpUpstream(`udp://${host.includes(':') ? `[${host}]` : host}:53`, host, 53, this.options.sourceAddress),
    );
    this.problem = undefined;
    // Queries already sent to the old servers may still be answered.
    setTimeout(() => old.forEach((s) => s.close()), OLD_SERVERS_CLOSE_MS).unref();
    this.options.onChange?.(this.nameservers, undefined);
  }

  private report(problem: string): void {
    this.problem = problem;
    this.options.onChange?.(this.nameservers, problem);
  }
}
