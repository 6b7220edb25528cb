-- Dreams, proposals and their review, remembered rejections, the per-session signal
-- cache, and each store's dream gates (issue 4).

ALTER TABLE memory_stores ADD COLUMN dream_config TEXT;

CREATE TABLE dreams (
    id                  TEXT PRIMARY KEY NOT NULL,
    store_id            TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
    base_store_version  INTEGER NOT NULL,
    status              TEXT NOT NULL,
    body                TEXT NOT NULL,          -- the Dream as JSON
    created_at          TEXT NOT NULL,
    archived_at         TEXT
);
CREATE INDEX dreams_store ON dreams (store_id, created_at);

CREATE TABLE proposals (
    id                  TEXT PRIMARY KEY NOT NULL,
    dream_id            TEXT NOT NULL REFERENCES dreams(id) ON DELETE CASCADE,
    store_id            TEXT NOT NULL,
    base_store_version  INTEGER NOT NULL,
    body                TEXT NOT NULL,          -- the Proposal as JSON; never changed
    created_at          TEXT NOT NULL
);
CREATE INDEX proposals_dream ON proposals (dream_id);

CREATE TABLE change_reviews (
    proposal_id            TEXT NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
    change_id              TEXT NOT NULL,
    status                 TEXT NOT NULL,
    reason                 TEXT,
    applied_store_version  INTEGER,
    reviewed_at            TEXT,
    reviewed_by            TEXT,
    PRIMARY KEY (proposal_id, change_id)
);

CREATE TABLE rejections (
    store_id     TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
    change_id    TEXT NOT NULL,
    pattern_key  TEXT,
    after_text   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (store_id, change_id)
);

CREATE TABLE session_signals (
    session_id         TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    extractor_version  INTEGER NOT NULL,
    content_hash       TEXT NOT NULL,
    signals            TEXT NOT NULL,
    PRIMARY KEY (session_id, extractor_version)
);
