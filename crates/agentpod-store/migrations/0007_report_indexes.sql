-- What reports and `show` read, indexed for runs of tens of thousands of issue trials: a run's
-- sample in sample order (outcomes, steps and boundary events are read in that order, joined to
-- it), so the sample is walked by position rather than sorted on each read.
CREATE INDEX run_issues_position ON run_issues (run_id, position);
