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
  /* 4 */ `
  -- Timelapse videos and the jobs that build them (issue 5).
  CREATE TABLE videos (
    id           INTEGER PRIMARY KEY,
    source_id    TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('daily', 'weekly', 'monthly', 'custom')),
    label        TEXT    NOT NULL,            -- 2026-11-22, 2026-W47, 2026-10, or the custom job's name
    path         TEXT    NOT NULL UNIQUE,     -- relative to the data folder
    poster_path  TEXT,
    period_from  INTEGER NOT NULL,
    period_to    INTEGER NOT NULL,
    frames       INTEGER NOT NULL,
    fps          INTEGER NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    codec        TEXT    NOT NULL,
    job_id       INTEGER,
    created_at   INTEGER NOT NULL
  );
  CREATE INDEX videos_by_source ON videos (source_id, kind, period_from);

  CREATE TABLE video_jobs (
    id           INTEGER PRIMARY KEY,
    source_id    TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    params       TEXT    NOT NULL,            -- JSON: what was asked
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'skipped', 'failed', 'cancelled')),
    progress     REAL    NOT NULL DEFAULT 0,  -- percent
    requested_by TEXT    NOT NULL,            -- a username, "schedule" or "cli"
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    message      TEXT,                        -- why it was skipped or failed
    result       TEXT,                        -- JSON: frames used, frames skipped and why
    video_id     INTEGER
  );
  CREATE INDEX video_jobs_by_period ON video_jobs (source_id, kind, label);
  CREATE INDEX video_jobs_pending ON video_jobs (status) WHERE status IN ('queued', 'running');
  `,
  /* 5 */ `
  -- The outbox of the SFTP sync (issue 6): one row per file and target, written in the
  -- transaction that indexes the file. Sent rows stay: they are the record that a
  -- picture reached every target (retention deletes only those).
  CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    target_id       TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('picture', 'video', 'latest')),
    source_id       TEXT    NOT NULL,
    item_id         INTEGER NOT NULL,            -- the picture's or the video's id
    local_path      TEXT    NOT NULL,            -- relative to the data folder
    remote_path     TEXT    NOT NULL,            -- relative to <remoteDir>/<appliance.id>
    size            INTEGER NOT NULL,
    priority        INTEGER NOT NULL,            -- 0 goes first (latest), then 1
    order_at        INTEGER NOT NULL,            -- pictures: taken at; videos: made at
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'gone')),
    version         INTEGER NOT NULL DEFAULT 1,  -- bumped when a newer file replaces the row's (latest, a rebuilt video)
    overwrite       INTEGER NOT NULL DEFAULT 0,  -- 1: the remote file may hold an older version; always upload
    attempts        INTEGER NOT NULL DEFAULT 0,  -- failed attempts of this file (not counting a target that was down)
    tried_at        INTEGER,                     -- first upload attempt of this version: it may have reached the server
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    UNIQUE (target_id, remote_path)
  );
  CREATE INDEX outbox_due ON outbox (target_id, priority, order_at, id) WHERE state = 'pending';
  CREATE INDEX outbox_by_item ON outbox (kind, item_id, target_id);
  CREATE INDEX outbox_gone ON outbox (target_id) WHERE state = 'gone';

  -- What each target did last, for status and alerts across restarts.
  CREATE TABLE sync_targets (
    target_id          TEXT PRIMARY KEY,
    last_ok_at         INTEGER,                  -- last successful connection or upload
    last_sent_at       INTEGER,
    sent_files         INTEGER NOT NULL DEFAULT 0,
    sent_bytes         INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    last_error_at      INTEGER,
    failing_since      INTEGER,                  -- first failed connection of the current outage
    unreachable_raised INTEGER NOT NULL DEFAULT 0,
    backlog_raised     INTEGER NOT NULL DEFAULT 0,
    host_key_seen      TEXT                      -- the fingerprint the server last presented
  );

  ALTER TABLE events ADD COLUMN target_id TEXT;
  `,
  /* 6 */ `
  -- Access (issue 7): groups of users, and customers' grants on sources, to a user or a group.
  CREATE TABLE groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX group_members_by_user ON group_members (user_id);
  CREATE TABLE grants (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    group_id   INTEGER REFERENCES groups (id) ON DELETE CASCADE,
    source_id  TEXT    NOT NULL,
    level      TEXT    NOT NULL CHECK (level IN ('view', 'download')),
    created_at INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
  );
  CREATE UNIQUE INDEX grants_user ON grants (user_id, source_id) WHERE user_id IS NOT NULL;
  CREATE UNIQUE INDEX grants_group ON grants (group_id, source_id) WHERE group_id IS NOT NULL;

  -- Where a change came from (the client address, or "cli").
  ALTER TABLE audit ADD COLUMN address TEXT;

  -- Usable pictures per source and day, kept by triggers, so the calendar is one
  -- small read however many pictures there are.
  CREATE TABLE picture_days (
    source_id  TEXT    NOT NULL,
    local_date TEXT    NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (source_id, local_date)
  ) WITHOUT ROWID;
  INSERT INTO picture_days (source_id, local_date, count)
    SELECT source_id, local_date, count(*) FROM pictures WHERE rejection IS NULL AND missing = 0 GROUP BY source_id, local_date;
  CREATE TRIGGER picture_days_insert AFTER INSERT ON pictures WHEN NEW.rejection IS NULL AND NEW.missing = 0 BEGIN
    INSERT INTO picture_days (source_id, local_date, count) VALUES (NEW.source_id, NEW.local_date, 1)
      ON CONFLICT (source_id, local_date) DO UPDATE SET count = count + 1;
  END;
  CREATE TRIGGER picture_days_delete AFTER DELETE ON pictures WHEN OLD.rejection IS NULL AND OLD.missing = 0 BEGIN
    UPDATE picture_days SET count = count - 1 WHERE source_id = OLD.source_id AND local_date = OLD.local_date;
    DELETE FROM picture_days WHERE source_id = OLD.source_id AND local_date = OLD.local_date AND count <= 0;
  END;
  CREATE TRIGGER picture_days_update AFTER UPDATE OF missing, rejection, source_id, local_date ON pictures BEGIN
    UPDATE picture_days SET count = count - 1
      WHERE OLD.rejection IS NULL AND OLD.missing = 0 AND source_id = OLD.source_id AND local_date = OLD.local_date;
    DELETE FROM picture_days WHERE source_id = OLD.source_id AND local_date = OLD.local_date AND count <= 0;
    INSERT INTO picture_days (source_id, local_date, count) SELECT NEW.source_id, NEW.local_date, 1
      WHERE NEW.rejection IS NULL AND NEW.missing = 0
      ON CONFLICT (source_id, local_date) DO UPDATE SET count = count + 1;
  END;
  `,
  /* 7 */ `
  -- Pictures per source for the status, without reading every row: the usable ones are in
  -- picture_days; the rejected ones (few) are counted through this index.
  CREATE INDEX pictures_rejected ON pictures (source_id) WHERE rejection IS NOT NULL AND missing = 0;
  `,
  /* 8 */ `
  -- Health (issue 8): the box's vital signs, one row per minute, rolled up into hours and
  -- days for charts. Bytes and percent are as measured; flags are 1 when seen at any
  -- moment of the period.
  CREATE TABLE health_samples (
    resolution          TEXT    NOT NULL CHECK (resolution IN ('minute', 'hour', 'day')),
    at                  INTEGER NOT NULL,      -- start of the period
    samples             INTEGER NOT NULL,      -- minute samples the row stands for
    disk_free_bytes     INTEGER,               -- lowest of the period
    disk_total_bytes    INTEGER,
    cpu_temp_c          REAL,                  -- mean
    cpu_temp_max_c      REAL,
    load1               REAL,                  -- mean
    load1_max           REAL,
    mem_available_bytes INTEGER,               -- lowest
    mem_total_bytes     INTEGER,
    rss_bytes           INTEGER,               -- highest, of the daemon
    net_rx_bytes        INTEGER,               -- moved during the period
    net_tx_bytes        INTEGER,
    under_voltage       INTEGER,               -- NULL: unknown (no vcgencmd)
    throttled           INTEGER,
    clock_unsynced      INTEGER,               -- NULL: unknown
    PRIMARY KEY (resolution, at)
  ) WITHOUT ROWID;

  -- Per source and local day: what the daily report compares with the slots expected.
  CREATE TABLE source_days (
    source_id  TEXT    NOT NULL,
    local_date TEXT    NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    skipped    INTEGER NOT NULL DEFAULT 0,
    purged     INTEGER NOT NULL DEFAULT 0,   -- pictures deleted by retention
    PRIMARY KEY (source_id, local_date)
  ) WITHOUT ROWID;

  -- Alerts: one row per condition (kind and subject), with what was last told about it.
  CREATE TABLE alerts (
    key            TEXT PRIMARY KEY,         -- kind, or kind:subject (picture-late:north)
    kind           TEXT    NOT NULL,
    source_id      TEXT,
    target_id      TEXT,
    state          TEXT    NOT NULL CHECK (state IN ('ok', 'raised')),
    severity       TEXT    NOT NULL CHECK (severity IN ('warning', 'error')),
    message        TEXT    NOT NULL,
    raised_at      INTEGER,                  -- start of the current or last episode
    changed_at     INTEGER NOT NULL,
    notified_at    INTEGER,                  -- last message about it
    notified_state TEXT,                     -- raised or ok: what people were last told
    reminders      INTEGER NOT NULL DEFAULT 0,
    flaps          INTEGER NOT NULL DEFAULT 0  -- changes not yet told (quiet period)
  );

  -- Messages to send, one row per channel, kept until delivered (retried with backoff).
  CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    created_at      INTEGER NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('webhook', 'email')),
    topic           TEXT    NOT NULL,        -- the alert key, or report:<date>
    payload         TEXT    NOT NULL,        -- JSON message
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
  );
  CREATE INDEX notifications_due ON notifications (channel, next_attempt_at) WHERE state = 'pending';
  CREATE INDEX notifications_by_topic ON notifications (topic, created_at);
  `,
  /* 9 */ `
  -- The instant an event's episode began (a sync outage, the oldest waiting file), kept as
  -- data: readers write it in the appliance's time zone, so messages hold no time.
  ALTER TABLE events ADD COLUMN since INTEGER;
  `,
  /* 10 */ `
  -- S3 multipart uploads in progress, so that a video cut by a crash or an outage resumes the
  -- same upload after a restart with the parts the server already has, instead of starting over.
  CREATE TABLE multipart_uploads (
    target_id   TEXT    NOT NULL,
    key         TEXT    NOT NULL,            -- the object key
    remote_path TEXT    NOT NULL,            -- the outbox row it sends (relative to the box's folder)
    upload_id   TEXT    NOT NULL,
    size        INTEGER NOT NULL,            -- the local file it was started for
    sha256      TEXT    NOT NULL,
    part_size   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (target_id, key)
  );
  CREATE TABLE multipart_parts (
    target_id   TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    upload_id   TEXT    NOT NULL,
    part_number INTEGER NOT NULL,
    etag        TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    PRIMARY KEY (target_id, key, upload_id, part_number)
  );
  `,
  /* 11 */ `
  -- The retained MQTT messages this box has left on its broker (source states, Home Assistant
  -- discovery), so that those of a source that left the configuration, or of a feature turned
  -- off, are removed from the broker even across restarts.
  CREATE TABLE mqtt_retained (
    topic        TEXT    PRIMARY KEY,
    published_at INTEGER NOT NULL
  );
  `,
  /* 12 */ `
  -- The box-wide public switch (issue 22): off, every /public/ route answers 404 at once,
  -- whatever the sources' public settings say. One row at most; no row is "on, never switched".
  CREATE TABLE public_switch (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    changed_at INTEGER NOT NULL,
    changed_by TEXT    NOT NULL              -- the audit's actor: user:<name> or cli:<login>
  );
  `,
  /* 13 */ `
  -- Share links (issue 22): one scope of one source opened to anyone holding the link until it
  -- expires or is revoked. Only the SHA-256 of the token is kept, so a copy of the database
  -- opens nothing. A customer's link also ends when its owner loses the right it was made with.
  CREATE TABLE shares (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT    NOT NULL UNIQUE,   -- hex SHA-256 of the token
    source_id     TEXT    NOT NULL,
    scope         TEXT    NOT NULL CHECK (scope IN ('latest', 'gallery', 'picture', 'video', 'compare')),
    level         TEXT    NOT NULL CHECK (level IN ('view', 'download')),
    label         TEXT,
    from_date     TEXT,                      -- gallery: first local day (YYYY-MM-DD), inclusive
    to_date       TEXT,                      -- gallery: last local day, inclusive
    picture_id    INTEGER,                   -- picture, and the first of a compare
    picture2_id   INTEGER,                   -- the second picture of a compare
    video_id      INTEGER,
    owner_id      INTEGER,                   -- the user who made it; null for the box's own (progress e-mails)
    created_by    TEXT    NOT NULL,          -- the audit's actor: user:<name>, progress:<source>
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoked_by    TEXT,
    expiry_noted  INTEGER NOT NULL DEFAULT 0, -- 1: its expiry is in the audit trail
    uses          INTEGER NOT NULL DEFAULT 0, -- pages opened
    last_used_at  INTEGER
  );
  CREATE INDEX shares_by_owner ON shares (owner_id, created_at);
  CREATE INDEX shares_to_expire ON shares (expires_at) WHERE expiry_noted = 0 AND revoked_at IS NULL;

  -- A user's e-mail address, for progress e-mails sent to a group of customers.
  ALTER TABLE users ADD COLUMN email TEXT;
  `,
  /* 14 */ `
  -- Progress e-mails (issue 22): one row per e-mail, written before it is sent, so that a
  -- slot is sent at most once across restarts, a failed send is tried again with backoff, and
  -- the System page says what happened to each.
  CREATE TABLE progress_emails (
    id              INTEGER PRIMARY KEY,
    source_id       TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('scheduled', 'manual')),
    slot            INTEGER NOT NULL,          -- the instant it is for: the slot of the rhythm, or when a person asked
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
    content         TEXT,                      -- JSON: what it shows (pictures, film), chosen when it was queued
    recipients      INTEGER NOT NULL DEFAULT 0, -- how many it went to
    attempts        INTEGER NOT NULL DEFAULT 0, -- failed sends so far
    next_attempt_at INTEGER NOT NULL,
    sending_since   INTEGER,                   -- set while the SMTP conversation runs: found at start-up, it may have arrived
    last_error      TEXT,                      -- why the last send failed, why it was skipped or given up
    share_id        INTEGER,                   -- the link in it (shares.id), made at each attempt
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
  );
  CREATE UNIQUE INDEX progress_emails_slot ON progress_emails (source_id, slot) WHERE kind = 'scheduled';
  CREATE INDEX progress_emails_by_source ON progress_emails (source_id, id);
  CREATE INDEX progress_emails_pending ON progress_emails (next_attempt_at) WHERE state = 'pending';

  -- Since when each source's rhythm holds as it is now: a slot from before (the rhythm was just
  -- set or changed) is never sent late, while one missed with the box off is.
  CREATE TABLE progress_rhythms (
    source_id TEXT    PRIMARY KEY,
    rhythm    TEXT    NOT NULL,                -- day@08:00, week:mon@08:00
    since     INTEGER NOT NULL
  );
  `,

  /* 15 */ `
  -- Coverage (issue 25): what a day's pictures are measured against, and why slots got none.
  -- The schedule in force for each source since each change (NULL: disabled or removed), so
  -- that a past day is counted with the schedule of that day, not today's.
  CREATE TABLE schedule_history (
    source_id TEXT    NOT NULL,
    since     INTEGER NOT NULL,
    schedule  TEXT,                              -- JSON {everyMs, windows}; NULL: no slot
    PRIMARY KEY (source_id, since)
  ) WITHOUT ROWID;

  -- Slots that got no picture while the daemon ran, as runs of one kind: the camera failed
  -- (message: the error), the disk was full, the previous capture still ran, the daemon was late.
  CREATE TABLE slot_gaps (
    id        INTEGER PRIMARY KEY,
    source_id TEXT    NOT NULL,
    kind      TEXT    NOT NULL CHECK (kind IN ('camera', 'disk', 'busy', 'late')),
    first_at  INTEGER NOT NULL,
    last_at   INTEGER NOT NULL,
    slots     INTEGER NOT NULL,
    message   TEXT
  );
  CREATE INDEX slot_gaps_by_source ON slot_gaps (source_id, last_at);

  -- When the daemon ran: a slot outside every run was missed with the box (or the daemon) off.
  CREATE TABLE daemon_runs (
    started_at INTEGER PRIMARY KEY,
    alive_at   INTEGER NOT NULL,                 -- the last heartbeat (a minute apart), or the stop
    stopped_at INTEGER                           -- a clean stop; NULL: running, or it died
  );
  `,
  /* 16 */ `
  -- Films for phones (issue 25): a smaller rendition with a bit rate ceiling, beside the film.
  ALTER TABLE videos ADD COLUMN phone_path TEXT;             -- relative to the data folder; NULL: none
  ALTER TABLE videos ADD COLUMN phone_size INTEGER;
  ALTER TABLE videos ADD COLUMN phone_width INTEGER;
  ALTER TABLE videos ADD COLUMN phone_height INTEGER;
  ALTER TABLE videos ADD COLUMN phone_bitrate INTEGER;       -- bits per second over the file
  `,
  /* 17 */ `
  -- The language a user reads the UI and their e-mails in (issue 26): a catalog's code; NULL: their browser's.
  ALTER TABLE users ADD COLUMN language TEXT;
  `,
  /* 18 */ `
  -- The exposure each picture was taken with (issue 27): the ramp goes on from it after a restart,
  -- the source page charts it, and films even out its steps.
  ALTER TABLE pictures ADD COLUMN exposure TEXT;   -- JSON {shutter, iso, aperture} in the camera's words; NULL: not known
  ALTER TABLE pictures ADD COLUMN ev REAL;         -- the exposure value of those settings, for ISO 100
  `,
];
