// Device tokens and the devices' own ids (a store migration): what DoH and
// DoT requests from school devices carry to say whose device they are.
// A token is shown once when issued and stored only as its SHA-256 (a token is
// 160 random bits, so a hash cannot be reversed or guessed at, and a backup of
// the database holds nothing a device could use). A token row is never
// deleted: revoking it sets revoked_at, so the change log and the Encrypted
// DNS page can say when it stopped working.
export const deviceTokensSql = `
  CREATE TABLE device_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   INTEGER NOT NULL REFERENCES identity_devices (id),
    -- Lower-case hex SHA-256 of the token as issued (lower-case base32).
    token_hash  TEXT    NOT NULL UNIQUE,
    -- The group the device's requests are filtered as (NULL: its network's, the default group from outside).
    group_name  TEXT,
    label       TEXT,
    created_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    revoked_at  INTEGER,
    revoked_by  TEXT,
    -- Last time a request carried it (written about once a minute, off the query path).
    last_used_at INTEGER,
    updated_at  INTEGER NOT NULL
  );
  CREATE INDEX device_tokens_device ON device_tokens (device_id);
  -- The ids Chromebooks can send hashed in DnsOverHttpsTemplatesWithIdentifiers
  -- (\${DEVICE_SERIAL_NUMBER}, \${DEVICE_DIRECTORY_ID}), from the device import.
  ALTER TABLE identity_devices ADD COLUMN serial TEXT;
  ALTER TABLE identity_devices ADD COLUMN directory_id TEXT;
`;
