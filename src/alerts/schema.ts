// Tables for alerts, their history, the outbox and delivery attempts. Kept here
// until the store's migrations array exists; then this SQL becomes a migration.
import type { Database } from 'better-sqlite3';

export const ALERTS_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS alerts (
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
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (kind, created_at);
CREATE INDEX IF NOT EXISTS alerts_by_status ON alerts (kind, status, created_at);
CREATE INDEX IF NOT EXISTS alerts_digest_pending ON alerts (id) WHERE digest = 'pending';

CREATE TABLE IF NOT EXISTS alert_history (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id    INTEGER NOT NULL REFERENCES alerts (id),
  at          INTEGER NOT NULL,
  user        TEXT    NOT NULL,
  from_status TEXT    NOT NULL,
  to_status   TEXT    NOT NULL,
  note        TEXT
);
CREATE INDEX IF NOT EXISTS alert_history_by_alert ON alert_history (alert_id);

-- One row per message per channel. AUTOINCREMENT: ids are never reused, so
-- they make stable idempotency keys.
CREATE TABLE IF NOT EXISTS alert_outbox (
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
CREATE INDEX IF NOT EXISTS alert_outbox_due ON alert_outbox (channel, next_attempt_at) WHERE delivered_at IS NULL;

CREATE TABLE IF NOT EXISTS alert_deliveries (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  outbox_id   INTEGER NOT NULL REFERENCES alert_outbox (id),
  at          INTEGER NOT NULL,
  channel     TEXT    NOT NULL,
  ok          INTEGER NOT NULL,
  error       TEXT,
  duration_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_deliveries_by_outbox ON alert_deliveries (outbox_id);
`;

/** Create the alert tables when they are missing. Idempotent. */
export function ensureAlertsSchema(db: Database): void {
  db.exec(ALERTS_SCHEMA_SQL);
}
