// The lists as the rest of Gatehouse sees them: loads every configured list
// (download or file, falling back to the last good copy), builds the matcher in
// a worker, swaps it in with one assignment, refreshes on each list's cron
// schedule, and reports status. DNS never waits for any of it: `matcher` always
// holds a complete matcher, the old one until the new one is ready.
import { isDeepStrictEqual } from 'node:util';
import { EventEmitter } from 'node:events';
import cron, { type ScheduledTask } from 'node-cron';
import type { Config, ListConfig } from '../config.js';
import type { Logger } from '../log.js';
import { buildInWorker } from './build.js';
import type { BuildListInput } from './build-job.js';
import { CompactMatcher, emptyMatcher, type DomainMatcher } from './matcher.js';
import { emptyReport, type ParseReport } from './report.js';
import { displaySource, fetchList, type FetchOutcome } from './source.js';
import { LastGoodStore } from './store.js';

export type { DomainMatcher, MatchExplanation } from './matcher.js';

export interface ListStatus {
  id: string;
  category: string;
  /** The category is illegal (IWF, CTIRU): only counts are ever shown. */
  illegal: boolean;
  /** Source without user-info or query string. */
  source: string;
  format: ListConfig['format'];
  /** Blocking entries in the copy in use. */
  entries: number;
  exceptions: number;
  /** Lines that are not valid in the format: a count and the first line numbers (never the text). */
  badLines: { count: number; lines: number[] };
  /** Valid rules DNS cannot enforce (URL paths, adblock options, RPZ IP triggers): counted, not blocked. */
  unenforcedPathEntries: number;
  /** IP addresses where names were expected: skipped. */
  ipEntries: number;
  /** The copy in use: 'source' (fresh this refresh or unchanged), 'last-good' (the refresh failed), 'none'. */
  serving: 'source' | 'last-good' | 'none';
  /** Last refresh attempt, ISO time; null before the first. */
  lastRefresh: string | null;
  /** Last refresh that brought a usable copy (new or unchanged). */
  lastSuccess: string | null;
  /** Why the last refresh failed (download, parse or file error); null when it worked. */
  lastError: string | null;
  etag: string | null;
  lastModified: string | null;
}

export interface RefreshEvent {
  listId: string;
  ok: boolean;
  entries: number;
  error: string | null;
  at: string;
}

interface ListState {
  report: ParseReport;
  serving: ListStatus['serving'];
  lastRefresh: string | null;
  lastSuccess: string | null;
  lastError: string | null;
  /** Of the last good copy (kept here so status() never touches the disk). */
  etag: string | null;
  lastModified: string | null;
}

export class ListManager extends EventEmitter {
  private current: DomainMatcher = emptyMatcher();
  private config: Config;
  /** The config last given to `configure` (the one in `config` may still be queued behind a refresh). Only its lists and categories are read. */
  private requested: Config;
  private readonly store: LastGoodStore;
  private readonly logger: Logger;
  private readonly states = new Map<string, ListState>();
  private tasks: ScheduledTask[] = [];
  /** Refreshes and reloads run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The matcher in use was built from the current config's list set. */
  private builtForConfig = false;
  private stopped = false;

  constructor(config: Config, opts: { dataDir: string; logger: Logger }) {
    super();
    this.config = config;
    this.requested = config;
    this.store = new LastGoodStore(opts.dataDir);
    this.logger = opts.logger.child({ part: 'lists' });
  }

  /** The current matcher: read it per query; it is replaced whole on each rebuild. */
  get matcher(): DomainMatcher {
    return this.current;
  }

  /** Load every list (download or file, else the last good copy), build, swap in; then schedule refreshes. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.enqueue(() => this.run(this.config.lists.map((l) => l.id)));
    this.schedule();
  }

  /** Refresh one list, or all; resolves when the new matcher (if any) is in use. */
  refresh(listId?: string): Promise<void> {
    if (listId !== undefined && !this.config.lists.some((l) => l.id === listId)) {
      return Promise.reject(new Error(`unknown list "${listId}"`));
    }
    return this.enqueue(() => this.run(listId === undefined ? this.config.lists.map((l) => l.id) : [listId]));
  }

  /**
   * A new config (SIGHUP). Lists that are new or whose source or format
   * changed are fetched; the others are rebuilt from their last good copy, as
   * category bits may have moved.
   */
  configure(config: Config): Promise<void> {
    // Category bits are positions in config.categories, so a change there rebuilds every list too.
    const same = isDeepStrictEqual(config.lists, this.requested.lists) && isDeepStrictEqual(config.categories, this.requested.categories);
    this.requested = config;
    if (same) return Promise.resolve();
    return this.enqueue(async () => {
      const old = new Map(this.config.lists.map((l) => [l.id, l]));
      this.config = config;
      this.builtForConfig = false;
      for (const id of [...this.states.keys()]) if (!config.lists.some((l) => l.id === id)) this.states.delete(id);
      const changed = config.lists.filter((l) => {
        const before = old.get(l.id);
        return !before || before.source !== l.source || before.format !== l.format || !this.store.has(l.id);
      });
      await this.run(changed.map((l) => l.id));
      if (!this.stopped) this.schedule();
    });
  }

  stop(): void {
    this.stopped = true;
    for (const task of this.tasks) void task.destroy();
    this.tasks = [];
  }

  status(): ListStatus[] {
    const categories = new Map(this.config.categories.map((c) => [c.id, c]));
    return this.config.lists.map((list) => {
      const state = this.states.get(list.id);
      const report = state?.report ?? emptyReport();
      return {
        id: list.id,
        category: list.category,
        illegal: categories.get(list.category)?.illegal ?? false,
        source: displaySource(list.source),
        format: list.format,
        entries: report.entries,
        exceptions: report.exceptions,
        badLines: { count: report.badLines.count, lines: [...report.badLines.lines] },
        unenforcedPathEntries: report.unenforced,
        ipEntries: report.ipEntries,
        serving: state?.serving ?? 'none',
        lastRefresh: state?.lastRefresh ?? null,
        lastSuccess: state?.lastSuccess ?? null,
        lastError: state?.lastError ?? null,
        etag: state?.etag ?? null,
        lastModified: state?.lastModified ?? null,
      };
    });
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const next = this.queue.then(job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** One refresh: fetch the named lists, rebuild when anything changed, record the outcome. */
  private async run(ids: string[]): Promise<void> {
    const at = new Date().toISOString();
    const lists = this.config.lists;
    const wanted = new Set(ids);
    const fetched = new Map<string, FetchOutcome>();
    await Promise.all(lists.filter((l) => wanted.has(l.id)).map(async (l) => fetched.set(l.id, await fetchList(l, this.store))));
    const anyNew = [...fetched.values()].some((f) => f.kind === 'new');
    if (!anyNew && this.builtForConfig) {
      // Nothing new to build: the matcher in use stays, and says which copy serves.
      for (const [id, outcome] of fetched) {
        const state = this.stateOf(id);
        if (outcome.kind === 'unchanged' && state.serving !== 'none') state.serving = 'source';
        if (outcome.kind === 'failed' && state.serving === 'source') state.serving = 'last-good';
        this.record(id, outcome, null, at);
      }
      return;
    }

    const bitOf = new Map(this.config.categories.map((c, i) => [c.id, i]));
    const inputs: BuildListInput[] = lists.map((l) => {
      const outcome = fetched.get(l.id);
      const input: BuildListInput = { id: l.id, category: l.category, bit: bitOf.get(l.category)!, format: l.format };
      if (outcome?.kind === 'new') input.candidate = outcome.path;
      if (this.store.has(l.id)) input.fallback = this.store.path(l.id);
      return input;
    });
    let result;
    try {
      result = await buildInWorker(inputs);
    } catch (err) {
      for (const [id, outcome] of fetched) if (outcome.kind === 'new' && outcome.download) this.store.discardDownload(id);
      for (const id of fetched.keys()) this.record(id, { kind: 'failed', error: (err as Error).message }, null, at);
      throw err;
    }

    // Swap first: nothing below changes what the new matcher answers.
    this.current = new CompactMatcher(
      result.data,
      lists.map((l) => ({ id: l.id, category: l.category, bit: bitOf.get(l.category)! })),
    );
    this.builtForConfig = true;
    this.logger.info(
      { names: this.current.size, rawEntries: result.rawEntries, buildMs: Math.round(result.buildMs) },
      'list matcher swapped in',
    );
    this.emit('swap', { size: this.current.size, at });

    // Then keep accepted copies as the last good ones, and record each outcome.
    for (const [i, l] of lists.entries()) {
      const built = result.lists[i];
      const outcome = fetched.get(l.id);
      const state = this.stateOf(l.id);
      if (outcome?.kind === 'new') {
        if (built.used === 'candidate') {
          state.etag = outcome.meta.etag ?? null;
          state.lastModified = outcome.meta.lastModified ?? null;
          if (outcome.download) this.store.promoteDownload(l.id, outcome.meta);
          else
            await this.store
              .copyFrom(l.id, outcome.path, outcome.meta)
              .catch((err: Error) => this.logger.warn({ list: l.id, err: err.message }, 'cannot keep a copy of the list file'));
        } else if (outcome.download) this.store.discardDownload(l.id);
      }
      state.report = built.report;
      if (built.used === 'none') state.serving = 'none';
      else if (built.used === 'candidate') state.serving = 'source';
      else if (built.error || outcome?.kind === 'failed') state.serving = 'last-good';
      else if (outcome?.kind === 'unchanged') state.serving = 'source';
      else if (state.serving === 'none') state.serving = 'last-good';
      if (outcome) {
        const error = outcome.kind === 'failed' ? outcome.error : (built.error ?? null);
        this.record(l.id, outcome, error, at);
      } else if (built.error && built.used === 'none') {
        state.lastError = built.error;
      }
    }
  }

  /** Record the outcome of one list's refresh and announce it. */
  private record(id: string, outcome: FetchOutcome, buildError: string | null, at: string): void {
    const state = this.stateOf(id);
    const error = outcome.kind === 'failed' ? outcome.error : buildError;
    state.lastRefresh = at;
    state.lastError = error;
    if (!error) state.lastSuccess = at;
    const event: RefreshEvent = { listId: id, ok: !error, entries: state.report.entries, error, at };
    if (error) this.logger.warn({ list: id, error }, 'list refresh failed; keeping the last good copy');
    this.emit('refresh', event);
  }

  private stateOf(id: string): ListState {
    let state = this.states.get(id);
    if (!state) {
      const meta = this.store.meta(id);
      state = {
        report: emptyReport(),
        serving: 'none',
        lastRefresh: null,
        lastSuccess: null,
        lastError: null,
        etag: meta?.etag ?? null,
        lastModified: meta?.lastModified ?? null,
      };
      this.states.set(id, state);
    }
    return state;
  }

  /** One cron task per distinct schedule, refreshing its lists together (one rebuild, not one per list). */
  private schedule(): void {
    for (const task of this.tasks) void task.destroy();
    this.tasks = [];
    const bySchedule = new Map<string, string[]>();
    for (const list of this.config.lists) {
      if (!cron.validate(list.refresh)) {
        this.stateOf(list.id).lastError = `invalid refresh schedule "${list.refresh}"`;
        continue;
      }
      bySchedule.set(list.refresh, [...(bySchedule.get(list.refresh) ?? []), list.id]);
    }
    for (const [expression, ids] of bySchedule) {
      const task = cron.schedule(
        expression,
        () => {
          const still = ids.filter((id) => this.config.lists.some((l) => l.id === id));
          void this.enqueue(() => this.run(still)).catch((err: Error) =>
            this.logger.error({ err: err.message }, 'scheduled list refresh failed'),
          );
        },
        { noOverlap: true },
      );
      this.tasks.push(task);
    }
  }
}
