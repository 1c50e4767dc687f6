// `gatehouse check --config FILE`: the filtering self-test against the running
// service. Prints one row per test (group, source address, category, name,
// expected and actual result), records the run in the checks record (the same
// one the admin UI's Checks page shows), and exits 1 if any test failed or
// nothing could be tested. See src/checks/self-test.ts.
//
// The queries carry the service's check token (src/checks/check-token.ts) so
// they are logged as check traffic and raise no alert; the token file is the
// service user's, so this runs as that user (sudo -u gatehouse gatehouse check).
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Config } from '../config.js';
import { recordCheck } from '../checks/record.js';
import { formatTable, runSelfTest, type CheckResult } from '../checks/self-test.js';
import { readCheckToken } from '../checks/check-token.js';
import { hasTables, openDatabase } from '../store/db.js';
import { effectiveConfig, isSwitchedOff, type PolicyDocument } from '../changes/document.js';
import { currentVersion } from '../changes/store.js';
import { commandConfig, defineCommand, sayDatabase, type ConfigSource } from './command.js';

/** The governed policy in the config's database, if there is one yet (read-only; never seeds). */
function governedPolicy(config: Config): PolicyDocument | undefined {
  if (!existsSync(config.store.path)) return undefined;
  try {
    const db = openDatabase(config.store.path, { readonly: true });
    try {
      return hasTables(db, 'governed_policy') ? currentVersion(db)?.doc : undefined;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/** Add the run to the checks record; returns a line saying what happened. Never throws. */
function record(config: Config, source: ConfigSource, result: CheckResult): string {
  const path = config.store.path;
  if (!existsSync(path)) return `not recorded: no database at ${path} yet (start the service once)`;
  sayDatabase(path, source);
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

export const command = defineCommand(
  {
    name: 'check',
    summary: 'run the filtering self-test against the running service (exit 1 on a failure)',
    usage: ['check --config FILE [--server IP:PORT] [--group NAME]... [--timeout MS] [--json] [--no-record] [--untagged]'],
    options: {
      server: { type: 'string', value: 'IP:PORT', help: 'the resolver to test (default: checks.server, else the first dns.listen)' },
      group: { type: 'string', value: 'NAME', multiple: true, help: 'test only this group' },
      timeout: { type: 'string', value: 'MS', help: 'per-query timeout in milliseconds (default: checks.timeoutMs)' },
      json: { type: 'boolean', help: 'print the result as JSON instead of a table' },
      'no-record': { type: 'boolean', help: 'do not add the run to the checks record in the database' },
      untagged: {
        type: 'boolean',
        help: 'run without the check token: the queries are logged and alerted as real lookups (when the token file cannot be read)',
      },
    },
    notes: 'Exit code 0 when every test passed, 1 when one failed or nothing could be tested, 2 for a usage mistake.',
  },
  async (values) => {
    const loaded = commandConfig(values);
    const { source } = loaded;
    // What is expected comes from the governed policy in force (its groups and switch-offs), not the file's groups.
    const governed = governedPolicy(loaded.config);
    const config = governed ? effectiveConfig(loaded.config, governed) : loaded.config;
    const groups = values.group as string[] | undefined;
    const unknown = (groups ?? []).filter((g) => !config.groups.some((c) => c.name === g));
    if (unknown.length > 0) {
      process.stderr.write(`gatehouse check: unknown group ${unknown.map((g) => `"${g}"`).join(', ')}\n`);
      return 2;
    }
    const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
    const server = values.server as string | undefined;
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
      process.stderr.write(`gatehouse check: --timeout wants milliseconds, got "${values.timeout}"\n`);
      return 2;
    }
    let checkToken: Buffer | undefined;
    if (!values.untagged) {
      try {
        checkToken = readCheckToken(config.store.path);
      } catch (err) {
        process.stderr.write(
          `gatehouse check: cannot read the check token: ${(err as Error).message}\n` +
            'Run as the service user (sudo -u gatehouse gatehouse check ...), after the service has started once.\n' +
            'With --untagged the test runs anyway, and its queries are logged and alerted as real lookups.\n',
        );
        return 2;
      }
    }
    const result = await runSelfTest({
      config,
      server,
      groups,
      timeoutMs,
      checkToken,
      ...(governed ? { unfiltered: (group: string, from: string) => isSwitchedOff(governed, group, from) } : {}),
    });
    if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else process.stdout.write(formatTable(result));
    if (!values['no-record']) process.stderr.write(record(config, source, result) + '\n');
    if (Object.keys(config.checks.names).length === 0 && !values.json) {
      process.stderr.write('note: checks.names is empty, so only the DoH canary was tested; add test names per category to the config\n');
    }
    return result.ok ? 0 : 1;
  },
);
