-- A shard that died and was resumed lay idle in between: from the last outcome its lost attempt
-- recorded (or its end, for a finished shard resumed) to its resumption. Kept so a shard's wall
-- time is the time it ran, not the time it lay dead (`RunSharding::idle_ms`).
ALTER TABLE runs ADD COLUMN shard_idle_ms INTEGER NOT NULL DEFAULT 0;
-- When it was last resumed: an attempt that dies again before recording anything lay dead from
-- there, not from the outcome before.
ALTER TABLE runs ADD COLUMN shard_resumed_at TEXT;
ALTER TABLE run_shards ADD COLUMN idle_ms INTEGER NOT NULL DEFAULT 0;
