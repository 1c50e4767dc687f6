// The identity service: owns the address → identity map, the store behind
// it and every configured source, and keeps them in step. Everything here
// runs on the main thread off the query path: lease files are read on
// change, RADIUS packets arrive on their own socket, PTR look-ups are queued
// after answers are sent, the roster is imported on its schedule, and the
// store is flushed once a second. The identify link only calls lookup().
import { readFile, stat } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import cron, { type ScheduledTask } from 'node-cron';
import type { Database } from 'better-sqlite3';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { IdentityConfig } from './config.js';
import { DhcpLeaseSource, type DhcpStatus } from './dhcp.js';
import { groupFor } from './groups.js';
import type { Lease } from './leases/index.js';
import { IdentityMap } from './map.js';
import type { MergeContext } from './merge.js';
import { cleanText } from './names.js';
import { RadiusServer, type RadiusStats } from './radius.js';
import type { AccountingRequest } from './radius-packet.js';
import { ReverseDns, type PtrResult, type ReverseDnsStats } from './reverse-dns.js';
import { purgeIdentity } from './retention.js';
import { importRoster, type RosterImportResult } from './roster/import.js';
import { IdentityStore } from './store.js';
import type { ClientIdentity, SourceRecord } from './types.js';

const FLUSH_MS = 1000;
const SWEEP_MS = 1000;
const DEVICES_POLL_MS = 10_000;
/** A PTR record stays in the map this long past its TTL, so the re-lookup lands before it goes. */
const PTR_GRACE_MS = 60_000;

export interface IdentityServiceOptions {
  db: Database;
  config: Config;
  logger: Logger;
  now?: () => number;
}

export interface IdentityStatus {
  addresses: number;
  dhcp: DhcpStatus[];
  radius?: RadiusStats & { port: number };
  reverseDns?: ReverseDnsStats;
  roster: { source: string; last?: RosterImportResult & { at: string } }[];
}

/** What the identify link needs (resolver/identify.ts): memory only. */
export interface IdentityLookup {
  lookup(address: string): ClientIdentity | undefined;
  /** identity.precedence is "person": the roster's group beats the network's. */
  readonly personFirst: boolean;
}

export class IdentityService implements IdentityLookup {
  readonly store: IdentityStore;
  readonly map: IdentityMap;
  personFirst: boolean;
  private config: IdentityConfig;
  private retentionDays: number;
  private dhcp: DhcpLeaseSource[] = [];
  private radius: RadiusServer | undefined;
  private reverse: ReverseDns | undefined;
  private rosterTasks: ScheduledTask[] = [];
  private readonly rosterState = new Map<string, { stamp?: string; last?: RosterImportResult & { at: string } }>();
  private timers: NodeJS.Timeout[] = [];
  private retentionTask: ScheduledTask | undefined;
  private devicesStamp = '';
  /** The last change-log row about a device or a person (an erasure) this service has acted on. */
  private lastChange = 0;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly db: Database;

  constructor(options: IdentityServiceOptions) {
    this.db = options.db;
    this.logger = options.logger.child({ part: 'identity' });
    this.now = options.now ?? Date.now;
    this.config = options.config.identity;
    this.retentionDays = options.config.store.retentionDays;
    this.personFirst = this.config.precedence === 'person';
    this.store = new IdentityStore(this.db, this.now);
    this.map = new IdentityMap(this.context());
  }

  lookup(address: string): ClientIdentity | undefined {
    return this.map.lookup(address);
  }

  /** Merging reads people and devices from the store's memory, and groups from the roster group mappings in force. */
  private context(): MergeContext {
    return {
      person: (id) => {
        const p = this.store.people.get(id);
        if (!p) return undefined;
        return { user: p.userKey, group: p.inRoster ? groupFor(p, this.config.groups) : undefined };
      },
      deviceName: (id) => {
        const d = this.store.devices.get(id);
        return d?.named ? d.name : undefined;
      },
      namedByAddress: (address) => this.store.deviceByAddress(address),
    };
  }

  async start(): Promise<void> {
    this.store.setDomains(this.config.domains);
    this.store.load();
    this.devicesStamp = this.readDevicesStamp();
    this.lastChange = Number(this.devicesStamp.split(':')[2]);
    const now = this.now();
    this.store.deleteExpired(now);
    // What the sources said before a restart stands until they say otherwise (or it expires).
    for (const r of this.store.loadRecords(now)) this.map.set(r);
    this.timers.push(
      setInterval(() => this.flush(), FLUSH_MS),
      setInterval(() => this.sweep(), SWEEP_MS),
      setInterval(() => this.pollDevices(), DEVICES_POLL_MS),
    );
    for (const t of this.timers) t.unref();
    this.retentionTask = cron.schedule('37 3 * * *', () => this.purge());
    await this.startSources();
    this.purge();
  }

  private async startSources(): Promise<void> {
    const c = this.config;
    for (const [i, r] of c.roster.entries()) {
      this.rosterTasks.push(cron.schedule(r.refresh, () => void this.importRosterFile(i)));
      await this.importRosterFile(i);
    }
    this.dhcp = c.dhcp.map((d) => new DhcpLeaseSource(d, (path, leases) => this.onLeases(path, leases), this.logger, this.now));
    for (const d of this.dhcp) await d.start();
    if (c.radius) {
      this.radius = new RadiusServer(
        c.radius,
        { session: (r, nas) => this.onSession(r, nas), nasRestarted: (nas) => this.onNasRestart(nas) },
        this.logger,
      );
      await this.radius.start();
    }
    if (c.reverseDns) {
      this.reverse = new ReverseDns(c.reverseDns, (r) => this.onPtr(r), this.logger, this.now);
      await this.reverse.start();
    }
  }

  private async stopSources(): Promise<void> {
    for (const t of this.rosterTasks) void t.stop();
    this.rosterTasks = [];
    for (const d of this.dhcp) d.stop();
    this.dhcp = [];
    await this.radius?.stop();
    this.radius = undefined;
    this.reverse?.stop();
    this.reverse = undefined;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    void this.retentionTask?.stop();
    await this.stopSources();
    this.flush();
  }

  /** A new config (SIGHUP): sources restart from the stored state when their section changed. */
  async configure(config: Config): Promise<void> {
    const changed = !isDeepStrictEqual(config.identity, this.config);
    this.config = config.identity;
    this.retentionDays = config.store.retentionDays;
    this.personFirst = this.config.precedence === 'person';
    if (!changed) return;
    await this.stopSources();
    this.store.setDomains(this.config.domains);
    this.map.remergeAll();
    await this.startSources();
  }

  /**
   * The governed policy's roster group mappings changed (an applied change, its
   * end or revert): every address is merged again, so the next query from a
   * person gets their new group. No source restarts.
   */
  setMappings(mappings: IdentityConfig['groups']): void {
    if (JSON.stringify(mappings) === JSON.stringify(this.config.groups)) return;
    this.config = { ...this.config, groups: mappings };
    this.map.remergeAll();
  }

  /** The query observer's part: a query came from this address (reverse DNS learns of it). */
  noticeAddress(address: string): void {
    this.reverse?.notice(address);
  }

  status(): IdentityStatus {
    return {
      addresses: this.map.size,
      dhcp: this.dhcp.map((d) => d.status()),
      radius: this.radius ? { ...this.radius.stats, port: this.radius.port } : undefined,
      reverseDns: this.reverse ? { ...this.reverse.stats } : undefined,
      roster: this.config.roster.map((r) => ({ source: r.source, last: this.rosterState.get(r.source)?.last })),
    };
  }

  /** The RADIUS server's bound port (tests listen on port 0). */
  get radiusPort(): number | undefined {
    return this.radius?.port;
  }

  // ---- sources → map and store

  private put(record: SourceRecord): void {
    this.map.set(record);
    this.store.queue(record.source, record.address, record);
  }

  private drop(record: SourceRecord): void {
    this.map.delete(record.source, record.address);
    this.store.queue(record.source, record.address, null);
  }

  /** A lease file's complete set of leases in use. */
  onLeases(path: string, leases: Lease[]): void {
    const now = this.now();
    const seen = new Set<string>();
    // New MACs are interned in one transaction, not one commit each.
    this.db.transaction(() => {
      for (const l of leases) {
        seen.add(l.address);
        const had = this.map.get('dhcp', l.address);
        if (
          had &&
          had.origin === path &&
          had.mac === l.mac &&
          had.hostName === l.hostName &&
          had.startedAt === l.startedAt &&
          had.expiresAt === l.endsAt
        )
          continue;
        this.put({
          source: 'dhcp',
          address: l.address,
          mac: l.mac,
          deviceId: l.mac ? this.store.deviceFor(`mac:${l.mac}`) : undefined,
          hostName: l.hostName,
          origin: path,
          startedAt: l.startedAt,
          updatedAt: now,
          expiresAt: l.endsAt,
        });
      }
    })();
    for (const r of [...this.map.all('dhcp')]) if (r.origin === path && !seen.has(r.address)) this.drop(r);
  }

  /** Start, Interim-Update or Stop. Returns false for a Stop of a session no longer on the address. */
  onSession(req: AccountingRequest, nas: string): boolean {
    const now = this.now();
    const targets = [...req.addresses, ...req.prefixes];
    if (req.status === 'Stop') {
      let current = true;
      for (const t of targets) {
        const had = this.map.get('radius', t);
        if (!had) continue;
        if (had.sessionId !== undefined && req.sessionId !== undefined && had.sessionId !== req.sessionId) current = false;
        else this.drop(had);
      }
      return current;
    }
    const personId = this.store.personFor(req.userName);
    const deviceId = req.mac ? this.store.deviceFor(`mac:${req.mac}`) : undefined;
    const lifetime = Math.max(this.config.radius!.sessionTimeoutSeconds, 3 * (req.interimInterval ?? 0)) * 1000;
    const userName = cleanText(req.userName);
    for (const t of targets) {
      const had = this.map.get('radius', t);
      this.put({
        source: 'radius',
        address: t,
        userName: typeof userName === 'string' ? userName : undefined,
        personId,
        mac: req.mac,
        deviceId,
        origin: nas,
        sessionId: req.sessionId,
        startedAt: had && had.sessionId === req.sessionId && req.status !== 'Start' ? had.startedAt : now,
        updatedAt: now,
        expiresAt: now + lifetime,
      });
    }
    return true;
  }

  /** Accounting-On/Off: every session that NAS reported is over. */
  onNasRestart(nas: string): void {
    for (const r of [...this.map.all('radius')]) if (r.origin === nas) this.drop(r);
  }

  onPtr(result: PtrResult): void {
    const had = this.map.get('ptr', result.address);
    if (!result.name) {
      if (had) this.drop(had);
      return;
    }
    this.put({
      source: 'ptr',
      address: result.address,
      hostName: result.name,
      deviceId: this.store.deviceFor(`name:${result.name.toLowerCase()}`),
      origin: this.config.reverseDns?.server ?? '',
      updatedAt: this.now(),
      expiresAt: result.expiresAt + PTR_GRACE_MS,
    });
  }

  /** Import one roster file if it changed since the last import in this process. */
  async importRosterFile(index: number): Promise<RosterImportResult | undefined> {
    const cfg = this.config.roster[index];
    if (!cfg) return undefined;
    const path = cfg.source.slice('file:'.length);
    const state = this.rosterState.get(cfg.source) ?? {};
    this.rosterState.set(cfg.source, state);
    let text: string;
    try {
      const st = await stat(path);
      const stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
      if (state.stamp === stamp) return undefined;
      text = await readFile(path, 'utf8');
      state.stamp = stamp;
    } catch (err) {
      const result = {
        ok: false,
        added: 0,
        changed: 0,
        removed: 0,
        refused: 0,
        refusedLines: [],
        error: `cannot read the roster file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      };
      state.last = { ...result, at: new Date(this.now()).toISOString() };
      this.logger.warn({ source: cfg.source, error: result.error }, 'roster not imported; the last good roster stays');
      return result;
    }
    const result = importRoster(this.db, {
      source: cfg.source,
      format: cfg.format,
      text,
      maxRemovedPercent: cfg.maxRemovedPercent,
      schoolDomains: new Set(this.config.domains.map((d) => d.toLowerCase())),
      actor: 'roster import (scheduled)',
      now: this.now(),
    });
    state.last = { ...result, at: new Date(this.now()).toISOString() };
    const { refusedLines, ...counts } = result;
    if (!result.ok) {
      this.logger.warn(
        { source: cfg.source, ...counts, firstRefusedLines: refusedLines.slice(0, 10).map((r) => r.line) },
        'roster refused; the last good roster stays',
      );
      return result;
    }
    this.logger.info({ source: cfg.source, ...counts }, 'roster imported');
    this.store.load();
    this.map.remergeAll();
    return result;
  }

  // ---- timers

  /** Write queued records. Public for tests and the CLI's view being current. */
  flush(): void {
    try {
      this.store.flush();
    } catch (err) {
      this.logger.error({ err }, 'identity state could not be written; will retry');
    }
  }

  private sweep(): void {
    for (const r of this.map.sweep(this.now())) this.store.queue(r.source, r.address, null);
  }

  private readDevicesStamp(): string {
    const row = this.db.prepare('SELECT count(*) AS n, coalesce(max(updated_at), 0) AS at FROM identity_devices WHERE named = 1').get() as {
      n: number;
      at: number;
    };
    // Every device change and every erasure is a change-log row: two saves in one millisecond still differ.
    const change = this.db
      .prepare("SELECT coalesce(max(id), ?) FROM change_log WHERE id > ? AND entity IN ('device', 'person')")
      .pluck()
      .get(this.lastChange, this.lastChange) as number;
    return `${row.n}:${row.at}:${change}`;
  }

  /**
   * Devices named from the CLI or the admin UI, and people erased
   * (identity/erase.ts, often from the CLI: another process), reach the map
   * within DEVICES_POLL_MS; the admin UI calls this at once after a save.
   */
  pollDevices(): void {
    try {
      const stamp = this.readDevicesStamp();
      if (stamp === this.devicesStamp) return;
      this.devicesStamp = stamp;
      this.lastChange = Number(stamp.split(':')[2]);
      this.store.load();
      this.forgetErased();
      this.map.remergeAll();
    } catch (err) {
      this.logger.error({ err }, 'devices could not be re-read');
    }
  }

  /** Records of a person no longer in the store (erased): dropped from the map, and their rows not written back. */
  private forgetErased(): void {
    for (const r of [...this.map.all()]) if (r.personId !== undefined && !this.store.people.has(r.personId)) this.drop(r);
  }

  /** Identity rows follow the query log's retention (store.retentionDays). */
  purge(): void {
    try {
      // Whoever is at an address now is seen now, whatever their last event.
      this.store.touch(this.map.all());
      this.store.flush();
      const cutoff = this.now() - this.retentionDays * 86_400_000;
      const removed = purgeIdentity(this.db, cutoff);
      if (removed.people + removed.devices > 0) {
        this.store.load();
        this.map.remergeAll();
      }
      this.logger.info({ cutoff: new Date(cutoff).toISOString(), ...removed }, 'identity retention purge');
    } catch (err) {
      this.logger.error({ err }, 'identity retention purge failed');
    }
  }
}
