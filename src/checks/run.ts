// One self-test run as the admin UI and the schedule inside `serve` do it:
// run, raise a 'check-failed' operational alert when it fails, and record the
// run with the actions taken, so the record says who was told.
import type { Database } from 'better-sqlite3';
import type { OperationalEvent } from '../alerts/types.js';
import { recordCheck, type CheckTrigger } from './record.js';
import type { CheckResult } from './self-test.js';

export interface RunAndRecordOptions {
  run: () => Promise<CheckResult>;
  db: Database;
  /** The alert engine, when one is connected. */
  alerts?: { operational?(e: OperationalEvent): void };
  runBy: string;
  trigger: CheckTrigger;
  now?: () => number;
  /** The alert a failure raises (default: check-failed). */
  alert?: (result: CheckResult) => OperationalEvent;
}

export async function runAndRecord(opts: RunAndRecordOptions): Promise<{ id: number; result: CheckResult }> {
  const result = await opts.run();
  const actions: string[] = [];
  if (!result.ok) {
    if (opts.alerts?.operational) {
      const alert = opts.alert?.(result) ?? {
        kind: 'check-failed',
        message: `Filtering check failed: ${result.summary}`,
        details: { failed: result.failed, runBy: opts.runBy },
      };
      opts.alerts.operational(alert);
      actions.push(`Operational alert raised (${alert.kind}) to the configured alert channels.`);
    } else {
      actions.push('No alert engine connected: nobody was alerted automatically.');
    }
  }
  const id = recordCheck(opts.db, result, opts.runBy, opts.trigger, actions, (opts.now ?? Date.now)());
  return { id, result };
}
