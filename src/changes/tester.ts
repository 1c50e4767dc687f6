// Runs the test of an applied change against the running resolver and keeps it
// in the checks record (trigger "change"), as the self-test's runs are kept; a
// failure raises a change-test-failed IT alert. What to ask and what to expect
// comes from verify.ts.
import type { Database } from 'better-sqlite3';
import ipaddr from 'ipaddr.js';
import type { OperationalEvent } from '../alerts/types.js';
import { runAndRecord } from '../checks/run.js';
import { localAddresses, parseHostPort, runPlans } from '../checks/self-test.js';
import type { Config } from '../config.js';
import { planChangeTest } from './verify.js';
import type { ChangeLive, TestOutcome } from './service.js';

export interface TesterDeps {
  db: Database;
  /** The config file (categories, checks.names, checks.timeoutMs). */
  config: () => Config;
  /** IP:PORT of the running resolver, once it listens. */
  server: () => string | undefined;
  categoriesOf: (name: string) => string[];
  alerts: () => { operational?(e: OperationalEvent): void } | undefined;
  now: () => number;
  /** This machine's addresses (tests give their own). */
  localAddresses?: () => readonly string[];
  /** The self-test's check token (checks/check-token.ts): the test's queries are check traffic, kept out of the query log's people and alerts. */
  checkToken?: Buffer;
}

export function changeTester(deps: TesterDeps): NonNullable<ChangeLive['test']> {
  return async ({ request, before, after }): Promise<TestOutcome> => {
    const serverText = deps.server();
    if (!serverText) return { ok: null, summary: 'not tested: the resolver is not listening' };
    const config = deps.config();
    const server = parseHostPort(serverText);
    const plan = planChangeTest({
      ops: request.ops,
      before,
      after,
      config,
      categoriesOf: deps.categoriesOf,
      now: deps.now(),
      localAddresses: deps.localAddresses?.() ?? localAddresses(),
      family: ipaddr.parse(server.host).kind(),
    });
    const aside = [...plan.untestable, ...plan.skipped.map((s) => `${s.group}: not tested: ${s.reason}`)];
    if (plan.plans.length === 0) return { ok: null, summary: `not tested: ${aside.join('; ') || 'nothing in it can be asked of DNS'}` };
    const { id, result } = await runAndRecord({
      run: () =>
        runPlans({
          config,
          server,
          plans: plan.plans,
          skipped: plan.skipped,
          timeoutMs: config.checks.timeoutMs,
          checkToken: deps.checkToken,
        }),
      db: deps.db,
      alerts: deps.alerts(),
      runBy: `change #${request.id}`,
      trigger: 'change',
      alert: (r) => ({
        kind: 'change-test-failed',
        message: `Change #${request.id} did not pass its test: ${r.summary}`,
        subject: `change #${request.id}`,
        details: { change: request.id, failed: r.failed },
      }),
      now: deps.now,
    });
    const summary = result.summary + (plan.untestable.length ? `; ${plan.untestable.join('; ')}` : '');
    return { ok: result.ok, summary, cases: result.cases, checkId: id };
  };
}
