-- What the gateways saw, per issue: model calls, tool calls and the agent's own spans (the
-- execution, reasoning and performance layers), plus per-issue totals on the outcome.
CREATE TABLE steps (
    run_id       TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    issue_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,      -- llm_call | tool_call | span
    position     INTEGER NOT NULL,   -- order within the issue and kind
    started_at   TEXT,
    latency_ms   REAL,
    detail_json  TEXT NOT NULL,
    PRIMARY KEY (run_id, issue_id, kind, position)
);

ALTER TABLE outcomes ADD COLUMN llm_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outcomes ADD COLUMN tool_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outcomes ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outcomes ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outcomes ADD COLUMN cost_usd REAL;                       -- NULL: nothing priced
ALTER TABLE outcomes ADD COLUMN unpriced_calls INTEGER NOT NULL DEFAULT 0;   -- calls to models with no price
ALTER TABLE outcomes ADD COLUMN budget_stops INTEGER NOT NULL DEFAULT 0;
