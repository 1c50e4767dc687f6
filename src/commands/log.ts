// `gatehouse log search|top`: the query log from the command line, through the
// same search module as the admin UI.
import { openDatabase } from '../store/db.js';
import { latestVersion } from '../store/migrations.js';
import { StoreError } from '../store/errors.js';
import { search, ACTIONS, CHECK_TRAFFIC, type ActionName, type CheckTraffic, type LogRow, type SearchFilter } from '../store/search.js';
import { rcodeName, typeName } from '../resolver/wire-names.js';
import { shownName } from '../store/hidden-names.js';
import { csvHeader, csvRow } from '../store/csv.js';
import { deviceLabel } from '../store/who.js';
import { topClients, topDomains } from '../store/rollups.js';
import { CommandError, commandConfig, commandDatabase, defineGroup, type OptionSpec } from './command.js';

const TIME_NOTE = `TIME is ISO 8601 (2026-11-23T09:00Z), milliseconds since the epoch, or an age such as 30m, 24h, 7d.
Default period: the last 24 hours.`;

const period: Record<string, OptionSpec> = {
  from: { type: 'string', value: 'TIME', help: 'start of the period (default: 24h ago)' },
  to: { type: 'string', value: 'TIME', help: 'end of the period (default: now)' },
  limit: { type: 'string', value: 'N', help: 'rows per page (search: 100, or 1000 with --csv/--all; top: 20)' },
  db: { type: 'string', value: 'DATABASE', help: 'read this database file instead of the config’s store.path' },
};

type Values = Record<string, unknown>;
const text = (values: Values, key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined);

/** The filter both subcommands share; a bad value is a usage mistake. */
function readFilter(values: Values, sub: 'search' | 'top'): SearchFilter {
  const now = Date.now();
  try {
    const limit = text(values, 'limit');
    const filter: SearchFilter = {
      from: parseTime(text(values, 'from') ?? '24h', now, 'from'),
      to: parseTime(text(values, 'to') ?? String(now + 1), now, 'to'),
      limit: limit === undefined ? (sub === 'top' ? 20 : values.csv || values.all ? 1000 : 100) : parseCount(limit),
    };
    for (const key of ['client', 'domain', 'group', 'category', 'user', 'device'] as const) {
      const v = text(values, key);
      if (v) filter[key] = v;
    }
    const action = text(values, 'action');
    if (action !== undefined) {
      if (!ACTIONS.includes(action as ActionName)) throw new Error(`--action must be allow, block or rewrite`);
      filter.action = action as ActionName;
    }
    const before = text(values, 'before');
    if (before !== undefined) filter.before = parseCount(before);
    const checks = text(values, 'checks');
    if (checks !== undefined) {
      if (!CHECK_TRAFFIC.includes(checks as CheckTraffic)) throw new Error('--checks must be exclude, include or only');
      filter.checks = checks as CheckTraffic;
    }
    return filter;
  } catch (err) {
    throw new CommandError('GH_ERR_USAGE', `gatehouse log ${sub}: ${(err as Error).message} (see gatehouse log ${sub} --help)`);
  }
}

/** Open the database read-only and run `work`; store errors are reported, not thrown. */
function withDatabase(values: Values, work: (db: ReturnType<typeof openDatabase>) => number): number {
  const path = commandDatabase(values as Parameters<typeof commandDatabase>[0]);
  let db;
  try {
    db = openDatabase(path, { readonly: true });
  } catch (err) {
    if (err instanceof StoreError) {
      process.stderr.write(`gatehouse log: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version < latestVersion()) {
    // Read-only: no migration here; the service upgrades the file when it starts.
    db.close();
    process.stderr.write(
      `gatehouse log: ${path} has schema version ${version}, older than this Gatehouse (${latestVersion()}): start the service once to upgrade it\n`,
    );
    return 1;
  }
  try {
    return work(db);
  } catch (err) {
    if (err instanceof StoreError) {
      process.stderr.write(`gatehouse log: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    db.close();
  }
}

export const command = defineGroup(
  { name: 'log', summary: 'search the query log (log search …, log top …; --csv for export)', notes: TIME_NOTE },
  {
    search: {
      spec: {
        name: 'log search',
        summary: 'query-log rows, newest first, a page at a time (--csv --all: a full export)',
        usage: [
          'log search [--from TIME] [--to TIME] [--client ADDR] [--domain TEXT] [--group NAME] [--action allow|block|rewrite]',
          '           [--category ID] [--user TEXT] [--device TEXT] [--limit N] [--before CURSOR]',
          '           [--checks exclude|include|only] [--csv] [--all]',
          '           [--config FILE | --db FILE]',
        ],
        options: {
          ...period,
          client: { type: 'string', value: 'ADDR', help: 'only this client address' },
          domain: { type: 'string', value: 'TEXT', help: 'names containing TEXT' },
          group: { type: 'string', value: 'NAME', help: 'only this group' },
          action: { type: 'string', value: 'ACTION', help: 'allow, block or rewrite' },
          category: { type: 'string', value: 'ID', help: 'only this category id' },
          user: {
            type: 'string',
            value: 'TEXT',
            help: 'only this person, on any device or address: user name, email, part of the name, or #ID',
          },
          device: { type: 'string', value: 'TEXT', help: 'only this device: its name, host name, asset tag, MAC, or #ID' },
          before: { type: 'string', value: 'CURSOR', help: 'the next page: the cursor printed after a page' },
          checks: {
            type: 'string',
            value: 'WHICH',
            help: "the self-test's own queries: exclude (default), include, or only them",
          },
          csv: { type: 'boolean', help: 'CSV with a header row' },
          all: { type: 'boolean', help: 'follow the pages to the end' },
        },
        notes: `${TIME_NOTE}\nA name filter (--domain) never matches a row of an illegal category. Rows show the person and the
device known when the query was made (user=, device=), even after the lease or session has ended.`,
      },
      run: async (values) => {
        const filter = readFilter(values, 'search');
        // With the config at hand, the CSV names categories as the admin UI does.
        const categories = typeof values.db === 'string' ? [] : commandConfig(values).config.categories;
        const names = new Map(categories.map((c) => [c.id, c.name]));
        const categoryName = (id: string) => names.get(id) ?? id;
        return withDatabase(values, (db) => searchCommand(db, filter, values.csv === true, values.all === true, categoryName));
      },
    },
    top: {
      spec: {
        name: 'log top',
        summary: 'the most queried (or, with --blocked, most blocked) domains or clients',
        usage: ['log top domains|clients [--from TIME] [--to TIME] [--limit N] [--blocked] [--config FILE | --db FILE]'],
        options: { ...period, blocked: { type: 'boolean', help: 'rank by blocked queries' } },
        notes: TIME_NOTE,
      },
      run: async (values, positionals) => {
        const [what, ...extra] = positionals;
        if ((what !== 'domains' && what !== 'clients') || extra.length > 0)
          throw new CommandError('GH_ERR_USAGE', 'gatehouse log top: say domains or clients (see gatehouse log top --help)');
        const filter = readFilter(values, 'top');
        return withDatabase(values, (db) => top(db, what, filter, values.blocked === true));
      },
    },
  },
);

function searchCommand(
  db: ReturnType<typeof openDatabase>,
  filter: SearchFilter,
  csv: boolean,
  all: boolean,
  categoryName: (id: string) => string,
): number {
  if (csv) process.stdout.write(csvHeader());
  let f = filter;
  for (;;) {
    const page = search(db, f);
    const shown = page.rows.map((r) => ({ ...r, name: shownName(r.name) }));
    process.stdout.write(shown.map((r) => (csv ? csvRow(r, categoryName) : textRow(r))).join(''));
    if (!page.next) break;
    if (!all) {
      process.stderr.write(`more rows: add --before ${page.next}\n`);
      break;
    }
    f = { ...f, before: page.next };
  }
  return 0;
}

function top(db: ReturnType<typeof openDatabase>, what: 'domains' | 'clients', f: SearchFilter, blocked: boolean): number {
  const period = { from: f.from, to: f.to, limit: f.limit, blocked };
  if (what === 'domains') {
    // Hidden names (illegal categories) are left out by topDomains.
    for (const r of topDomains(db, period))
      process.stdout.write(`${String(r.queries).padStart(10)} ${String(r.blocked).padStart(8)}  ${printable(r.name)}\n`);
  } else {
    for (const r of topClients(db, period))
      process.stdout.write(`${String(r.queries).padStart(10)} ${String(r.blocked).padStart(8)}  ${printable(r.client)}\n`);
  }
  return 0;
}

function textRow(r: LogRow): string {
  const extra =
    `${r.rcode === 0 ? '' : ` ${rcodeName(r.rcode)}`}${r.reason ? ` why=${r.reason}` : ''}${r.list ? ` list=${printable(r.list)}` : ''}` +
    `${r.cached ? ' cached' : ''}${r.link ? ` via=${printable(r.link)}` : ''}${r.transport ? ` transport=${r.transport}` : ''}${r.check ? ' check-traffic' : ''}` +
    `${r.user ? ` user=${printable(r.user)}` : r.erased ? ' user=(erased)' : ''}${r.device || r.mac ? ` device=${printable(deviceLabel(r))}` : ''}`;
  return (
    `${new Date(r.ts).toISOString()}  ${printable(r.client).padEnd(15)} ${printable(r.group ?? '-').padEnd(10)} ${r.action.padEnd(7)} ` +
    `${printable(r.category ?? '-').padEnd(12)} ${printable(r.name)} ${typeName(r.qtype)} ${r.latencyUs}us${extra}\n`
  );
}

/** Names can hold any characters: never let one drive the terminal. */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function parseTime(text: string, now: number, flag: string): number {
  const age = /^(\d+)([smhd])$/.exec(text);
  if (age) return now - Number(age[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d{10,}$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`--${flag}: "${text}" is not a time (ISO 8601, epoch ms, or an age like 24h)`);
  return ms;
}

function parseCount(text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`"${text}" is not a whole number`);
  return Number(text);
}
