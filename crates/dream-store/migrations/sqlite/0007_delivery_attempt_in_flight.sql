-- A webhook attempt is recorded before its request goes out (in_flight = 1) and
-- completed when the answer comes back, so a server killed mid-send leaves the
-- attempt in the log; the next claim marks it interrupted.
ALTER TABLE delivery_attempts ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
