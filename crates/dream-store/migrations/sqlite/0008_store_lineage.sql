-- Issue 9, "review you can trust": the store a `create_new` dream's output store was
-- derived from (no foreign key: the lineage stays readable after its source is
-- deleted), and the session filters of a scheduled dream (WindowFilters as JSON;
-- NULL = none).

ALTER TABLE memory_stores ADD COLUMN derived_from TEXT;
ALTER TABLE dream_schedules ADD COLUMN window_filters TEXT;
