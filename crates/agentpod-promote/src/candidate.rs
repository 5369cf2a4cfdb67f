//! `Candidate`: an issue about to join an evaluation set — the agent's fields, the answer, and
//! where it came from — and the JSON lines record it becomes.

use agentpod_issues::{PROVENANCE_FIELD, is_kept_from_agent};
use serde_json::{Map, Value};

/// An issue to promote into an evaluation set.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The id it would like to keep; `<id>-p1`, `-p2`… when the set already uses it.
    pub preferred_id: String,
    /// What the agent is given besides the id (and, for graders, `gold_actions`).
    pub fields: Map<String, Value>,
    /// The answer a correct agent gives; never shown to the agent.
    pub expected: Map<String, Value>,
    /// Where the issue came from; never shown to the agent.
    pub provenance: Map<String, Value>,
}

impl Candidate {
    /// The fields the agent sees: everything but what graders and people alone read.
    pub fn agent_fields(&self) -> Map<String, Value> {
        agent_fields(&self.fields)
    }

    /// The record written to the issues file: `{id_key: id, …fields, "expected", "provenance"}`.
    pub(crate) fn record(&self, id_key: &str, id: &str) -> Value {
        let mut record = Map::new();
        record.insert(id_key.to_owned(), Value::String(id.to_owned()));
        for (key, value) in &self.fields {
            if key != PROVENANCE_FIELD && key != id_key && key != "expected" {
                record.insert(key.clone(), value.clone());
            }
        }
        record.insert("expected".to_owned(), Value::Object(self.expected.clone()));
        record.insert(
            PROVENANCE_FIELD.to_owned(),
            Value::Object(self.provenance.clone()),
        );
        Value::Object(record)
    }
}

/// `fields` without the ones never given to the agent (gold actions, expected outputs,
/// provenance).
pub(crate) fn agent_fields(fields: &Map<String, Value>) -> Map<String, Value> {
    fields
        .iter()
        .filter(|(key, _)| !is_kept_from_agent(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_record_keeps_answer_and_provenance_apart_from_the_agents_fields() {
        let candidate = Candidate {
            preferred_id: "T-1".into(),
            fields: object(json!({"subject": "refund", "provenance": {"source": "github"}})),
            expected: object(json!({"category": "billing"})),
            provenance: object(json!({"source": "agentpod-run", "run": "r1"})),
        };
        assert_eq!(
            candidate.record("id", "T-1-p1"),
            json!({"id": "T-1-p1", "subject": "refund", "expected": {"category": "billing"},
                   "provenance": {"source": "agentpod-run", "run": "r1"}})
        );
        assert_eq!(
            candidate.agent_fields(),
            object(json!({"subject": "refund"}))
        );
    }
}
