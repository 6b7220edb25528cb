-- What the server keeps besides memory and sessions: API keys, dream schedules with
-- one row per claimed slot, and webhooks with their delivery outbox.
-- Times are fixed-width RFC 3339 text in UTC, as in 0001: text order is time order.

-- Only the secret's SHA-256 is stored; the secret itself is shown once at creation.
CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    hint           TEXT NOT NULL,
    scopes         TEXT NOT NULL,          -- JSON array of scope names
    secret_sha256  TEXT NOT NULL UNIQUE,
    created_at     TEXT NOT NULL,
    last_used_at   TEXT,
    revoked_at     TEXT
);

CREATE TABLE dream_schedules (
    id                    TEXT PRIMARY KEY NOT NULL,
    memory_store_id       TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
    cron                  TEXT NOT NULL,
    timezone              TEXT NOT NULL,
    window_last_sessions  INTEGER,
    window_since_seconds  INTEGER,
    min_new_sessions      INTEGER,
    mode                  TEXT NOT NULL,
    output_behavior       TEXT NOT NULL,
    min_support           INTEGER,
    enabled               INTEGER NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX dream_schedules_store ON dream_schedules (memory_store_id);

-- A slot is claimed by inserting its row: the primary key lets exactly one worker win.
CREATE TABLE schedule_runs (
    schedule_id     TEXT NOT NULL REFERENCES dream_schedules(id) ON DELETE CASCADE,
    slot            TEXT NOT NULL,
    dream_id        TEXT,
    skipped_reason  TEXT,
    claimed_at      TEXT NOT NULL,
    PRIMARY KEY (schedule_id, slot)
);

CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY NOT NULL,
    url          TEXT NOT NULL,
    events       TEXT NOT NULL,            -- JSON array of event types
    secret       TEXT NOT NULL,            -- needed in clear to sign deliveries
    description  TEXT NOT NULL DEFAULT '',
    enabled      INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);

-- The outbox. A pending delivery is due at next_attempt_at; a worker leases it by
-- moving next_attempt_at to the lease's end, so a crashed worker's delivery comes due again.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY NOT NULL,
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,        -- the JSON body
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    next_attempt_at  TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);

CREATE TABLE delivery_attempts (
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    at           TEXT NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
