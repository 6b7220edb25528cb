-- Sessions, their events and outcomes (issue 2).
-- Times are fixed-width RFC 3339 text in UTC (2026-02-11T20:36:45.618000Z): text order is time order.
-- `agent` is '' when unknown so that (agent, source_session_id) can be UNIQUE.

CREATE TABLE sessions (
    id                        TEXT PRIMARY KEY NOT NULL,
    source_kind               TEXT NOT NULL,
    source_session_id         TEXT NOT NULL,
    agent                     TEXT NOT NULL DEFAULT '',
    user_id                   TEXT,
    started_at                TEXT,
    ended_at                  TEXT,
    metadata                  TEXT NOT NULL DEFAULT '{}',
    content_hash              TEXT NOT NULL,
    events_digest             TEXT NOT NULL,
    event_count               INTEGER NOT NULL DEFAULT 0,
    tool_error_count          INTEGER NOT NULL DEFAULT 0,
    memory_store_id           TEXT,
    memory_store_version      INTEGER,
    parent_source_session_id  TEXT,
    parent_id                 TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    source_path               TEXT,
    ingested_at               TEXT NOT NULL,
    updated_at                TEXT NOT NULL,
    UNIQUE (agent, source_session_id)
);

CREATE INDEX sessions_started_at ON sessions (started_at);
CREATE INDEX sessions_source_session_id ON sessions (source_session_id);
CREATE INDEX sessions_parent_source ON sessions (parent_source_session_id);
CREATE INDEX sessions_user ON sessions (user_id);

-- A rowid table: events hold multi-kilobyte texts, which WITHOUT ROWID tables store badly
-- (https://www.sqlite.org/withoutrowid.html, section 4).
CREATE TABLE events (
    session_id   TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    ts           TEXT,
    kind         TEXT NOT NULL,
    tool_name    TEXT,
    tool_use_id  TEXT,
    is_error     INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    text         TEXT NOT NULL,
    raw          TEXT,
    UNIQUE (session_id, idx)
);

CREATE TABLE outcomes (
    session_id   TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    result       TEXT,
    value        REAL,
    explanation  TEXT,
    PRIMARY KEY (session_id, idx)
);

CREATE INDEX outcomes_name ON outcomes (name, value);
