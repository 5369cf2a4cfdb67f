-- The report model: `agentpod report`'s figures, serialised, kept per run so the report of a big
-- run is read rather than recomputed, with the run's revision it was computed from.
--
-- A run's revision counts the writes to what its report reads: the run row (status, spec,
-- evaluation set), its sample, its outcomes and its boundary events. Triggers count them, so
-- every writer (a run, a resume, an import, a hand edit) moves it, and a model of an older
-- revision is never used. No revision row yet reads as revision 0. Steps are not counted: the
-- report's figures do not read them (the HTML page reads them afresh for its timelines).
CREATE TABLE run_revisions (
    run_id   TEXT PRIMARY KEY,
    revision INTEGER NOT NULL
);

CREATE TABLE report_models (
    run_id   TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,   -- the run's revision the model was computed from
    version  TEXT NOT NULL,      -- the model's format and the agentpod that computed it
    model    BLOB NOT NULL
);

CREATE TRIGGER runs_revision_update AFTER UPDATE ON runs BEGIN
    INSERT INTO run_revisions (run_id, revision) VALUES (NEW.id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;
CREATE TRIGGER runs_revision_delete AFTER DELETE ON runs BEGIN
    DELETE FROM report_models WHERE run_id = OLD.id;
    INSERT INTO run_revisions (run_id, revision) VALUES (OLD.id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;

CREATE TRIGGER run_issues_revision_insert AFTER INSERT ON run_issues BEGIN
    INSERT INTO run_revisions (run_id, revision) VALUES (NEW.run_id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;
CREATE TRIGGER run_issues_revision_update AFTER UPDATE ON run_issues BEGIN
    INSERT INTO run_revisions (run_id, revision) VALUES (NEW.run_id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;
CREATE TRIGGER run_issues_revision_delete AFTER DELETE ON run_issues BEGIN
    INSERT INTO run_revisions (run_id, revision) VALUES (OLD.run_id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;

CREATE TRIGGER outcomes_revision_insert AFTER INSERT ON outcomes BEGIN
    INSERT INTO run_revisions (run_id, revision) VALUES (NEW.run_id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;
CREATE TRIGGER outcomes_revision_update AFTER UPDATE ON outcomes BEGIN
    INSERT INTO run_revisions (run_id, revision) VALUES (NEW.run_id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;
CREATE TRIGGER outcomes_revision_delete AFTER DELETE ON outcomes BEGIN
    INSERT INTO run_revisions (run_id, revision) VALUES (OLD.run_id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;

CREATE TRIGGER boundary_events_revision_insert AFTER INSERT ON boundary_events BEGIN
    INSERT INTO run_revisions (run_id, revision) VALUES (NEW.run_id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;
CREATE TRIGGER boundary_events_revision_update AFTER UPDATE ON boundary_events BEGIN
    INSERT INTO run_revisions (run_id, revision) VALUES (NEW.run_id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;
CREATE TRIGGER boundary_events_revision_delete AFTER DELETE ON boundary_events BEGIN
    INSERT INTO run_revisions (run_id, revision) VALUES (OLD.run_id, 1)
        ON CONFLICT (run_id) DO UPDATE SET revision = revision + 1;
END;
