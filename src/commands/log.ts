// `gatehouse log search|top`: the query log from the command line, through the
// same search module as the admin UI.
import { loadConfig } from '../config.js';
import { openDatabase } from '../store/db.js';
import { StoreError } from '../store/errors.js';
import { search, ACTIONS, type ActionName, type LogRow, type SearchFilter } from '../store/search.js';
import { csvHeader, csvRow } from '../store/csv.js';
import { topClients, topDomains } from '../store/rollups.js';
import { parseCommandArgs, type Command } from './command.js';

const USAGE = `usage:
  gatehouse log search [--from TIME] [--to TIME] [--client ADDR] [--domain TEXT] [--group NAME]
                       [--action allow|block|rewrite] [--category ID] [--limit N] [--before CURSOR]
                       [--csv] [--all] [--config FILE | --db FILE]
  gatehouse log top domains|clients [--from TIME] [--to TIME] [--limit N] [--blocked] [--config FILE | --db FILE]
TIME is ISO 8601 (2026-11-23T09:00Z), milliseconds since the epoch, or an age such as 30m, 24h, 7d.
Default period: the last 24 hours. --all follows the pages to the end (with --csv: a full export).
`;

export const command: Command = {
  summary: 'search the query log (log search …, log top …; --csv for export)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      from: { type: 'string' },
      to: { type: 'string' },
      client: { type: 'string' },
      domain: { type: 'string' },
      group: { type: 'string' },
      action: { type: 'string' },
      category: { type: 'string' },
      limit: { type: 'string' },
      before: { type: 'string' },
      csv: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      blocked: { type: 'boolean', default: false },
      db: { type: 'string' },
    });
    const [sub, what] = positionals;
    if (sub !== 'search' && sub !== 'top') {
      process.stderr.write(USAGE);
      return 2;
    }
    const now = Date.now();
    let filter: SearchFilter;
    try {
      filter = {
        from: parseTime(values.from ?? '24h', now, 'from'),
        to: parseTime(values.to ?? String(now + 1), now, 'to'),
        limit: values.limit === undefined ? (sub === 'top' ? 20 : values.csv || values.all ? 1000 : 100) : parseCount(values.limit),
      };
      if (values.client) filter.client = values.client;
      if (values.domain) filter.domain = values.domain;
      if (values.group) filter.group = values.group;
      if (values.category) filter.category = values.category;
      if (values.action !== undefined) {
        if (!ACTIONS.includes(values.action as ActionName)) throw new Error(`--action must be allow, block or rewrite`);
        filter.action = values.action as ActionName;
      }
      if (values.before !== undefined) filter.before = parseCount(values.before);
    } catch (err) {
      process.stderr.write(`gatehouse log: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    const path = values.db ?? loadConfig(values.config!).store.path;
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
    try {
      if (sub === 'top') return top(db, what, filter, values.blocked ?? false);
      return searchCommand(db, filter, values.csv ?? false, values.all ?? false);
    } catch (err) {
      if (err instanceof StoreError) {
        process.stderr.write(`gatehouse log: ${err.message}\n`);
        return 2;
      }
      throw err;
    } finally {
      db.close();
    }
  },
};

function searchCommand(db: ReturnType<typeof openDatabase>, filter: SearchFilter, csv: boolean, all: boolean): number {
  if (csv) process.stdout.write(csvHeader());
  let f = filter;
  for (;;) {
    const page = search(db, f);
    process.stdout.write(page.rows.map(csv ? csvRow : textRow).join(''));
    if (!page.next) break;
    if (!all) {
      process.stderr.write(`more rows: add --before ${page.next}\n`);
      break;
    }
    f = { ...f, before: page.next };
  }
  return 0;
}

function top(db: ReturnType<typeof openDatabase>, what: string | undefined, f: SearchFilter, blocked: boolean): number {
  const period = { from: f.from, to: f.to, limit: f.limit, blocked };
  if (what === 'domains') {
    for (const r of topDomains(db, period))
      process.stdout.write(`${String(r.queries).padStart(10)} ${String(r.blocked).padStart(8)}  ${printable(r.name)}\n`);
  } else if (what === 'clients') {
    for (const r of topClients(db, period))
      process.stdout.write(`${String(r.queries).padStart(10)} ${String(r.blocked).padStart(8)}  ${printable(r.client)}\n`);
  } else {
    process.stderr.write(USAGE);
    return 2;
  }
  return 0;
}

function textRow(r: LogRow): string {
  const extra = `${r.rcode === 0 ? '' : ` rcode=${r.rcode}`}${r.cached ? ' cached' : ''}${r.link ? ` via=${printable(r.link)}` : ''}`;
  return (
    `${new Date(r.ts).toISOString()}  ${printable(r.client).padEnd(15)} ${printable(r.group ?? '-').padEnd(10)} ${r.action.padEnd(7)} ` +
    `${printable(r.category ?? '-').padEnd(12)} ${printable(r.name)} type=${r.qtype} ${r.latencyUs}us${extra}\n`
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
