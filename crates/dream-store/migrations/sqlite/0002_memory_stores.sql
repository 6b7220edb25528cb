-- Memory stores, live memories, and the append-only log of memory versions (issue 3).
-- Every memory version advances its store's store_version by one; a store can be read
-- as of any store version from memory_versions alone. `memories` is the current state.

CREATE TABLE memory_stores (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    metadata         TEXT NOT NULL DEFAULT '{}',
    protected_paths  TEXT NOT NULL DEFAULT '[]',
    store_version    INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    archived_at      TEXT
);

CREATE TABLE memories (
    id                  TEXT PRIMARY KEY NOT NULL,
    store_id            TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
    path                TEXT NOT NULL,
    content             TEXT NOT NULL,
    content_sha256      TEXT NOT NULL,
    content_size_bytes  INTEGER NOT NULL,
    memory_version_id   TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (store_id, path)
);

CREATE TABLE memory_versions (
    id                  TEXT PRIMARY KEY NOT NULL,
    store_id            TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
    memory_id           TEXT NOT NULL,
    store_version       INTEGER NOT NULL,
    operation           TEXT NOT NULL CHECK (operation IN ('created', 'modified', 'deleted')),
    path                TEXT,
    content             TEXT,
    content_sha256      TEXT,
    content_size_bytes  INTEGER,
    created_by          TEXT NOT NULL,
    actor_type          TEXT NOT NULL,
    actor_id            TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    redacted_at         TEXT,
    redacted_by         TEXT,
    UNIQUE (store_id, store_version)
);

CREATE INDEX memory_versions_memory ON memory_versions (memory_id, store_version);
CREATE INDEX memory_versions_actor ON memory_versions (store_id, actor_type, actor_id);
