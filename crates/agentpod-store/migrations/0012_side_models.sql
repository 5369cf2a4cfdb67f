-- What the models agentpod asks beside the agent's (the LLM judge, simulated customers) used for
-- one trial, as JSON: never part of the agent's calls, tokens or cost. NULL: none was asked.
ALTER TABLE outcomes ADD COLUMN side_models_json TEXT;
