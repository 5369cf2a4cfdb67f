-- agentpod's own time around each trial's agent (ms): the hand-out, reading the boundary
-- events, grading. Zero for outcomes recorded before it was measured.
ALTER TABLE outcomes ADD COLUMN prepare_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE outcomes ADD COLUMN events_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE outcomes ADD COLUMN grade_ms REAL NOT NULL DEFAULT 0;
