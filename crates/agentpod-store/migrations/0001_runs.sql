-- Runs, the issues each run sampled, and one outcome per issue.
CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    spec_name     TEXT NOT NULL,
    spec_path     TEXT NOT NULL,
    agent_version TEXT NOT NULL,
    runtime       TEXT NOT NULL,
    pods          INTEGER NOT NULL,
    seed          INTEGER NOT NULL,
    issue_count   INTEGER NOT NULL,
    status        TEXT NOT NULL,           -- running | finished | interrupted | failed
    started_at    TEXT NOT NULL,           -- RFC 3339, UTC
    finished_at   TEXT,
    spec_json     TEXT NOT NULL,           -- the validated spec, as the run saw it
    summary_json  TEXT                     -- written when the run ends
);

-- The sample, in order: what the run meant to do, so an interrupted run shows what it left undone.
CREATE TABLE run_issues (
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    issue_id   TEXT NOT NULL,
    issue_json TEXT NOT NULL,
    PRIMARY KEY (run_id, issue_id)
);

CREATE TABLE outcomes (
    run_id           TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    issue_id         TEXT NOT NULL,
    pod_index        INTEGER NOT NULL,
    status           TEXT NOT NULL,        -- passed | failed | errored | interrupted
    reason           TEXT NOT NULL,
    exit             TEXT NOT NULL,        -- how the agent process ended, as JSON
    started_at       TEXT NOT NULL,
    duration_ms      INTEGER NOT NULL,
    output_json      TEXT,
    grade_json       TEXT NOT NULL,
    stdout           TEXT NOT NULL,
    stdout_bytes     INTEGER NOT NULL,
    stdout_truncated INTEGER NOT NULL,
    stderr           TEXT NOT NULL,
    stderr_bytes     INTEGER NOT NULL,
    stderr_truncated INTEGER NOT NULL,
    PRIMARY KEY (run_id, issue_id)
);

CREATE INDEX runs_started_at ON runs (started_at);
