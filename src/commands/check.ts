// `gatehouse check --config FILE`: the filtering self-test against the running
// service. Prints one row per test (group, source address, category, name,
// expected and actual result), records the run in the checks record (the same
// one the admin UI's Checks page shows), and exits 1 if any test failed or
// nothing could be tested. See src/checks/self-test.ts.
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { recordCheck } from '../checks/record.js';
import { formatTable, runSelfTest, type CheckResult } from '../checks/self-test.js';
import { hasTables, openDatabase } from '../store/db.js';
import { parseCommandArgs, type Command } from './command.js';

/** Add the run to the checks record; returns a line saying what happened. Never throws. */
function record(config: Config, result: CheckResult): string {
  const path = config.store.path;
  if (!existsSync(path)) return `not recorded: no database at ${path} yet (start the service once)`;
  try {
    const db = openDatabase(path);
    try {
      if (!hasTables(db, 'checks')) return 'not recorded: this database has no checks record';
      const actions = result.ok ? [] : ['Run from the command line: no alert was raised; the person who ran it saw the failures.'];
      const id = recordCheck(db, result, `cli (${userInfo().username})`, 'cli', actions);
      return `recorded as check ${id} (admin UI: Checks)`;
    } finally {
      db.close();
    }
  } catch (err) {
    return `not recorded: ${(err as Error).message} (run as the service user: sudo -u gatehouse gatehouse check ...)`;
  }
}

export const command: Command = {
  summary: 'run the filtering self-test against the running service (exit 1 on a failure)',
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      server: { type: 'string' },
      group: { type: 'string', multiple: true },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-record': { type: 'boolean', default: false },
    });
    let config: Config;
    try {
      config = loadConfig(values.config!);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(err.message + '\n');
        return 1;
      }
      throw err;
    }
    const unknown = (values.group ?? []).filter((g) => !config.groups.some((c) => c.name === g));
    if (unknown.length > 0) {
      process.stderr.write(`gatehouse check: unknown group ${unknown.map((g) => `"${g}"`).join(', ')}\n`);
      return 2;
    }
    const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
      process.stderr.write(`gatehouse check: --timeout wants milliseconds, got "${values.timeout}"\n`);
      return 2;
    }
    const result = await runSelfTest({ config, server: values.server, groups: values.group, timeoutMs });
    if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else process.stdout.write(formatTable(result));
    if (!values['no-record']) process.stderr.write(record(config, result) + '\n');
    if (Object.keys(config.checks.names).length === 0 && !values.json) {
      process.stderr.write('note: checks.names is empty, so only the DoH canary was tested; add test names per category to the config\n');
    }
    return result.ok ? 0 : 1;
  },
};
