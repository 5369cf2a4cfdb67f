-- Repeated trials (`agentpod run --trials K`): each issue of a run may be run K times, so an
-- outcome, its steps and its boundary events are keyed by (run, issue, trial). SQLite cannot
-- change a primary key in place: each table is rebuilt (create, copy, drop, rename), and the rows
-- of older runs become trial 1. Nothing references these tables, so dropping them is safe with
-- foreign keys on.
ALTER TABLE runs ADD COLUMN trials INTEGER NOT NULL DEFAULT 1;

CREATE TABLE outcomes_with_trials (
    run_id           TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    issue_id         TEXT NOT NULL,
    trial            INTEGER NOT NULL DEFAULT 1,   -- 1..=runs.trials
    pod_index        INTEGER NOT NULL,
    status           TEXT NOT NULL,        -- passed | failed | errored | interrupted | infrastructure_error
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
    llm_calls        INTEGER NOT NULL DEFAULT 0,
    tool_calls       INTEGER NOT NULL DEFAULT 0,
    input_tokens     INTEGER NOT NULL DEFAULT 0,
    output_tokens    INTEGER NOT NULL DEFAULT 0,
    cost_usd         REAL,                 -- NULL: nothing priced
    unpriced_calls   INTEGER NOT NULL DEFAULT 0,
    budget_stops     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, issue_id, trial)
);
INSERT INTO outcomes_with_trials (run_id, issue_id, trial, pod_index, status, reason, exit,
        started_at, duration_ms, output_json, grade_json, stdout, stdout_bytes, stdout_truncated,
        stderr, stderr_bytes, stderr_truncated, llm_calls, tool_calls, input_tokens, output_tokens,
        cost_usd, unpriced_calls, budget_stops)
    SELECT run_id, issue_id, 1, pod_index, status, reason, exit,
        started_at, duration_ms, output_json, grade_json, stdout, stdout_bytes, stdout_truncated,
        stderr, stderr_bytes, stderr_truncated, llm_calls, tool_calls, input_tokens, output_tokens,
        cost_usd, unpriced_calls, budget_stops
    FROM outcomes;
DROP TABLE outcomes;
ALTER TABLE outcomes_with_trials RENAME TO outcomes;

CREATE TABLE boundary_events_with_trials (
    run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    issue_id    TEXT NOT NULL,
    trial       INTEGER NOT NULL DEFAULT 1,
    kind        TEXT NOT NULL,      -- change | proposal | violation
    position    INTEGER NOT NULL,   -- order within the issue's trial and kind
    table_name  TEXT,
    detail_json TEXT NOT NULL,
    PRIMARY KEY (run_id, issue_id, trial, kind, position)
);
INSERT INTO boundary_events_with_trials (run_id, issue_id, trial, kind, position, table_name, detail_json)
    SELECT run_id, issue_id, 1, kind, position, table_name, detail_json FROM boundary_events;
DROP TABLE boundary_events;
ALTER TABLE boundary_events_with_trials RENAME TO boundary_events;

CREATE TABLE steps_with_trials (
    run_id       TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    issue_id     TEXT NOT NULL,
    trial        INTEGER NOT NULL DEFAULT 1,
    kind         TEXT NOT NULL,      -- llm_call | tool_call | span
    position     INTEGER NOT NULL,   -- order within the issue's trial and kind
    started_at   TEXT,
    latency_ms   REAL,
    detail_json  TEXT NOT NULL,
    PRIMARY KEY (run_id, issue_id, trial, kind, position)
);
INSERT INTO steps_with_trials (run_id, issue_id, trial, kind, position, started_at, latency_ms, detail_json)
    SELECT run_id, issue_id, 1, kind, position, started_at, latency_ms, detail_json FROM steps;
DROP TABLE steps;
ALTER TABLE steps_with_trials RENAME TO steps;
