// Builds a whole Gatehouse from a config without listening (as fastify's
// testing guide does for HTTP): tests start it on port 0, `serve` on the
// configured addresses. This is the one place where the parts meet.
import { isDeepStrictEqual } from 'node:util';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { ConfigError, type Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { DnsServer, serverOptions } from './resolver/server.js';
import { Admission, type LimitedSource } from './resolver/admission.js';
import { buildChain } from './resolver/chain.js';
import { GroupIdentifier, IdentifyHandler } from './resolver/identify.js';
import { CacheHandler } from './resolver/cache.js';
import { ForwardHandler } from './resolver/forward.js';
import { LinkManager, type LinkSwitch, type NameserversChange } from './resolver/links.js';
import { PolicyHandler } from './resolver/policy.js';
import { RebindingHandler } from './resolver/rebinding.js';
import { loggedCategoryIds } from './resolver/categories.js';
import {
  AlertObserver,
  CheckTrafficMarker,
  DECISION_REASONS,
  LogIndexes,
  QueryLogObserver,
  loggedLinkNames,
} from './resolver/observers.js';
import { BlockingListFinder } from './lists/blocking-list.js';
import { illegalPart } from './lists/illegal-names.js';
import { ListManager, type RefreshEvent } from './lists/manager.js';
import { openDatabase } from './store/db.js';
import { QueryLog } from './store/query-log.js';
import { loadNameHider, type NameHider } from './store/hidden-names.js';
import { hideIllegalNames } from './store/hide-illegal.js';
import { loadCheckToken } from './checks/check-token.js';
import { Retention } from './store/retention.js';
import { StoreReader } from './store/reader.js';
import { AlertEngine } from './alerts/engine.js';
import { ReportService } from './reports/service.js';
import { buildAdminApp } from './admin/app.js';
import { startAdminServer } from './admin/server.js';
import { recordConfigChanges } from './admin/config-changes.js';
import { BlockCounter } from './admin/metrics.js';
import { liveDeps, selfTestServer } from './admin/wire.js';
import type { ConfigRejection } from './admin/live.js';
import { buildBlockPageApp, startBlockPageServer } from './admin/block-page.js';
import { SelfTestSchedule } from './checks/schedule.js';
import { IdentityService } from './identity/service.js';
import { EncryptedDns } from './resolver/encrypted.js';
import { ChangeControl } from './changes/service.js';
import { changeTester } from './changes/tester.js';
import { effectiveConfig, unfilteredGroups, unfilteredNetworks, unfilteredPeople, type PolicyDocument } from './changes/document.js';
import { inServiceSince } from './changes/store.js';
import { documentProblems } from './changes/validate.js';
import { ChangeError } from './changes/errors.js';

export interface AppOptions {
  logger?: Logger;
  /** Clock in ms for the cache, link health, the query log and alerts (tests move it). */
  now?: () => number;
  /** Serve the admin UI (default true). Resolver-only tests turn it off. */
  admin?: boolean;
}

export class Gatehouse {
  readonly logger: Logger;
  readonly groups: GroupIdentifier;
  readonly cache: CacheHandler;
  readonly links: LinkManager;
  readonly lists: ListManager;
  readonly policy: PolicyHandler;
  readonly rebinding: RebindingHandler;
  readonly server: DnsServer;
  /** Who may ask, and how fast (dns.allowNetworks, dns.rateLimit). */
  readonly admission: Admission;
  readonly db: Database;
  readonly queryLog: QueryLog;
  readonly retention: Retention;
  /** Who and what is behind each client address (src/identity/). */
  readonly identity: IdentityService;
  /** DNS over HTTPS and over TLS (doh, dot, tls), when configured. */
  readonly encrypted: EncryptedDns | undefined;
  alerts: AlertEngine;
  /** Daily rollups, the report thread and the reports' schedules (src/reports/). */
  readonly reports: ReportService;
  admin: FastifyInstance | undefined;
  /** Where the admin UI listens, once started. */
  adminUrl: string | undefined;
  blockPage: FastifyInstance | undefined;
  blockPageUrl: string | undefined;
  /** Blocks by category, for /metrics. */
  readonly blocks = new BlockCounter();
  /** The last config a reload refused, shown on the dashboard until a reload succeeds. */
  configRejected: ConfigRejection | undefined;
  /**
   * The governed filtering policy and its change requests (src/changes/). The
   * groups in `config` are its groups; `fileConfig` is the file as loaded.
   */
  readonly changes: ChangeControl;
  /** The config file as loaded; `config` is it with the governed groups in place of the file's. */
  fileConfig: Config;
  private selfTests: SelfTestSchedule | undefined;
  /** Query-log searches and reports for the admin UI, in their own thread. */
  private reader: StoreReader | undefined;
  private readonly logIndexes = new LogIndexes();
  /** The list behind each list-based block, for the query log's "why". */
  private readonly blockingLists = new BlockingListFinder(() => this.lists.matcher);
  private readonly alertObserver: AlertObserver;
  /** Hides illegal-category names before they are logged (store/hidden-names.ts). */
  private readonly hider: NameHider;
  /** The token the self-test's queries carry (checks/check-token.ts). */
  readonly checkToken: Buffer;
  private readonly now: () => number;
  private started = false;

  /** The config the service runs with: the file's technical settings and the governed policy's groups. */
  config: Config;

  constructor(
    file: Config,
    private readonly options: AppOptions = {},
  ) {
    this.fileConfig = file;
    this.logger = options.logger ?? createLogger(file.logging.level);
    const now = (this.now = options.now ?? Date.now);
    const dataDir = dirname(file.store.path);

    // The database opens first: a corrupt or unwritable file stops start-up with a clear error.
    this.db = openDatabase(file.store.path);
    this.hider = loadNameHider(file.store.path);
    this.checkToken = loadCheckToken(file.store.path);
    // Then the governed policy (seeded from the file's groups at the first start): the groups everything below uses.
    this.changes = new ChangeControl({ db: this.db, config: () => this.fileConfig, logger: this.logger, now });
    const governed = this.changes.load();
    this.refuseUnknownCategories(file, governed.doc);
    const config = (this.config = effectiveConfig(file, governed.doc));
    this.warnUnknownGroups(file);
    this.queryLog = new QueryLog({
      path: config.store.path,
      hider: this.hider,
      queueMax: config.store.queueMax,
      logger: this.logger.child({ part: 'querylog' }),
      now,
      // SQLite's default page is 4 KiB.
      ...(config.store.maxSizeMiB ? { maxPages: config.store.maxSizeMiB * 256 } : {}),
    });
    this.retention = new Retention({
      log: this.queryLog,
      retentionDays: config.store.retentionDays,
      logger: this.logger.child({ part: 'retention' }),
      now,
    });
    this.alerts = this.newAlertEngine(config);
    this.reports = new ReportService({
      config,
      alerts: () => this.alerts,
      lists: () => this.lists.status(),
      logger: this.logger.child({ part: 'reports' }),
      now,
      inServiceSince: () => inServiceSince(this.db),
    });

    this.identity = new IdentityService({ db: this.db, config, logger: this.logger, now });
    this.groups = new GroupIdentifier(config, unfilteredNetworks(governed.doc), unfilteredPeople(governed.doc));
    this.lists = new ListManager(config, { dataDir, logger: this.logger });
    this.policy = new PolicyHandler({ config, matcher: () => this.lists.matcher, logger: this.logger, now: () => new Date(now()) });
    this.policy.setPolicy(config, governed.doc.exceptions, { unfilteredGroups: unfilteredGroups(governed.doc) });
    this.cache = new CacheHandler(config, now);
    this.rebinding = new RebindingHandler(config, this.logger.child({ part: 'rebinding' }), now);
    this.links = new LinkManager(config, this.logger.child({ part: 'links' }), now);
    this.server = new DnsServer(serverOptions(config, this.logger.child({ part: 'dns' })), this.chain());
    this.admission = new Admission(config, (limited) => this.onRateLimited(limited));
    this.server.setAdmission(this.admission);
    this.encrypted =
      config.doh || config.dot
        ? new EncryptedDns({
            config,
            db: this.db,
            server: this.server,
            admission: this.admission,
            logger: this.logger,
            alert: (e) => this.alerts.operational(e),
            now,
          })
        : undefined;

    this.logIndexes.configure(config);
    this.alertObserver = new AlertObserver({ observe: (e) => this.alerts.observe(e) }, now);
    this.alertObserver.configure(config);
    // First: the self-test's queries are marked before anything records or alerts them.
    this.server.addObserver(new CheckTrafficMarker(this.checkToken));
    if (config.store.queryLog)
      this.server.addObserver(
        new QueryLogObserver(this.queryLog, this.logIndexes, now, (name, category) => this.blockingLists.find(name, category)),
      );
    else this.logger.warn('store.queryLog is off: queries are not being logged');
    this.server.addObserver(this.alertObserver);
    this.server.addObserver(this.blocks);
    // Reverse DNS learns of client addresses after their answers are sent.
    this.server.addObserver({ onAnswer: (q) => this.identity.noticeAddress(q.client.address) });

    const people = () => this.fileConfig.identity.radius !== undefined || this.fileConfig.identity.dhcp.length > 0;
    this.changes.live = {
      check: (doc) => this.compilePolicy(doc),
      apply: (doc) => this.applyPolicy(doc),
      isIllegal: (name) => this.isIllegal(name),
      alerts: () => this.alerts,
      test: changeTester({
        db: this.db,
        config: () => this.fileConfig,
        server: () => selfTestServer(this),
        categoriesOf: (name) => this.policy.categoriesOf(name),
        alerts: () => this.alerts,
        now,
        checkToken: this.checkToken,
      }),
      // A person can be switched off only where identity sources can put a person at an address.
      get people() {
        return people();
      },
    };

    this.links.on('switch', (s: LinkSwitch) => this.onLinkSwitch(s));
    this.links.on('nameservers', (c: NameserversChange) => this.onNameservers(c));
    for (const c of this.links.nameservers.values()) this.onNameservers(c);
    this.lists.on('swap', () => this.sendIllegalNames());
    this.lists.on('refresh', (r: RefreshEvent) => this.onListRefresh(r));
    this.queryLog.on('dropped', (e: { count: number; total: number; lastError?: string }) =>
      this.alerts.operational({
        kind: 'querylog-dropped',
        message: `${e.count} query-log rows dropped (${e.total} in all)`,
        details: { ...e },
      }),
    );
  }

  /**
   * The query path, top to bottom (see resolver/chain.ts for why each sits
   * where it does): identify → policy → cache → rebinding → forward. The query log and
   * the alerts observe answers after they are sent (server.ts).
   */
  private chain() {
    return buildChain({
      identify: new IdentifyHandler(this.groups, this.identity),
      policy: this.policy,
      cache: this.cache,
      rebinding: this.rebinding,
      forward: new ForwardHandler(this.links, () => this.config.dns.udpSize),
    });
  }

  private newAlertEngine(config: Config): AlertEngine {
    return new AlertEngine({ db: this.db, config: config.alerts, categories: config.categories, logger: this.logger });
  }

  private dictionaries(config: Config) {
    return {
      groups: config.groups.map((g) => g.name),
      categories: loggedCategoryIds(config.categories),
      links: loggedLinkNames(config),
      lists: config.lists.map((l) => l.id),
      reasons: [...DECISION_REASONS],
      illegal: config.categories.map((c) => c.illegal),
    };
  }

  /** The reader thread's copy of the illegal categories' list entries, so name searches leave them out (store/search.ts). */
  private sendIllegalNames(): void {
    if (!this.reader) return;
    const mask = this.config.categories.reduce((m, c, i) => (c.illegal ? m | (1 << i) : m), 0);
    this.reader.setIllegalNames(illegalPart(this.lists.matcher, mask));
  }

  /** Hide the names of rows logged in the clear in a category the config (now) marks illegal (store/hide-illegal.ts). */
  private hideIllegalNames(config: Config): void {
    const illegal = config.categories.filter((c) => c.illegal).map((c) => c.id);
    const done = hideIllegalNames(this.db, illegal, this.hider);
    if (done.names > 0)
      this.logger.info({ categories: done.categories, names: done.names }, 'illegal-category names hidden in the query log');
  }

  /** A governed policy naming a category the config file does not have cannot be compiled: say so, and what to do. */
  private refuseUnknownCategories(file: Config, doc: PolicyDocument): void {
    // Only a category the file no longer has: one the file now marks illegal is blocked for everyone anyway (and its name is hidden).
    const problems = documentProblems(doc, { categories: file.categories, maxSwitchOffHours: 24 }).filter((p) =>
      /unknown category/.test(p),
    );
    if (problems.length > 0)
      throw new ChangeError(
        'GH_ERR_POLICY_CATEGORY',
        `the config file lacks categories the governed policy uses: ${problems.join('; ')}. Keep them in the file, ` +
          'and remove them from the policy with a change request first.',
        problems,
      );
  }

  /** Names of groups in the file's technical settings (alert rules, checks.sources) that the governed policy does not have. */
  private warnUnknownGroups(file: Config): void {
    const known = new Set(this.config.groups.map((g) => g.name));
    const named = [...file.alerts.rules.flatMap((r) => (r.group ? [r.group] : [])), ...Object.keys(file.checks.sources)];
    const unknown = [...new Set(named.filter((g) => !known.has(g)))];
    if (unknown.length > 0)
      this.logger.warn(
        { groups: unknown },
        'alerts.rules or checks.sources name groups the governed policy does not have; they match nothing',
      );
  }

  /**
   * Every part that reads the config at run time, in the order a new config
   * file reaches them (SIGHUP). Each takes it through `configure(config)` and
   * works out itself what changed, so a part that reads nothing new does
   * nothing. The order matters twice: category bits are positions in
   * `config.categories`, shared by the matcher and the policy, so when lists
   * or categories change the new matcher is built first (the old matcher and
   * policy keep serving together meanwhile) and the policy follows in the same
   * tick as the swap; and a category newly marked illegal has its logged names
   * hidden only after the query log has taken the new dictionaries.
   */
  private readonly configurables: readonly { part: string; configure(config: Config, previous: Config): void | Promise<void> }[] = [
    { part: 'lists', configure: (c) => (this.started ? this.lists.configure(c) : undefined) },
    { part: 'policy', configure: (c) => this.policy.configure(c) },
    {
      part: 'groups',
      configure: (c) => this.groups.configure(c, unfilteredNetworks(this.changes.doc), unfilteredPeople(this.changes.doc)),
    },
    { part: 'identity', configure: (c) => this.identity.configure(c) },
    { part: 'cache', configure: (c) => this.cache.configure(c) },
    { part: 'rebinding', configure: (c) => this.rebinding.configure(c) },
    { part: 'links', configure: (c) => this.links.configure(c) },
    { part: 'log indexes', configure: (c) => this.logIndexes.configure(c) },
    { part: 'alert observer', configure: (c) => this.alertObserver.configure(c) },
    { part: 'dns', configure: (c) => this.configureDns(c) },
    { part: 'admission', configure: (c) => this.admission.configure(c) },
    { part: 'query log', configure: (c) => this.queryLog.setDictionaries(this.dictionaries(c)) },
    { part: 'illegal names', configure: (c, previous) => this.hideNewlyIllegal(c, previous) },
    { part: 'alerts', configure: (c, previous) => this.configureAlerts(c, previous) },
    { part: 'admin', configure: (c, previous) => this.configureAdmin(c, previous) },
    { part: 'reports', configure: (c) => this.reports.configure(c) },
    // Every SIGHUP reads the DoH/DoT certificate again, so a renewal needs no restart.
    { part: 'encrypted dns', configure: (c) => (this.started ? this.encrypted?.configure(c) : undefined) },
  ];

  /** The `dns` settings; listeners opened and closed for a changed `dns.listen`. */
  private async configureDns(config: Config): Promise<void> {
    this.server.configure(config);
    if (this.started) await this.server.relisten(config.dns.listen);
  }

  /** A category newly marked illegal: its rows so far hold names in the clear. */
  private async hideNewlyIllegal(config: Config, previous: Config): Promise<void> {
    if (this.started && config.categories.some((c) => c.illegal && !previous.categories.some((p) => p.id === c.id && p.illegal))) {
      await this.queryLog.flush();
      this.hideIllegalNames(config);
    }
  }

  /** New alert settings: a new engine, the old one stopped after its outbox work is done. */
  private async configureAlerts(config: Config, previous: Config): Promise<void> {
    if (isDeepStrictEqual(config.alerts, previous.alerts)) return;
    const old = this.alerts;
    this.alerts = this.newAlertEngine(config);
    await old.stop();
    this.alerts.start();
  }

  private configureAdmin(config: Config, previous: Config): void {
    if (config.admin.listen !== previous.admin.listen || !isDeepStrictEqual(config.admin.tls, previous.admin.tls))
      this.logger.warn('admin listen address or TLS changed: they take effect at the next restart');
    this.admin?.configure(config);
  }

  /** The parts a governed policy compiles into, without using them: throws what applying would. */
  private compilePolicy(doc: PolicyDocument): void {
    const config = effectiveConfig(this.fileConfig, doc);
    PolicyHandler.compile(config, doc.exceptions, { unfilteredGroups: unfilteredGroups(doc) });
    new GroupIdentifier(config, unfilteredNetworks(doc), unfilteredPeople(doc));
  }

  /**
   * Swap in a governed policy (an applied change, or its end): compiled once,
   * then the policy and the client → group map are replaced, as a reload does.
   */
  private applyPolicy(doc: PolicyDocument): void {
    const previous = this.config;
    const config = effectiveConfig(this.fileConfig, doc);
    this.policy.setPolicy(config, doc.exceptions, { unfilteredGroups: unfilteredGroups(doc) });
    this.groups.configure(config, unfilteredNetworks(doc), unfilteredPeople(doc));
    // People's groups follow the roster group mappings at once (DoH and DoT identities too).
    this.identity.setMappings(doc.identityGroups);
    this.encrypted?.credentials.setMappings(doc.identityGroups);
    // The allow-list's default takes every group's networks; its rate-limit records start again, so only when they changed.
    const nets = (c: Config) => c.groups.map((g) => g.networks);
    if (!isDeepStrictEqual(nets(config), nets(previous))) this.admission.configure(config);
    this.queryLog.setDictionaries(this.dictionaries(config));
    this.admin?.configure(config);
    this.config = config;
  }

  /**
   * Whether the policy blocks a name as illegal content (IWF, CTIRU). Asked of
   * the policy itself, so look-alike and punycode spellings count as they do
   * for queries; illegal content is blocked the same for every group.
   */
  isIllegal(name: string): boolean {
    return this.policy.explain(name, this.config.groups[0].name).illegal;
  }

  private onLinkSwitch(s: LinkSwitch): void {
    this.queryLog.recordLinkSwitch(s);
    const primary = this.config.links[0]?.name;
    this.alerts.operational({
      kind: s.to === primary ? 'link-failback' : 'link-failover',
      message: `internet link switched from ${s.from} to ${s.to}: ${s.reason}`,
      details: { ...s },
      at: s.at,
    });
  }

  /** A `system` upstream read resolv.conf: say what it uses, or raise an alert when nothing was usable. */
  private onNameservers(c: NameserversChange): void {
    if (c.problem === undefined) {
      this.logger.info({ link: c.link, nameservers: c.servers }, 'system upstream: nameservers from resolv.conf');
      return;
    }
    this.logger.error({ link: c.link, problem: c.problem }, 'system upstream: no usable nameserver');
    this.alerts.operational({
      kind: 'system-resolvers-missing',
      message: `link ${c.link}: ${c.problem}`,
      details: { link: c.link, servers: c.servers },
    });
  }

  /** Once a period: who went over the rate limit, summarised (never one query-log row per excess query). */
  private onRateLimited(limited: LimitedSource[]): void {
    const shown = limited.slice(0, MAX_LIMITED_ALERTS);
    for (const l of shown) {
      const what = l.kind === 'network' ? `network ${l.source}` : l.source;
      const message = `${what} sent ${l.excess} queries over the DNS rate limit in ${l.periodSeconds} s (UDP answered with TC=1, TCP with REFUSED)`;
      this.logger.warn({ source: l.source, kind: l.kind, excess: l.excess, periodSeconds: l.periodSeconds }, 'DNS rate limit reached');
      this.alerts.operational({ kind: 'client-rate-limited', client: l.source, message, details: { ...l } });
    }
    if (limited.length > shown.length) {
      const rest = limited.slice(shown.length).reduce((n, l) => n + l.excess, 0);
      this.logger.warn({ sources: limited.length - shown.length, excess: rest }, 'DNS rate limit reached by further sources');
    }
  }

  private onListRefresh(r: RefreshEvent): void {
    const at = Date.parse(r.at);
    this.queryLog.recordListRefresh({ at, listId: r.listId, ok: r.ok, entries: r.entries, error: r.error });
    if (!r.ok)
      this.alerts.operational({
        kind: 'list-refresh-failed',
        message: `list ${r.listId} could not be refreshed: ${r.error}`,
        details: { listId: r.listId },
        at,
      });
  }

  async start(): Promise<void> {
    // Before anything listens: a DoH/DoT certificate that cannot be used stops the start, naming the file.
    this.encrypted?.loadCertificates();
    // Before the writer opens: nothing else writes while old rows are rewritten.
    this.hideIllegalNames(this.config);
    await this.queryLog.start();
    this.queryLog.setDictionaries(this.dictionaries(this.config));
    this.retention.start();
    this.alerts.start();
    this.reports.start();
    // Identity before DNS: people signed in before a restart keep their group from the first query.
    await this.identity.start();
    // Lists before DNS: a filter must not answer unfiltered while it loads.
    await this.lists.start();
    await this.server.start();
    await this.encrypted?.start();
    this.admission.start();
    this.links.startProbes();
    // Changes due while the service was stopped apply or end now (and are tested against the listening resolver).
    await this.changes.start();
    const live = liveDeps(this, this.blocks, this.now);
    if (this.options.admin !== false) {
      this.reader = new StoreReader(this.config.store.path);
      await this.reader.start();
      this.sendIllegalNames();
      this.admin = await buildAdminApp({
        reports: this.reader,
        config: this.config,
        db: this.db,
        logger: this.logger,
        policy: this.policy,
        changes: this.changes,
        isIllegal: (name) => this.isIllegal(name),
        now: this.now,
        live,
      });
      this.adminUrl = await startAdminServer(this.admin, this.config);
      this.logger.info({ url: this.adminUrl }, 'admin UI listening');
      if (this.config.admin.blockPage.enabled) {
        this.blockPage = await buildBlockPageApp({
          config: this.config,
          db: this.db,
          logger: this.logger,
          explain: live.explain!,
          identity: this.identity,
          isIllegal: (name) => this.isIllegal(name),
          now: this.now,
        });
        this.blockPageUrl = await startBlockPageServer(this.blockPage, this.config);
        this.logger.info({ url: this.blockPageUrl }, 'block page listening');
      }
    }
    // The daily filtering self-test: recorded as a check; a failure raises an IT alert.
    this.selfTests = new SelfTestSchedule({ app: this, run: live.selfTest!, logger: this.logger.child({ part: 'checks' }), now: this.now });
    this.selfTests.start();
    this.started = true;
  }

  /**
   * Apply a new, already validated config file without dropping queries
   * (SIGHUP). Its technical settings apply; its groups do not (the governed
   * policy's stay in force, and a difference is reported).
   */
  async reload(file: Config): Promise<void> {
    // Checked first, so a refused file changes nothing.
    this.refuseUnknownCategories(file, this.changes.doc);
    const previousFile = this.fileConfig;
    const previous = this.config;
    this.fileConfig = file;
    const config = effectiveConfig(file, this.changes.doc);
    for (const part of this.configurables) await part.configure(config, previous);
    this.config = config;
    // The swap (if any) came before this.config changed: which categories are illegal may differ.
    this.sendIllegalNames();
    // Technical settings changed in the file are logged too: one change-log row per section, key by key.
    recordConfigChanges(this.db, previousFile, file, 'config file (reload)', this.now());
    this.changes.warnIfFileDiffers(file);
    this.warnUnknownGroups(file);
    this.configRejected = undefined;
    this.logger.info('configuration reloaded');
  }

  /**
   * A reload that failed (the file did not validate, or a part refused it):
   * the running config stays; the problems are logged, kept for the
   * dashboard and raised as an IT alert, so nobody has to read the journal.
   */
  rejectConfig(file: string, err: unknown): void {
    const problems: ConfigRejection['problems'] =
      err instanceof ConfigError
        ? err.problems.map(({ path, line, message }) => ({ path, ...(line ? { line } : {}), message }))
        : [{ path: '', message: err instanceof Error ? err.message : String(err) }];
    const at = this.now();
    this.configRejected = { at, file, problems };
    this.logger.error({ problems }, 'new configuration rejected; the old one stays');
    const first = problems[0];
    this.alerts.operational({
      kind: 'config-rejected',
      message: `the changed config file ${file} was refused and the previous configuration kept: ${first.path || 'file'}${first.line ? ` (line ${first.line})` : ''}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
      details: { file, problems },
      at,
    });
  }

  /** Drain in-flight queries, flush the query log and alerts, close everything (SIGTERM). */
  async stop(): Promise<void> {
    this.selfTests?.stop();
    this.changes.stop();
    await this.changes.idle();
    this.admission.stop();
    await this.encrypted?.stop();
    await this.server.stop();
    this.links.stop();
    this.lists.stop();
    this.retention.stop();
    await this.admin?.close();
    await this.blockPage?.close();
    await this.reader?.close();
    await this.reports.stop();
    await this.alerts.stop();
    await this.identity.stop();
    await this.queryLog.close();
    this.db.close();
    this.started = false;
  }
}

/** Sources over the rate limit raised as alerts per report; the rest are one log line. */
const MAX_LIMITED_ALERTS = 20;

export function buildApp(config: Config, options: AppOptions = {}): Gatehouse {
  return new Gatehouse(config, options);
}
