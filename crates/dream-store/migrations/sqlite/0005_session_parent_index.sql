-- A dream reads each session's subagents (`child_sessions`, by parent_id): without
-- this index every call scanned the whole table (27 ms per call at 100k sessions,
-- 0.005 ms with it; measured by `cargo xtask bench-dream`).
CREATE INDEX sessions_parent_id ON sessions (parent_id);
