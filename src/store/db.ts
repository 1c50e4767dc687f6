// Open the main database: create its directory, set the pragmas, check that it
// is a database we can write, and run the migrations. Every failure becomes a
// StoreError naming the file, so start-up says what is wrong and where.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from './errors.js';
import { latestVersion, migrate, migrations, type Migration } from './migrations.js';

export type { Database } from 'better-sqlite3';

export interface OpenOptions {
  /** Open for reading only (CLI search, reports): no migrations, no writes. */
  readonly?: boolean;
  /** Page cache size in KiB (default 32 MiB). */
  cacheKiB?: number;
  /** Migrations to apply (tests); default: the project's list. */
  migrations?: readonly Migration[];
}

export function openDatabase(path: string, options: OpenOptions = {}): Database.Database {
  const list = options.migrations ?? migrations;
  let db: Database.Database | undefined;
  try {
    if (!options.readonly) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    applyPragmas(db, options);
    if (!options.readonly) lockBeforeReading(db);
    // Reading the schema is what detects a file that is not a database.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    if (!options.readonly) {
      // SQLite silently opens a read-only file read-only; find out now, not on
      // the first insert, by writing the header's user_version back unchanged.
      const version = db.pragma('user_version', { simple: true }) as number;
      db.pragma(`user_version = ${version | 0}`);
    }
  } catch (err) {
    db?.close();
    throw new StoreError('GH_ERR_STORE_OPEN', `cannot open database ${path}: ${describe(err)}`, path, { cause: err });
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > latestVersion(list)) {
    db.close();
    throw new StoreError(
      'GH_ERR_STORE_VERSION',
      `database ${path} has schema version ${version}, newer than this Gatehouse knows (${latestVersion(list)}); upgrade Gatehouse`,
      path,
    );
  }
  if (!options.readonly) {
    try {
      migrate(db, list);
    } catch (err) {
      db.close();
      throw new StoreError('GH_ERR_STORE_OPEN', `cannot migrate database ${path}: ${describe(err)}`, path, { cause: err });
    }
  }
  return db;
}

/**
 * Make db.transaction(fn)() a BEGIN IMMEDIATE transaction on this connection
 * (.deferred, .immediate and .exclusive stay as they are). Several connections
 * write this file at once: the query-log writer thread, the service's own
 * (alerts, sessions, change control), the daily job, the CLI. A deferred
 * transaction that reads before it writes cannot become a writer while another
 * connection holds the write lock: SQLite fails it at once with SQLITE_BUSY,
 * without the busy wait, and its work is lost (issue 17: a batch of query-log
 * rows after a restart, while an urgent alert was being written). Taking the
 * lock at BEGIN waits busy_timeout for it instead. Every transaction in this
 * code base writes; the one that writes only temp tables (search.ts) asks for
 * .deferred.
 */
function lockBeforeReading(db: Database.Database): void {
  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const t = transaction(fn);
    return Object.assign((...args: never[]) => t.immediate(...args), {
      default: t.immediate,
      deferred: t.deferred,
      immediate: t.immediate,
      exclusive: t.exclusive,
    });
  }) as Database.Database['transaction'];
}

function applyPragmas(db: Database.Database, options: OpenOptions): void {
  // A reader waits for the writer's commit instead of failing at once.
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = ${-(options.cacheKiB ?? 32 * 1024) | 0}`);
  db.pragma('temp_store = MEMORY');
  if (options.readonly) return;
  // WAL: readers (admin UI, CLI) never block the writer and the writer never blocks them.
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a crash of the process loses nothing committed; a power
  // cut may lose the last commits since the last checkpoint. Good for a log.
  db.pragma('synchronous = NORMAL');
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    return code ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** Whether every named table exists (the admin pages degrade to "not available" without them). */
export function hasTables(db: Database.Database, ...names: string[]): boolean {
  const count = db
    .prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (SELECT value FROM json_each(?))`)
    .pluck()
    .get(JSON.stringify(names));
  return count === names.length;
}
