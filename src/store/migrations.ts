// Schema migrations for the main database, tracked by `PRAGMA user_version`.
//
// HOW TO ADD ONE: append an entry at the END of `migrations` with the next
// version number (versions are 1, 2, 3, … with no gaps) and a short name. `up`
// is either SQL (several statements are fine) or a function for work SQL
// cannot express. Never edit or reorder an entry that has shipped: databases
// in schools have already run it. Each migration runs in its own transaction
// together with the user_version bump, so a failure leaves the database as it was.
//
// The query log's per-day partitions (q_YYYYMMDD, …) are not created here:
// src/store/partitions.ts creates them on demand. A migration that changes
// their shape must loop over `listDays(db)` and alter each one.
import type { Database } from 'better-sqlite3';
import { adminSchemaSql, recoveryCodesSql } from '../admin/schema.js';
import { identitySchemaSql } from '../identity/schema.js';
import { deviceTokensSql } from '../identity/token-schema.js';
import { createWhoRollup, dayTables, listDays } from './partitions.js';
import { changeControlMigration } from '../changes/schema.js';
import { dailySchemaSql } from './daily.js';
import { reportsMigration } from '../reports/schema.js';
import { monthlySchemaSql } from './daily-months.js';

export interface Migration {
  version: number;
  name: string;
  up: string | ((db: Database) => void);
  /**
   * 'off' for a migration that rebuilds a table others point at (rebuild-table.ts):
   * foreign keys are off while it runs (SQLite ignores the switch inside a
   * transaction, so it is set around it) and every one is checked before the commit.
   */
  foreignKeys?: 'off';
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'query log dictionaries, link switches, list refreshes',
    up: `
      -- Interned query names. last_day (days since the epoch, UTC) is the last
      -- day a row referenced the name, so retention can delete stale names too.
      CREATE TABLE name_by_id (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        last_day INTEGER NOT NULL
      );
      -- A substring search over a period only has to read the names used since
      -- its first day (a week: the active names, not a year's worth); covering,
      -- so it is read in order without touching the table.
      CREATE INDEX name_by_id_last_day ON name_by_id (last_day, name);
      -- Interned client addresses, with the same retention rule.
      CREATE TABLE client_by_id (
        id INTEGER PRIMARY KEY,
        address TEXT NOT NULL UNIQUE,
        last_day INTEGER NOT NULL
      );
      -- Names of groups, categories and links as they were when logged: rows
      -- store these ids, so the log keeps its meaning when the config changes.
      -- Ids start at 1; 0 in a log row means "none".
      CREATE TABLE dict (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('group', 'category', 'link')),
        name TEXT NOT NULL,
        UNIQUE (kind, name)
      );
      -- Row shapes: the small per-query fields, interned together. A school's
      -- traffic has a few hundred distinct shapes, so a log row stores one small
      -- id instead of seven columns (the biggest saving in bytes per query).
      -- grp, cat and link are dict ids (0 = none); action 0 allow, 1 block, 2 rewrite.
      CREATE TABLE shape (
        id INTEGER PRIMARY KEY,
        qtype INTEGER NOT NULL,
        grp INTEGER NOT NULL,
        action INTEGER NOT NULL,
        cached INTEGER NOT NULL,
        rcode INTEGER NOT NULL,
        cat INTEGER NOT NULL,
        link INTEGER NOT NULL,
        UNIQUE (qtype, grp, action, cached, rcode, cat, link)
      );
      CREATE TABLE link_switch (
        at INTEGER NOT NULL,
        from_link TEXT,
        to_link TEXT,
        reason TEXT NOT NULL
      );
      CREATE INDEX link_switch_at ON link_switch (at);
      CREATE TABLE list_refresh (
        at INTEGER NOT NULL,
        list_id TEXT NOT NULL,
        ok INTEGER NOT NULL,
        entries INTEGER,
        error TEXT
      );
      CREATE INDEX list_refresh_at ON list_refresh (at);
      -- Days whose rollup tables were rebuilt in key order (see partitions.ts compactDay).
      CREATE TABLE compacted_day (day INTEGER PRIMARY KEY);
    `,
  },
  {
    version: 2,
    name: 'safeguarding and operational alerts, their history, outbox and delivery attempts',
    up: `
      CREATE TABLE alerts (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        kind            TEXT    NOT NULL CHECK (kind IN ('safeguarding', 'operational')),
        created_at      INTEGER NOT NULL,
        last_at         INTEGER NOT NULL,
        client          TEXT,
        client_name     TEXT,
        group_name      TEXT,
        category        TEXT    NOT NULL,
        severity        TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
        domain          TEXT,
        illegal         INTEGER NOT NULL DEFAULT 0,
        circumvention   INTEGER NOT NULL DEFAULT 0,
        count           INTEGER NOT NULL DEFAULT 1,
        message         TEXT,
        details         TEXT,
        status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'closed')),
        outcome         TEXT,
        acknowledged_by TEXT,
        acknowledged_at INTEGER,
        closed_by       TEXT,
        closed_at       INTEGER,
        -- 'pending' while a low-severity alert waits for the daily digest, then 'sent'.
        digest          TEXT    CHECK (digest IN ('pending', 'sent')),
        -- An illegal category's domain is never kept.
        CHECK (illegal = 0 OR domain IS NULL)
      );
      CREATE INDEX alerts_by_time ON alerts (kind, created_at);
      CREATE INDEX alerts_by_status ON alerts (kind, status, created_at);
      CREATE INDEX alerts_digest_pending ON alerts (id) WHERE digest = 'pending';

      CREATE TABLE alert_history (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id    INTEGER NOT NULL REFERENCES alerts (id),
        at          INTEGER NOT NULL,
        user        TEXT    NOT NULL,
        from_status TEXT    NOT NULL,
        to_status   TEXT    NOT NULL,
        note        TEXT
      );
      CREATE INDEX alert_history_by_alert ON alert_history (alert_id);

      -- One row per message per channel. AUTOINCREMENT: ids are never reused, so
      -- they make stable idempotency keys.
      CREATE TABLE alert_outbox (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at      INTEGER NOT NULL,
        channel         TEXT    NOT NULL CHECK (channel IN ('email', 'webhook', 'syslog')),
        kind            TEXT    NOT NULL CHECK (kind IN ('alert', 'digest')),
        alert_id        INTEGER REFERENCES alerts (id),
        -- digest: JSON array of alert ids
        payload         TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        delivered_at    INTEGER,
        last_error      TEXT
      );
      CREATE INDEX alert_outbox_due ON alert_outbox (channel, next_attempt_at) WHERE delivered_at IS NULL;

      CREATE TABLE alert_deliveries (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        outbox_id   INTEGER NOT NULL REFERENCES alert_outbox (id),
        at          INTEGER NOT NULL,
        channel     TEXT    NOT NULL,
        ok          INTEGER NOT NULL,
        error       TEXT,
        duration_ms INTEGER NOT NULL
      );
      CREATE INDEX alert_deliveries_by_outbox ON alert_deliveries (outbox_id);
    `,
  },
  {
    version: 3,
    name: 'admin accounts, sessions, auth audit, change log (hash chain, no update/delete), exceptions, review requests',
    up: adminSchemaSql,
  },
  {
    version: 4,
    name: 'records of filtering checks (self-test runs) and the actions taken after them',
    up: `
      -- One row per run of the filtering self-test: when, who, against what,
      -- every case (group, source, category, name, expected, result) and the totals.
      CREATE TABLE checks (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        -- A user name, or 'schedule' / 'cli (osuser)'.
        run_by      TEXT    NOT NULL,
        trigger     TEXT    NOT NULL CHECK (trigger IN ('manual', 'schedule', 'cli')),
        server      TEXT    NOT NULL,
        ok          INTEGER NOT NULL,
        passed      INTEGER NOT NULL,
        failed      INTEGER NOT NULL,
        summary     TEXT    NOT NULL,
        -- JSON arrays: the cases as tested, and the groups that could not be tested.
        cases_json  TEXT    NOT NULL,
        skipped_json TEXT   NOT NULL
      );
      CREATE INDEX checks_by_time ON checks (started_at);
      -- The resulting actions: appended after a run (automatic ones such as an
      -- alert raised, and what staff then did). Never edited.
      CREATE TABLE check_actions (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        check_id INTEGER NOT NULL REFERENCES checks (id),
        at       INTEGER NOT NULL,
        user     TEXT    NOT NULL,
        action   TEXT    NOT NULL
      );
      CREATE INDEX check_actions_by_check ON check_actions (check_id);
      -- A record of a check is evidence: it cannot be changed or removed through SQL either.
      CREATE TRIGGER checks_no_update BEFORE UPDATE ON checks BEGIN SELECT RAISE(ABORT, 'check records cannot be changed'); END;
      CREATE TRIGGER checks_no_delete BEFORE DELETE ON checks BEGIN SELECT RAISE(ABORT, 'check records cannot be deleted'); END;
      CREATE TRIGGER check_actions_no_update BEFORE UPDATE ON check_actions BEGIN SELECT RAISE(ABORT, 'check actions cannot be changed'); END;
      CREATE TRIGGER check_actions_no_delete BEFORE DELETE ON check_actions BEGIN SELECT RAISE(ABORT, 'check actions cannot be deleted'); END;
    `,
  },
  {
    version: 5,
    name: 'MFA recovery codes (keyed hashes only) and their use',
    up: recoveryCodesSql,
  },
  {
    version: 6,
    name: 'query log: why each query was decided (reason, list), illegal categories marked, the self-test traffic apart',
    up: `
      -- Two more kinds of dict names: list ids and decision reasons; and per
      -- category whether it is illegal and its rows' names are hidden (see
      -- store/hide-illegal.ts). CHECK constraints cannot be altered: the table
      -- is rebuilt with the same ids.
      CREATE TABLE dict_v5 (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('group', 'category', 'link', 'list', 'reason')),
        name TEXT NOT NULL,
        illegal INTEGER NOT NULL DEFAULT 0,
        UNIQUE (kind, name)
      );
      INSERT INTO dict_v5 (id, kind, name) SELECT id, kind, name FROM dict;
      DROP TABLE dict;
      ALTER TABLE dict_v5 RENAME TO dict;
      -- The shape gains the decision's reason and the list that matched (dict
      -- ids, 0 = none), so the query log can say why a name was blocked.
      CREATE TABLE shape_v5 (
        id INTEGER PRIMARY KEY,
        qtype INTEGER NOT NULL,
        grp INTEGER NOT NULL,
        action INTEGER NOT NULL,
        cached INTEGER NOT NULL,
        rcode INTEGER NOT NULL,
        cat INTEGER NOT NULL,
        link INTEGER NOT NULL,
        reason INTEGER NOT NULL DEFAULT 0,
        list INTEGER NOT NULL DEFAULT 0,
        UNIQUE (qtype, grp, action, cached, rcode, cat, link, reason, list)
      );
      INSERT INTO shape_v5 (id, qtype, grp, action, cached, rcode, cat, link)
        SELECT id, qtype, grp, action, cached, rcode, cat, link FROM shape;
      DROP TABLE shape;
      ALTER TABLE shape_v5 RENAME TO shape;
      -- The self-test's own queries (marked on the wire, see checks/check-token.ts):
      -- kept apart from people's lookups, so they are in no rollup, top list or
      -- history; shown only when asked for. id is a query-log key (ms * 256 + k).
      CREATE TABLE check_query (
        id INTEGER PRIMARY KEY,
        client INTEGER NOT NULL,
        name INTEGER NOT NULL,
        shape INTEGER NOT NULL,
        lat INTEGER NOT NULL
      );
    `,
  },
  {
    version: 7,
    name: 'identity: people, devices (interned ids), what each source says is at each address, roster imports',
    up: identitySchemaSql,
  },
  {
    version: 8,
    name: 'query log: the transport each query came over (UDP, TCP, DoH, DoT)',
    up: `
      -- 0: not recorded (rows logged before this migration), 1 UDP, 2 TCP, 3 DoH, 4 DoT.
      -- Part of the shape, so it costs no bytes per row.
      CREATE TABLE shape_v8 (
        id INTEGER PRIMARY KEY,
        qtype INTEGER NOT NULL,
        grp INTEGER NOT NULL,
        action INTEGER NOT NULL,
        cached INTEGER NOT NULL,
        rcode INTEGER NOT NULL,
        cat INTEGER NOT NULL,
        link INTEGER NOT NULL,
        reason INTEGER NOT NULL DEFAULT 0,
        list INTEGER NOT NULL DEFAULT 0,
        transport INTEGER NOT NULL DEFAULT 0,
        UNIQUE (qtype, grp, action, cached, rcode, cat, link, reason, list, transport)
      );
      INSERT INTO shape_v8 (id, qtype, grp, action, cached, rcode, cat, link, reason, list)
        SELECT id, qtype, grp, action, cached, rcode, cat, link, reason, list FROM shape;
      DROP TABLE shape;
      ALTER TABLE shape_v8 RENAME TO shape;
    `,
  },
  {
    version: 9,
    name: "device tokens for DoH/DoT (hashes only), devices' serial numbers and directory ids",
    up: deviceTokensSql,
  },
  {
    version: 10,
    name: 'identity in the query log (who: person and device per row), in alerts and in review requests',
    up: (db) => {
      db.exec(`
        -- (person, device) pairs, interned as names are: a query-log row holds one
        -- small id (who; 0 = nobody known), at most 4 bytes on disk, and keeps
        -- meaning who it was after the lease or session has gone. person and
        -- device are identity_people.id and identity_devices.id (0 = unknown).
        -- An erased person's pairs keep their id and device with person 0 and
        -- erased 1, so their rows keep their counts but lose the name
        -- (identity/erase.ts). last_day: retention, as for names.
        CREATE TABLE who_by_id (
          id       INTEGER PRIMARY KEY,
          person   INTEGER NOT NULL,
          device   INTEGER NOT NULL,
          erased   INTEGER NOT NULL DEFAULT 0,
          last_day INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX who_by_id_pair ON who_by_id (person, device) WHERE erased = 0;
        CREATE INDEX who_by_id_device ON who_by_id (device);
        ALTER TABLE check_query ADD COLUMN who INTEGER NOT NULL DEFAULT 0;
        -- The person and device of the client an alert is about (names are read at
        -- render time, so an erased person is gone from later messages too).
        ALTER TABLE alerts ADD COLUMN person_id INTEGER;
        ALTER TABLE alerts ADD COLUMN device_id INTEGER;
        CREATE INDEX alerts_by_person ON alerts (person_id, created_at) WHERE person_id IS NOT NULL;
        -- Who asked for a review on the block page (the client's identity then).
        -- Beside exception_requests rather than in it, which change control owns.
        CREATE TABLE review_request_identity (
          request_id INTEGER PRIMARY KEY,
          person_id  INTEGER,
          device_id  INTEGER
        );
        CREATE INDEX review_request_identity_person ON review_request_identity (person_id) WHERE person_id IS NOT NULL;
      `);
      // Days logged before this: adding a column with a constant default only
      // changes the schema (old rows read it as 0); their rw tables start empty.
      for (const day of listDays(db)) {
        const t = dayTables(day);
        const has = db.prepare("SELECT count(*) FROM pragma_table_info(?) WHERE name = 'who'").pluck().get(t.q) === 1;
        // Table names come from dayTables (our own format), never from input.
        if (!has) db.exec(`ALTER TABLE ${t.q} ADD COLUMN who INTEGER NOT NULL DEFAULT 0`);
        createWhoRollup(db, t);
      }
    },
  },
  {
    version: 11,
    name: 'change control: the approver role, governed policy versions, change requests, notices in the outbox, change tests in the checks record',
    up: changeControlMigration,
    foreignKeys: 'off',
  },
  {
    version: 12,
    name: 'daily rollups of the query log (by group, category, action; per client for safeguarding-relevant lookups; top names)',
    up: dailySchemaSql,
  },
  {
    version: 13,
    name: 'reports: their sendings (through the alert outbox, new row kind "report")',
    up: reportsMigration,
    foreignKeys: 'off',
  },
  {
    version: 14,
    name: 'monthly sums of the daily rollups (reports over a year)',
    up: monthlySchemaSql,
  },
];

/** The newest schema version this build knows. */
export function latestVersion(list: readonly Migration[] = migrations): number {
  return list.length === 0 ? 0 : list[list.length - 1].version;
}

/**
 * Bring the database up to the newest version. Returns the versions applied.
 * Throws (with the migration's name) if one fails; that migration is rolled back.
 */
export function migrate(db: Database, list: readonly Migration[] = migrations): number[] {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}, expected ${i + 1}`);
  });
  const current = db.pragma('user_version', { simple: true }) as number;
  const applied: number[] = [];
  for (const m of list) {
    if (m.version <= current) continue;
    const keysWereOn = db.pragma('foreign_keys', { simple: true }) === 1;
    if (m.foreignKeys === 'off') db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        if (typeof m.up === 'string') db.exec(m.up);
        else m.up(db);
        if (m.foreignKeys === 'off' && (db.pragma('foreign_key_check') as unknown[]).length > 0)
          throw new Error(`migration "${m.name}" left rows whose foreign keys point nowhere`);
        // user_version cannot take a bound parameter; the value is our own integer.
        db.pragma(`user_version = ${m.version | 0}`);
      })();
    } finally {
      if (m.foreignKeys === 'off' && keysWereOn) db.pragma('foreign_keys = ON');
    }
    applied.push(m.version);
  }
  return applied;
}
