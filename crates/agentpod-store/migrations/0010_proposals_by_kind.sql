-- `agentpod view` pages a run's proposals (`/runs/{run}/proposals`): the primary key leads with
-- the issue, so reading one kind of a run's events would scan all of them.
CREATE INDEX boundary_events_by_kind ON boundary_events (run_id, kind, issue_id, trial, position);
