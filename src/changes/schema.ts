// The change-control tables (store migration 11, src/store/migrations.ts): the
// governed policy's versions, the change requests that move it from one
// version to the next, and the notices they send. The same migration widens
// three CHECK constraints (the approver role, the outbox's notice kind, a check
// run for a change) and keeps the exception tables of older versions under
// new names: their rows move into the governed policy at the first start
// (seed.ts), recorded in the change log. Never edit once shipped.
import type { Database } from 'better-sqlite3';
import { widenCheck } from '../store/rebuild-table.js';

const changeTablesSql = `
-- One row per version of the filtering policy (groups, exceptions, switch-offs),
-- written in the transaction of the change that made it. Never changed.
CREATE TABLE governed_policy (
  version   INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  change_id INTEGER NOT NULL REFERENCES change_requests (id),
  doc_json  TEXT    NOT NULL
);
CREATE TRIGGER governed_policy_no_update BEFORE UPDATE ON governed_policy
BEGIN SELECT RAISE(ABORT, 'policy versions cannot be changed'); END;
CREATE TRIGGER governed_policy_no_delete BEFORE DELETE ON governed_policy
BEGIN SELECT RAISE(ABORT, 'policy versions cannot be deleted'); END;

-- A change request: what changes (operations against the policy), who asked and
-- why, and each step of its life. Every step also writes a change-log row.
CREATE TABLE change_requests (
  id               INTEGER PRIMARY KEY,
  kind             TEXT    NOT NULL CHECK (kind IN ('change', 'revert', 'seed', 'migration', 'import')),
  status           TEXT    NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'refused', 'withdrawn', 'applied', 'ended', 'reverted', 'failed')),
  -- Where it came from: ui, api, cli, block-page, config, migration.
  source           TEXT    NOT NULL,
  ops_json         TEXT    NOT NULL,
  -- The operations that undo it, worked out when it applied.
  inverse_json     TEXT,
  summary          TEXT    NOT NULL,
  -- Per group (or network, person): before and after in plain words.
  description_json TEXT    NOT NULL,
  groups_json      TEXT    NOT NULL,
  -- The member of staff (or pupil) who asked, and the record they gave.
  requester        TEXT,
  subject_area     TEXT,
  reason           TEXT,
  risk             TEXT    CHECK (risk IS NULL OR risk IN ('low', 'medium', 'high')),
  backout          TEXT,
  -- When it should apply (NULL: once approved) and end (NULL: it stays).
  starts_at        INTEGER,
  ends_at          INTEGER,
  created_by       TEXT    NOT NULL,
  created_by_id    INTEGER,
  created_at       INTEGER NOT NULL,
  submitted_by     TEXT,
  submitted_by_id  INTEGER,
  submitted_at     INTEGER,
  -- An approver's decision: before it applies, or after, for an emergency change.
  decision         TEXT    CHECK (decision IS NULL OR decision IN ('approved', 'refused')),
  decided_by       TEXT,
  decided_by_id    INTEGER,
  decided_at       INTEGER,
  decision_note    TEXT,
  emergency        INTEGER NOT NULL DEFAULT 0,
  review_due_at    INTEGER,
  applied_at       INTEGER,
  applied_by       TEXT,
  policy_version   INTEGER,
  ended_at         INTEGER,
  ended_by         TEXT,
  end_note         TEXT,
  revert_of        INTEGER REFERENCES change_requests (id),
  reverted_by      INTEGER REFERENCES change_requests (id),
  test_ok          INTEGER,
  test_summary     TEXT,
  test_json        TEXT,
  tested_at        INTEGER,
  check_id         INTEGER,
  -- Review requests from the block page: the device that asked and the category it hit.
  client_address   TEXT,
  category         TEXT,
  overdue_alerted_at INTEGER,
  -- When the approvers were told it waits (a request made by the CLI is told by the service's scheduler).
  waiting_notified_at INTEGER
);
CREATE INDEX change_requests_status ON change_requests (status, id);
CREATE INDEX change_requests_applied ON change_requests (applied_at);

-- Messages about changes (to approvers, the DSL, the trust's ICT director),
-- delivered through the alert outbox so a mail server that is down delays them
-- and loses nothing.
CREATE TABLE notices (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at INTEGER NOT NULL,
  kind       TEXT    NOT NULL,
  subject    TEXT    NOT NULL,
  text       TEXT    NOT NULL,
  -- JSON list of e-mail addresses; NULL: the e-mail channel's own recipients.
  email_to   TEXT,
  change_id  INTEGER
);
`;

/** Store migration 11. */
export function changeControlMigration(db: Database): void {
  widenCheck(db, 'admin_users', 'role', 'approver');
  // Notices go through the outbox; their payload is a JSON array holding the notice id.
  widenCheck(db, 'alert_outbox', 'kind', 'notice');
  // The checks record refuses UPDATE and DELETE; DROP TABLE fires no trigger, and its triggers come back.
  widenCheck(db, 'checks', 'trigger', 'change');
  db.exec(changeTablesSql);
  // Their rows become the governed policy's exceptions and draft requests at the first start (seed.ts).
  db.exec('ALTER TABLE exceptions RENAME TO exceptions_before_change_control');
  db.exec('ALTER TABLE exception_requests RENAME TO exception_requests_before_change_control');
}
