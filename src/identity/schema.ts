// The identity tables (store migration 7). People and devices are interned:
// each gets a small integer id (AUTOINCREMENT, so an id is never reused, even
// after retention deletes a row) that a query-log row can hold in 4 bytes
// and that keeps its meaning when addresses and leases change. Addresses
// hold what each source says is at an address now, so the CLI (another
// process) can read it and a restart does not forget logged-in users.
// Identity is children's personal data: every row is found by person_id or
// device_id (subject access, erasure) and goes with the query log's retention.
export const identitySchemaSql = `
  -- One row per person: from a roster, or a user name seen only on RADIUS.
  CREATE TABLE identity_people (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The normalised user name (src/identity/users.ts): the person's key.
    user_key      TEXT    NOT NULL UNIQUE,
    display_name  TEXT,
    email         TEXT,
    role          TEXT,
    year_group    TEXT,
    org_unit      TEXT,
    -- Other names that mean this person (JSON array), from the roster.
    aliases_json  TEXT    NOT NULL DEFAULT '[]',
    -- The roster source (config identity.roster[].source) that lists them; NULL: RADIUS only.
    roster_source TEXT,
    in_roster     INTEGER NOT NULL DEFAULT 0,
    first_seen    INTEGER NOT NULL,
    -- Last time a source placed them at an address (or a roster listed them): retention's clock.
    last_seen     INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  );
  -- One row per device: seen by MAC (DHCP, RADIUS), known only by a name
  -- (reverse DNS), or named by the school (devices import, admin UI).
  CREATE TABLE identity_devices (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 'mac:aa:bb:cc:dd:ee:ff', 'ip:ADDRESS' (named by address) or 'name:HOST'.
    key         TEXT    NOT NULL UNIQUE,
    -- The school's own fields; named = 1 when the school gave them.
    name        TEXT,
    asset_tag   TEXT,
    owner       TEXT,
    named       INTEGER NOT NULL DEFAULT 0,
    -- The last host name a source reported for it.
    host_name   TEXT,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  );
  -- What each source says is at an address now. A row goes when its source
  -- forgets the address (Stop, lease gone, TTL over) or when it expires.
  CREATE TABLE identity_addresses (
    source      TEXT    NOT NULL CHECK (source IN ('radius', 'dhcp', 'ptr')),
    -- An IP address, or (RADIUS Framed-IPv6-Prefix) PREFIX/LENGTH.
    address     TEXT    NOT NULL,
    person_id   INTEGER REFERENCES identity_people (id) ON DELETE SET NULL,
    device_id   INTEGER REFERENCES identity_devices (id) ON DELETE SET NULL,
    user_name   TEXT,
    mac         TEXT,
    host_name   TEXT,
    origin      TEXT    NOT NULL,
    session_id  TEXT,
    started_at  INTEGER,
    updated_at  INTEGER NOT NULL,
    -- ms since the epoch; NULL for never.
    expires_at  INTEGER,
    PRIMARY KEY (source, address)
  ) WITHOUT ROWID;
  CREATE INDEX identity_addresses_person ON identity_addresses (person_id);
  CREATE INDEX identity_addresses_device ON identity_addresses (device_id);
  -- One row per roster import: when, from where, what it did (no personal data).
  CREATE TABLE identity_roster_imports (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    source    TEXT    NOT NULL,
    format    TEXT    NOT NULL,
    ok        INTEGER NOT NULL,
    added     INTEGER NOT NULL DEFAULT 0,
    changed   INTEGER NOT NULL DEFAULT 0,
    removed   INTEGER NOT NULL DEFAULT 0,
    refused   INTEGER NOT NULL DEFAULT 0,
    -- The first refused lines: [{ "line": N, "reason": "…" }] (reasons only, never the row's text).
    refused_json TEXT NOT NULL DEFAULT '[]',
    error     TEXT
  );
`;
