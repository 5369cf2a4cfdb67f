-- The AI-writable boundary: what a run's pods enforced, and what each issue's agent did at it.
ALTER TABLE runs ADD COLUMN boundary_json TEXT;   -- the effective boundary, as the first pod resolved it

CREATE TABLE boundary_events (
    run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    issue_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,      -- change | proposal | violation
    position    INTEGER NOT NULL,   -- order within the issue and kind
    table_name  TEXT,
    detail_json TEXT NOT NULL,
    PRIMARY KEY (run_id, issue_id, kind, position)
);
