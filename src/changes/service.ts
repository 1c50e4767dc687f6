// Change control as the running service has it: the governed policy in
// memory, every step of a change request (with its notices in the same
// transaction), the live policy swapped in after each applied step, the test
// of each applied change, and the timer that applies, ends and watches
// changes on time. The admin UI and the scheduler call this; the CLI uses
// the step functions underneath (requests.ts, apply.ts) directly.
import type { Database } from 'better-sqlite3';
import { HelpServices } from '../resolver/help-services.js';
import type { Notice, OperationalEvent } from '../alerts/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { applyChange, emergencyApply, endChange, expireChange, recordTest, revertChange, reviewEmergency, type Stepped } from './apply.js';
import { changesCategories } from './describe.js';
import {
  fileDifferenceWords,
  fileGroupsDiffer,
  fileMappingsDiffer,
  type FilePart,
  type PolicyDocument,
  type PolicyVersion,
} from './document.js';
import { ChangeError } from './errors.js';
import { categoryNotice, emergencyNotices, overdueNotice, waitingNotice } from './notify.js';
import {
  createRequest,
  decideRequest,
  submitRequest,
  updateDraft,
  withdrawRequest,
  type Actor,
  type NewRequest,
  type RequestFields,
} from './requests.js';
import { ensureMappings, ensureSeeded } from './seed.js';
import {
  countRequests,
  currentVersion,
  dueToApply,
  dueToEnd,
  getVersion,
  mustGetRequest,
  nextDueAt,
  overdueEmergencies,
  unannounced,
  updateRequest,
  type ChangeRequest,
} from './store.js';
import { ChangeTimer } from './timer.js';
import type { ChangeOp } from './operations.js';
import type { PolicyEnv } from './validate.js';

export interface TestOutcome {
  ok: boolean | null;
  summary: string;
  cases?: unknown;
  checkId?: number | null;
}

/** What change control needs of the running service; every part is optional (the admin tests run without a resolver). */
export interface ChangeLive {
  /** Compile a document as the resolver would; throws if it cannot (called before a step commits). */
  check?(doc: PolicyDocument): void;
  /** Swap the new policy in (after the step committed). */
  apply?(doc: PolicyDocument, version: number): void;
  /** Whether the lists put a name in an illegal category. */
  isIllegal?(name: string): boolean;
  /** Test an applied change against the running resolver. */
  test?(t: { request: ChangeRequest; before: PolicyDocument; after: PolicyDocument }): Promise<TestOutcome>;
  /** The alert engine (read on each use: a reload replaces it). */
  alerts?(): { operational(e: OperationalEvent): void; notice(n: Notice): number | null } | undefined;
  /** Whether identity sources can recognise a person. */
  people?: boolean;
}

export interface ChangeControlOptions {
  db: Database;
  /** The config file as loaded (read on each use: a reload replaces it). */
  config: () => Config;
  logger: Logger;
  now?: () => number;
  live?: ChangeLive;
}

const SCHEDULER: Actor = { name: 'gatehouse (scheduled)', id: null };

export class ChangeControl {
  private loaded: PolicyVersion | undefined;
  private readonly timer: ChangeTimer;
  private readonly inFlight = new Set<Promise<unknown>>();
  private running: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly log: Logger;
  live: ChangeLive;

  constructor(private readonly opts: ChangeControlOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ part: 'changes' });
    this.live = opts.live ?? {};
    this.timer = new ChangeTimer(
      () => this.runDue(),
      () => nextDueAt(opts.db),
      this.now,
    );
  }

  private get db(): Database {
    return this.opts.db;
  }

  private get config(): Config {
    return this.opts.config();
  }

  /** The config file as loaded (its groups and identity.groups are compared with the policy, never applied). */
  fileConfig(): Config {
    return this.opts.config();
  }

  /** Seed the policy if this is the first start, and load the version in force (without the timer). */
  load(): PolicyVersion {
    if (ensureSeeded(this.db, this.config, this.now()))
      this.log.info(
        { groups: this.config.groups.length },
        'change control: the governed policy was seeded from the config file (change #1)',
      );
    const taken = ensureMappings(this.db, this.config, this.now());
    if (taken) {
      for (const note of taken.notes) this.log.warn({ change: taken.changeId }, `change control: ${note}`);
      this.log.info(
        { change: taken.changeId, mappings: taken.mappings },
        'change control: the roster group mappings (identity.groups) were taken into the governed policy from the config file; ' +
          'from now on they change only through change requests',
      );
    }
    this.loaded = currentVersion(this.db)!;
    return this.loaded;
  }

  /** Load, swap the policy in, say whether the file's groups differ, arm the timer and do what was due while stopped. */
  async start(): Promise<void> {
    const v = this.load();
    this.live.apply?.(v.doc, v.version);
    this.warnIfFileDiffers();
    this.timer.start();
    await this.runDue();
  }

  stop(): void {
    this.timer.stop();
  }

  /** Tests in flight and the scheduler's current run, for a clean stop (and for tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.running) {
      await Promise.allSettled([...this.inFlight, this.running]);
    }
  }

  get version(): number {
    return this.current().version;
  }

  get doc(): PolicyDocument {
    return this.current().doc;
  }

  private current(): PolicyVersion {
    return this.loaded ?? this.load();
  }

  policyAt(version: number): PolicyVersion | undefined {
    return getVersion(this.db, version);
  }

  /** The parts of the config file that still say something, other than the governed policy: they are not applied. */
  fileDifferences(config: Config = this.config): FilePart[] {
    const parts: FilePart[] = [];
    if (fileGroupsDiffer(config.groups, this.doc, config.categories)) parts.push('groups');
    if (fileMappingsDiffer(config.identity.groups, this.doc)) parts.push('identity.groups');
    return parts;
  }

  fileDiffers(config: Config = this.config): boolean {
    return this.fileDifferences(config).length > 0;
  }

  warnIfFileDiffers(config: Config = this.config): void {
    const parts = this.fileDifferences(config);
    if (parts.length > 0)
      this.log.warn(
        { differs: parts },
        `change control: ${fileDifferenceWords(parts)} in the config file differ from the governed policy and are NOT applied; ` +
          'the policy changes only through change requests (gatehouse policy import FILE turns the difference into one)',
      );
  }

  env(): PolicyEnv {
    const c = this.config;
    return {
      categories: c.categories,
      ...(this.live.isIllegal ? { isIllegal: this.live.isIllegal } : {}),
      maxSwitchOffHours: c.changeControl.maxSwitchOffHours,
      people: this.live.people ?? false,
      isHelpService: (name) => new HelpServices(c.helpServices).covers(name),
    };
  }

  /** Requests waiting for an approver (the menu's count). */
  waiting(): number {
    return countRequests(this.db, 'submitted');
  }

  overdue(): ChangeRequest[] {
    return overdueEmergencies(this.db, this.now());
  }

  /** One step in one immediate transaction, with the notices it sends. */
  private step<T>(fn: () => T): T {
    const run = this.db.transaction(fn);
    const out = this.db.inTransaction ? run() : run.immediate();
    this.timer.arm();
    return out;
  }

  private notify(n: Notice | null): void {
    if (!n) return;
    const alerts = this.live.alerts?.();
    if (!alerts) {
      this.log.warn({ kind: n.kind, change: n.changeId }, 'change control: no alert engine connected; a notice was not sent');
      return;
    }
    alerts.notice(n);
  }

  private check = (doc: PolicyDocument) => this.live.check?.(doc);

  /** Tell the approvers a request waits for them, and note that they were told (inside the step's transaction). */
  private announce(c: ChangeRequest): void {
    this.notify(waitingNotice(c, this.config));
    updateRequest(this.db, c.id, { waiting_notified_at: this.now() });
  }

  create(input: NewRequest, actor: Actor): ChangeRequest {
    return this.step(() => {
      const c = createRequest(this.db, this.doc, this.env(), input, actor, this.now());
      if (c.status === 'submitted') this.announce(c);
      return c;
    });
  }

  update(id: number, input: RequestFields & { ops: ChangeOp[]; submit: boolean }, actor: Actor): ChangeRequest {
    return this.step(() => {
      const c = updateDraft(this.db, this.doc, this.env(), id, input, actor, this.now());
      if (c.status === 'submitted') this.announce(c);
      return c;
    });
  }

  submit(id: number, actor: Actor): ChangeRequest {
    return this.step(() => {
      const c = submitRequest(this.db, this.doc, this.env(), id, actor, this.now());
      this.announce(c);
      return c;
    });
  }

  withdraw(id: number, actor: Actor, note: string): ChangeRequest {
    const c = mustGetRequest(this.db, id);
    if (actor.role !== 'admin' && actor.id !== c.createdById)
      throw new ChangeError('GH_ERR_CHANGE_ROLE', 'Only the account that made the request, or an admin, can withdraw it.');
    return this.step(() => withdrawRequest(this.db, id, actor, note, this.now()));
  }

  /** Approve; a change due now applies at once (and is tested). */
  approve(id: number, actor: Actor, note = ''): ChangeRequest {
    const c = this.step(() => decideRequest(this.db, id, 'approve', actor, note, this.now()));
    if (c.startsAt === null || c.startsAt <= this.now()) return this.applyApproved(c.id, actor).request;
    this.log.info({ change: id, startsAt: new Date(c.startsAt).toISOString() }, 'change approved; it applies at its start time');
    return c;
  }

  refuse(id: number, actor: Actor, note: string): ChangeRequest {
    return this.step(() => decideRequest(this.db, id, 'refuse', actor, note, this.now()));
  }

  /** An approved change applies: new policy version, live swap, category notice, test. */
  private applyApproved(id: number, actor: Actor): Stepped {
    const before = this.doc;
    const s = this.step(() => {
      const s = applyChange(this.db, this.env(), id, actor, this.now(), this.check);
      if (s.doc && changesCategories(s.request.described)) this.notify(categoryNotice(s.request, this.config, 'applied'));
      return s;
    });
    if (s.request.status === 'failed') this.log.error({ change: id, why: s.notes }, 'change could not apply: it no longer fits the policy');
    this.afterWrite(s, before, true);
    return s;
  }

  emergency(id: number, actor: Actor): ChangeRequest {
    const before = this.doc;
    const cc = this.config.changeControl;
    const s = this.step(() => {
      const s = emergencyApply(this.db, this.env(), id, actor, cc.emergencyAdmins, cc.emergencyReviewHours, this.now(), this.check);
      for (const n of emergencyNotices(s.request, this.config)) this.notify(n);
      if (changesCategories(s.request.described)) this.notify(categoryNotice(s.request, this.config, 'applied'));
      return s;
    });
    this.live.alerts?.()?.operational({
      kind: 'emergency-change',
      message: `Emergency change #${id} applied by ${actor.name} without approval: ${s.request.summary}`,
      subject: `change #${id}`,
      details: { change: id, reviewDueAt: new Date(s.request.reviewDueAt!).toISOString() },
    });
    this.log.warn({ change: id, by: actor.name }, 'EMERGENCY change applied; an approver must review it');
    this.afterWrite(s, before, true);
    return s.request;
  }

  /** An approver's review of an emergency change; refused, it is reverted at once. */
  review(id: number, actor: Actor, decision: 'approve' | 'refuse', note: string): ChangeRequest {
    const c = this.step(() => reviewEmergency(this.db, id, decision, actor, note, this.now()));
    if (decision === 'refuse' && c.status === 'applied')
      return this.revert(id, actor, `refused in review${note.trim() ? ': ' + note.trim() : ''}`);
    return c;
  }

  /** Revert an applied change with one action (itself a change, applied at once). Returns the revert change. */
  revert(id: number, actor: Actor, reason: string): ChangeRequest {
    if (actor.role !== 'admin' && actor.role !== 'approver')
      throw new ChangeError('GH_ERR_CHANGE_ROLE', 'Only an admin or an approver can revert a change.');
    const before = this.doc;
    const s = this.step(() => {
      const s = revertChange(this.db, this.env(), id, actor, reason, this.now(), this.check);
      if (changesCategories(s.request.described)) this.notify(categoryNotice(s.request, this.config, 'reverted'));
      return s;
    });
    this.afterWrite(s, before, true);
    return s.request;
  }

  /** The scheduler: apply what is due, end what has ended, raise overdue reviews. Runs one at a time. */
  runDue(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        this.runDueNow();
      } catch (err) {
        this.log.error({ err }, 'change scheduler failed; it tries again shortly');
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private runDueNow(): void {
    const now = this.now();
    for (const c of unannounced(this.db)) this.step(() => this.announce(c));
    for (const c of dueToApply(this.db, now)) {
      if (c.endsAt !== null && c.endsAt <= now) {
        this.step(() => expireChange(this.db, c.id, SCHEDULER, now));
        this.log.warn({ change: c.id }, 'change was due and ended while the service was not running; it was never applied');
      } else this.applyApproved(c.id, SCHEDULER);
    }
    for (const c of dueToEnd(this.db, now)) {
      const before = this.doc;
      const s = this.step(() => {
        const s = endChange(this.db, this.env(), c.id, SCHEDULER, this.now(), this.check);
        if (changesCategories(s.request.described)) this.notify(categoryNotice(s.request, this.config, 'ended'));
        return s;
      });
      this.log.info({ change: c.id, notes: s.notes }, 'temporary change ended');
      this.afterWrite(s, before, false);
    }
    for (const c of overdueEmergencies(this.db, now)) {
      if (c.overdueAlertedAt !== null) continue;
      this.step(() => {
        updateRequest(this.db, c.id, { overdue_alerted_at: now });
        this.notify(overdueNotice(c, this.config));
      });
      this.live.alerts?.()?.operational({
        kind: 'emergency-review-overdue',
        message: `Emergency change #${c.id} was due for an approver's review by ${new Date(c.reviewDueAt!).toISOString()}: ${c.summary}`,
        subject: `change #${c.id}`,
        details: { change: c.id },
      });
      this.log.warn({ change: c.id }, 'emergency change overdue for review');
    }
  }

  /** After a step wrote a version: keep it, swap it in, and test what applied. */
  private afterWrite(s: Stepped, before: PolicyDocument, test: boolean): void {
    if (s.version === undefined || !s.doc) return;
    this.loaded = { version: s.version, at: this.now(), changeId: s.request.id, doc: s.doc };
    try {
      this.live.apply?.(s.doc, s.version);
    } catch (err) {
      // check() compiled the same document before the commit; this should not happen.
      this.log.error({ err, version: s.version }, 'change control: the resolver refused the new policy');
    }
    if (test) this.track(this.test(s.request, before, s.doc));
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async test(c: ChangeRequest, before: PolicyDocument, after: PolicyDocument): Promise<void> {
    let outcome: TestOutcome;
    try {
      outcome = this.live.test
        ? await this.live.test({ request: c, before, after })
        : { ok: null, summary: 'not tested: no resolver is connected to run the test' };
    } catch (err) {
      this.log.error({ err, change: c.id }, 'change test could not run');
      outcome = { ok: false, summary: `the test could not run: ${(err as Error).message}` };
      this.live.alerts?.()?.operational({
        kind: 'change-test-failed',
        message: `Change #${c.id}: ${outcome.summary}`,
        subject: `change #${c.id}`,
        details: { change: c.id },
      });
    }
    try {
      recordTest(this.db, c.id, outcome, this.now());
    } catch (err) {
      this.log.error({ err, change: c.id }, 'change test result could not be stored');
    }
    if (outcome.ok === false) this.log.error({ change: c.id, summary: outcome.summary }, 'change FAILED its test');
  }
}
