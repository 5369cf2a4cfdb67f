-- The Postgres run store (`--store postgres://…`): the SQLite store's schema as its migrations
-- 0001–0013 leave it, in Postgres's words. The queries are the same for both (see
-- `src/run_store.rs`), so the columns keep SQLite's shapes: integers as BIGINT, flags as 0/1,
-- times as RFC 3339 text, JSON as text. Keys are compared byte by byte (COLLATE "C"), as SQLite
-- does, so every store sorts runs and issues alike. A later change to the schema is a migration
-- in both folders.

CREATE TABLE runs (
    id               TEXT COLLATE "C" PRIMARY KEY,
    spec_name        TEXT NOT NULL,
    spec_path        TEXT NOT NULL,
    agent_version    TEXT NOT NULL,
    runtime          TEXT NOT NULL,
    pods             BIGINT NOT NULL,
    seed             BIGINT NOT NULL,
    issue_count      BIGINT NOT NULL,
    status           TEXT NOT NULL,           -- running | finished | interrupted | failed
    started_at       TEXT COLLATE "C" NOT NULL,
    finished_at      TEXT,
    spec_json        TEXT NOT NULL,
    summary_json     TEXT,
    boundary_json    TEXT,
    trials           BIGINT NOT NULL DEFAULT 1,
    issues_sha256    TEXT,
    issues_total     BIGINT,
    shard_group      TEXT,
    shard_part       BIGINT,
    shard_parts      BIGINT,
    sample_sha256    TEXT,
    spec_sha256      TEXT,
    host             TEXT,
    shard_idle_ms    BIGINT NOT NULL DEFAULT 0,
    shard_resumed_at TEXT
);
CREATE INDEX runs_started_at ON runs (started_at);
CREATE INDEX runs_by_shard_group ON runs (shard_group) WHERE shard_group IS NOT NULL;

CREATE TABLE run_issues (
    run_id     TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    issue_id   TEXT COLLATE "C" NOT NULL,
    issue_json TEXT NOT NULL,
    PRIMARY KEY (run_id, issue_id)
);

CREATE TABLE outcomes (
    run_id           TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    issue_id         TEXT COLLATE "C" NOT NULL,
    trial            BIGINT NOT NULL DEFAULT 1,
    pod_index        BIGINT NOT NULL,
    status           TEXT NOT NULL,
    reason           TEXT NOT NULL,
    exit             TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    output_json      TEXT,
    grade_json       TEXT NOT NULL,
    stdout           TEXT NOT NULL,
    stdout_bytes     BIGINT NOT NULL,
    stdout_truncated BIGINT NOT NULL,
    stderr           TEXT NOT NULL,
    stderr_bytes     BIGINT NOT NULL,
    stderr_truncated BIGINT NOT NULL,
    llm_calls        BIGINT NOT NULL DEFAULT 0,
    tool_calls       BIGINT NOT NULL DEFAULT 0,
    input_tokens     BIGINT NOT NULL DEFAULT 0,
    output_tokens    BIGINT NOT NULL DEFAULT 0,
    cost_usd         DOUBLE PRECISION,
    unpriced_calls   BIGINT NOT NULL DEFAULT 0,
    budget_stops     BIGINT NOT NULL DEFAULT 0,
    model_retries    BIGINT NOT NULL DEFAULT 0,
    throttled_ms     DOUBLE PRECISION NOT NULL DEFAULT 0,
    prepare_ms       DOUBLE PRECISION NOT NULL DEFAULT 0,
    events_ms        DOUBLE PRECISION NOT NULL DEFAULT 0,
    grade_ms         DOUBLE PRECISION NOT NULL DEFAULT 0,
    side_models_json TEXT,
    PRIMARY KEY (run_id, issue_id, trial)
);

CREATE TABLE boundary_events (
    run_id      TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    issue_id    TEXT COLLATE "C" NOT NULL,
    trial       BIGINT NOT NULL DEFAULT 1,
    kind        TEXT COLLATE "C" NOT NULL,
    position    BIGINT NOT NULL,
    table_name  TEXT,
    detail_json TEXT NOT NULL,
    PRIMARY KEY (run_id, issue_id, trial, kind, position)
);
CREATE INDEX boundary_events_by_kind ON boundary_events (run_id, kind, issue_id, trial, position);

CREATE TABLE steps (
    run_id      TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    issue_id    TEXT COLLATE "C" NOT NULL,
    trial       BIGINT NOT NULL DEFAULT 1,
    kind        TEXT COLLATE "C" NOT NULL,
    position    BIGINT NOT NULL,
    started_at  TEXT COLLATE "C",
    latency_ms  DOUBLE PRECISION,
    detail_json TEXT NOT NULL,
    PRIMARY KEY (run_id, issue_id, trial, kind, position)
);

CREATE TABLE run_shards (
    run_id        TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    part          BIGINT NOT NULL,
    source_run_id TEXT NOT NULL,
    host          TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    trials        BIGINT NOT NULL,
    idle_ms       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, part)
);

-- The report model and the run revisions it is checked against (see the SQLite store's
-- 0009_report_models.sql): every write to what a report reads moves the run's revision.
CREATE TABLE run_revisions (
    run_id   TEXT COLLATE "C" PRIMARY KEY,
    revision BIGINT NOT NULL
);

CREATE TABLE report_models (
    run_id   TEXT COLLATE "C" PRIMARY KEY,
    revision BIGINT NOT NULL,
    version  TEXT NOT NULL,
    model    BYTEA NOT NULL
);

-- One function for every table: the run's id is `id` on `runs`, `run_id` elsewhere. A deleted
-- run also loses its report model.
CREATE FUNCTION agentpod_bump_run_revision() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_changed RECORD;
    changed_run TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_changed := OLD;
    ELSE
        row_changed := NEW;
    END IF;
    IF TG_TABLE_NAME = 'runs' THEN
        changed_run := row_changed.id;
        IF TG_OP = 'DELETE' THEN
            DELETE FROM report_models WHERE run_id = changed_run;
        END IF;
    ELSE
        changed_run := row_changed.run_id;
    END IF;
    INSERT INTO run_revisions (run_id, revision) VALUES (changed_run, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = run_revisions.revision + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER runs_revision AFTER UPDATE OR DELETE ON runs
    FOR EACH ROW EXECUTE FUNCTION agentpod_bump_run_revision();
CREATE TRIGGER run_issues_revision AFTER INSERT OR UPDATE OR DELETE ON run_issues
    FOR EACH ROW EXECUTE FUNCTION agentpod_bump_run_revision();
CREATE TRIGGER outcomes_revision AFTER INSERT OR UPDATE OR DELETE ON outcomes
    FOR EACH ROW EXECUTE FUNCTION agentpod_bump_run_revision();
CREATE TRIGGER boundary_events_revision AFTER INSERT OR UPDATE OR DELETE ON boundary_events
    FOR EACH ROW EXECUTE FUNCTION agentpod_bump_run_revision();
