-- What the provider's throttling cost each issue trial: the LLM gateway's retries after 429 and
-- 5xx answers, and the time its model calls waited for the run's upstream limits or backed off
-- between retries (the provider's time, not the agent's). Zero for runs recorded before this.
ALTER TABLE outcomes ADD COLUMN model_retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outcomes ADD COLUMN throttled_ms REAL NOT NULL DEFAULT 0;
