// The reports' tables (store migration 13, src/store/migrations.ts): one row per
// sending of a report (on its schedule, or asked for), delivered through the
// alert outbox as rows of a new kind, "report", whose payload holds the
// sending's id, so a mail server that is down delays a report and loses none.
// The sending keeps what was made at its time (subject, bodies, PDF, chart
// images), so a report delivered days late still says what it said then, and
// the admin UI can show every sending and its PDF. Never edit once shipped.
import type { Database } from 'better-sqlite3';
import { widenCheck } from '../store/rebuild-table.js';

const reportTablesSql = `
CREATE TABLE report_sendings (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  report        TEXT    NOT NULL CHECK (report IN ('weekly', 'board', 'annual')),
  period_from   INTEGER NOT NULL,
  period_to     INTEGER NOT NULL,
  -- The scheduled time it stands for; NULL when someone sent it by hand.
  slot          INTEGER,
  created_at    INTEGER NOT NULL,
  -- 'schedule', an admin UI user, or 'cli (osuser)'.
  requested_by  TEXT    NOT NULL,
  channels_json TEXT    NOT NULL,
  -- E-mail addresses the report goes to (the e-mail channel's own when empty).
  recipients_json TEXT  NOT NULL,
  -- What was made: the e-mail's subject, plain text and HTML bodies, the PDF,
  -- the charts' PNGs ([{cid, filename, png (base64)}]) and the admin UI link.
  subject       TEXT    NOT NULL,
  body_text     TEXT    NOT NULL,
  body_html     TEXT    NOT NULL,
  pdf           BLOB    NOT NULL,
  images_json   TEXT    NOT NULL,
  link          TEXT,
  UNIQUE (report, slot)
);
CREATE INDEX report_sendings_by_time ON report_sendings (created_at);
`;

/** Store migration 13 (runs with foreign keys off: alert_deliveries points at the outbox). */
export function reportsMigration(db: Database): void {
  // The outbox's kind constraint gains 'report' (change control's 'notice' stays allowed).
  widenCheck(db, 'alert_outbox', 'kind', 'report');
  db.exec(reportTablesSql);
}
