-- Sharded runs (`agentpod run --shard K/N`, `agentpod merge`): the group every part of one run
-- belongs to, this run's part (NULL for a merged run, which holds every part), how many parts
-- there are, the sample's and the spec's fingerprints the parts must share, and the machine a
-- shard ran on. All NULL for a run on one machine.
ALTER TABLE runs ADD COLUMN shard_group TEXT;
ALTER TABLE runs ADD COLUMN shard_part INTEGER;
ALTER TABLE runs ADD COLUMN shard_parts INTEGER;
ALTER TABLE runs ADD COLUMN sample_sha256 TEXT;
ALTER TABLE runs ADD COLUMN spec_sha256 TEXT;
ALTER TABLE runs ADD COLUMN host TEXT;

-- The shards a merged run was made from: how the run was spread (machine, wall time of each).
CREATE TABLE run_shards (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    part INTEGER NOT NULL,
    source_run_id TEXT NOT NULL,
    host TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    trials INTEGER NOT NULL,
    PRIMARY KEY (run_id, part)
);
