/**
 * Schema migrations, applied in order; never edit a released step, add a new one.
 * Times are integers: milliseconds since the epoch, UTC.
 */
export const MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE pictures (
    id          INTEGER PRIMARY KEY,
    source_id   TEXT    NOT NULL,
    taken_at    INTEGER NOT NULL,
    local_date  TEXT    NOT NULL,            -- YYYY-MM-DD in appliance.timezone
    path        TEXT    NOT NULL UNIQUE,     -- relative to the data folder
    size        INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    missing     INTEGER NOT NULL DEFAULT 0,  -- 1: the file was gone at start-up
    created_at  INTEGER NOT NULL
  );
  CREATE INDEX pictures_by_source_time ON pictures (source_id, taken_at);
  CREATE INDEX pictures_by_source_day ON pictures (source_id, local_date);

  CREATE TABLE source_state (
    source_id            TEXT PRIMARY KEY,
    last_slot            INTEGER,            -- the last scheduled slot started: never run twice
    last_capture_at      INTEGER,
    last_picture_id      INTEGER,
    last_error           TEXT,
    last_error_at        INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    captures             INTEGER NOT NULL DEFAULT 0,
    failures             INTEGER NOT NULL DEFAULT 0,
    skipped              INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    profile       TEXT NOT NULL CHECK (profile IN ('maintainer', 'director', 'customer')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  );

  CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    target    TEXT,
    old_value TEXT,
    new_value TEXT
  );
  CREATE INDEX audit_by_time ON audit (at);
  `,
  /* 2 */ `
  -- Camera health for the recovery ladder and the status.
  ALTER TABLE source_state ADD COLUMN down_since INTEGER;           -- set when the ladder gave up
  ALTER TABLE source_state ADD COLUMN power_cycles_day TEXT;        -- local date the counter below is for
  ALTER TABLE source_state ADD COLUMN power_cycles_today INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE source_state ADD COLUMN last_power_cycle_at INTEGER;

  -- Things a person should hear about (camera down, back up, power cycled); the alerts
  -- service sends the ones not yet notified.
  CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    source_id   TEXT,
    kind        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    notified_at INTEGER
  );
  CREATE INDEX events_by_time ON events (at);
  CREATE INDEX events_pending ON events (notified_at) WHERE notified_at IS NULL;
  `,
  /* 3 */ `
  -- What the picture pipeline measured and made (issue 4).
  ALTER TABLE pictures ADD COLUMN sha256 TEXT;                    -- of the stored file, hex
  ALTER TABLE pictures ADD COLUMN exif_taken_at INTEGER;          -- the camera's own capture time, when it gives one
  ALTER TABLE pictures ADD COLUMN luminance REAL;                 -- mean, 0-255
  ALTER TABLE pictures ADD COLUMN rejection TEXT;                 -- NULL: usable; else corrupt, too-large, too-small, too-dark, too-bright
  ALTER TABLE pictures ADD COLUMN rejection_detail TEXT;
  ALTER TABLE pictures ADD COLUMN derivatives TEXT NOT NULL DEFAULT '';  -- sizes on disk: thumb,preview,...
  CREATE INDEX pictures_usable ON pictures (source_id, taken_at) WHERE rejection IS NULL AND missing = 0;
  `,
];
