-- The evaluation set each run sampled from: the SHA-256 of its issues file's bytes and how many
-- issues the file held (not the sample's size, which is `issue_count`), so runs on different
-- versions of the set can be told apart. NULL for runs recorded before this, and shown as unknown.
ALTER TABLE runs ADD COLUMN issues_sha256 TEXT;
ALTER TABLE runs ADD COLUMN issues_total INTEGER;
