// Builds a whole Gatehouse from a config without listening (as fastify's
// testing guide does for HTTP): tests start it on port 0, `serve` on the
// configured addresses.
import type { Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { DnsServer } from './resolver/server.js';
import { buildChain } from './resolver/chain.js';
import { GroupIdentifier, IdentifyHandler } from './resolver/identify.js';
import { CacheHandler } from './resolver/cache.js';
import { ForwardHandler } from './resolver/forward.js';
import { LinkManager } from './resolver/links.js';

export interface AppOptions {
  logger?: Logger;
  /** Clock for the cache and link health (tests move it). */
  now?: () => number;
}

export class Gatehouse {
  readonly logger: Logger;
  readonly groups: GroupIdentifier;
  readonly cache: CacheHandler;
  readonly links: LinkManager;
  readonly server: DnsServer;
  private started = false;

  constructor(
    public config: Config,
    options: AppOptions = {},
  ) {
    this.logger = options.logger ?? createLogger(config.logging.level);
    const now = options.now ?? Date.now;
    this.groups = new GroupIdentifier(config);
    this.cache = new CacheHandler(config, now);
    this.links = new LinkManager(config, this.logger.child({ part: 'links' }), now);
    this.server = new DnsServer(this.serverOptions(config), this.chain());
  }

  private chain() {
    return buildChain({
      identify: new IdentifyHandler(this.groups),
      cache: this.cache,
      forward: new ForwardHandler(this.links),
    });
  }

  private serverOptions(config: Config) {
    const { listen, udpSize, tcpIdleTimeoutMs, tcpMaxConnections, drainTimeoutMs } = config.dns;
    return { listen, udpSize, tcpIdleTimeoutMs, tcpMaxConnections, drainTimeoutMs, logger: this.logger.child({ part: 'dns' }) };
  }

  async start(): Promise<void> {
    await this.server.start();
    this.links.startProbes();
    this.started = true;
  }

  /** Apply a new, already validated config without dropping queries (SIGHUP). */
  async reload(config: Config): Promise<void> {
    this.groups.configure(config);
    this.cache.configure(config);
    this.links.configure(config);
    this.server.setOptions(this.serverOptions(config));
    if (this.started) await this.server.relisten(config.dns.listen);
    this.config = config;
    this.logger.info('configuration reloaded');
  }

  /** Drain in-flight queries and close everything (SIGTERM). */
  async stop(): Promise<void> {
    await this.server.stop();
    this.links.stop();
    this.started = false;
  }
}

export function buildApp(config: Config, options: AppOptions = {}): Gatehouse {
  return new Gatehouse(config, options);
}
