-- Outcomes tracking: each store's rubric and watch policy, per-session metrics, and
-- what the regression watch concluded about each applied dream.

ALTER TABLE memory_stores ADD COLUMN outcomes_config TEXT;   -- OutcomesConfig as JSON; NULL = defaults

-- One value per session and metric. A custom metric may not take a built-in's name
-- (the engine refuses it), so recomputing built-ins never overwrites one.
CREATE TABLE session_metrics (
    session_id          TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    value               REAL NOT NULL,
    source              TEXT NOT NULL CHECK (source IN ('builtin', 'custom')),
    definition_version  INTEGER NOT NULL,
    recorded_at         TEXT NOT NULL,
    PRIMARY KEY (session_id, name)
);

-- Which sessions have their built-in metrics, for which definitions and content: a
-- session is recomputed when either changes (it grew, or the definitions did).
CREATE TABLE session_metrics_state (
    session_id          TEXT PRIMARY KEY NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    definition_version  INTEGER NOT NULL,
    content_hash        TEXT NOT NULL,
    computed_at         TEXT NOT NULL
);

CREATE TABLE regression_checks (
    id                      TEXT PRIMARY KEY NOT NULL,
    memory_store_id         TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
    dream_id                TEXT NOT NULL UNIQUE,
    applied_store_version   INTEGER NOT NULL,
    verdict                 TEXT NOT NULL,
    action                  TEXT NOT NULL,
    restored_to_version     INTEGER,
    rollback_store_version  INTEGER,
    comparison              TEXT NOT NULL,
    checked_at              TEXT NOT NULL
);
CREATE INDEX regression_checks_store ON regression_checks (memory_store_id, checked_at);

CREATE INDEX sessions_memory_link ON sessions (memory_store_id, memory_store_version);
