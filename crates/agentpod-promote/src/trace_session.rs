//! One agent session's trace as an issue: the user's input as the agent's fields, an id, and
//! the database rows its spans recorded. Exactly these attributes are read (any span):
//!
//! - `agentpod.issue.<field>`: an issue field, as given (explicit; when any span has one, the
//!   input below is not read); `agentpod.issue.id`: the id.
//! - else the first user message, as the field `input`: from `gen_ai.input.messages` (GenAI
//!   conventions: a JSON list of `{role, parts: [{type: "text", content}]}`, or `{role,
//!   content}`), else `gen_ai.prompt.<n>.role`/`.content` (the older indexed form), else
//!   `gen_ai.prompt` (text).
//! - the id, without `agentpod.issue.id`: `gen_ai.conversation.id`, else `trace-` and the first
//!   16 hex digits of the trace id.
//! - database spans: `db.query.text` (or the older `db.statement`), the table from
//!   `db.collection.name` (or `db.sql.table`), and the rows from `agentpod.db.rows` (a JSON list
//!   of objects, column to value: no OpenTelemetry convention records rows, so the agent's
//!   instrumentation adds it).

use serde_json::{Map, Value};

use crate::fixture_delta::TableRow;
use crate::otlp_json::TraceSpan;
use crate::promote_error::PromoteError;

const ISSUE_FIELD_PREFIX: &str = "agentpod.issue.";
const ROWS_ATTRIBUTE: &str = "agentpod.db.rows";

/// What a session's trace gives an issue.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSession {
    pub preferred_id: String,
    pub fields: Map<String, Value>,
    pub trace_id: String,
    pub conversation_id: Option<String>,
    /// Each database statement and its table, in start order.
    pub statements: Vec<Value>,
    /// The rows the database spans recorded, in start order, without repeats.
    pub rows: Vec<TableRow>,
}

pub fn read_session(spans: &[TraceSpan]) -> Result<TraceSession, PromoteError> {
    let Some(first) = spans.first() else {
        return Err(PromoteError::Trace {
            problem: "the export holds no spans".to_owned(),
        });
    };
    let trace_id = first.trace_id.clone();
    if let Some(other) = spans.iter().find(|span| span.trace_id != trace_id) {
        return Err(PromoteError::Trace {
            problem: format!(
                "spans of more than one trace ({trace_id} and {}): export one agent session",
                other.trace_id
            ),
        });
    }
    let attribute = |key: &str| spans.iter().find_map(|span| span.attributes.get(key));
    let text = |key: &str| attribute(key).and_then(Value::as_str).map(str::to_owned);
    let conversation_id = text("gen_ai.conversation.id");
    let mut fields = Map::new();
    for span in spans {
        for (key, value) in &span.attributes {
            if let Some(field) = key.strip_prefix(ISSUE_FIELD_PREFIX)
                && field != "id"
                && !field.is_empty()
            {
                fields.entry(field.to_owned()).or_insert(value.clone());
            }
        }
    }
    if fields.is_empty() {
        let input =
            spans
                .iter()
                .find_map(first_user_message)
                .ok_or_else(|| PromoteError::Trace {
                    problem:
                        "no user input: no span has `agentpod.issue.<field>`, a user message in \
                          `gen_ai.input.messages` or `gen_ai.prompt.<n>.content`, or \
                          `gen_ai.prompt`"
                            .to_owned(),
                })?;
        fields.insert("input".to_owned(), Value::String(input));
    }
    let hex: String = trace_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(16)
        .collect();
    // An empty or blank id would be no id: the next source is used instead.
    let usable = |id: &String| !id.trim().is_empty();
    let preferred_id = text("agentpod.issue.id")
        .filter(usable)
        .or_else(|| conversation_id.clone().filter(usable))
        .unwrap_or_else(|| format!("trace-{hex}"));
    let (statements, rows) = database_rows(spans)?;
    Ok(TraceSession {
        preferred_id,
        fields,
        trace_id,
        conversation_id,
        statements,
        rows,
    })
}

/// The first user message of a span, by the attributes the module names, in that order.
fn first_user_message(span: &TraceSpan) -> Option<String> {
    if let Some(messages) = span.attributes.get("gen_ai.input.messages") {
        let messages = match messages {
            Value::String(text) => serde_json::from_str(text).ok()?,
            other => other.clone(),
        };
        let user = messages
            .as_array()?
            .iter()
            .find(|message| message["role"] == "user")?;
        if let Some(content) = user["content"].as_str() {
            return Some(content.to_owned());
        }
        let parts: Vec<&str> = user["parts"]
            .as_array()?
            .iter()
            .filter(|part| part["type"] == "text")
            .filter_map(|part| part["content"].as_str())
            .collect();
        return (!parts.is_empty()).then(|| parts.join("\n"));
    }
    let indexed = (0..)
        .map_while(|n| {
            let role = span.attributes.get(&format!("gen_ai.prompt.{n}.role"))?;
            Some((
                role.clone(),
                span.attributes.get(&format!("gen_ai.prompt.{n}.content")),
            ))
        })
        .find(|(role, _)| role == "user")
        .and_then(|(_, content)| content?.as_str().map(str::to_owned));
    indexed.or_else(|| {
        span.attributes
            .get("gen_ai.prompt")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

type Statements = Vec<Value>;

fn database_rows(spans: &[TraceSpan]) -> Result<(Statements, Vec<TableRow>), PromoteError> {
    let mut statements = Vec::new();
    let mut rows: Vec<TableRow> = Vec::new();
    for span in spans {
        let attributes = &span.attributes;
        let statement = attributes
            .get("db.query.text")
            .or_else(|| attributes.get("db.statement"))
            .and_then(Value::as_str);
        let table = attributes
            .get("db.collection.name")
            .or_else(|| attributes.get("db.sql.table"))
            .and_then(Value::as_str);
        let recorded = attributes.get(ROWS_ATTRIBUTE);
        if let Some(statement) = statement {
            statements.push(serde_json::json!({"table": table, "statement": statement}));
        }
        let Some(recorded) = recorded else { continue };
        let Some(table) = table else {
            return Err(PromoteError::Trace {
                problem: format!(
                    "span `{}` has `{ROWS_ATTRIBUTE}` but no `db.collection.name` (or \
                     `db.sql.table`) naming their table",
                    span.name
                ),
            });
        };
        let parsed = match recorded {
            Value::String(text) => serde_json::from_str(text).ok(),
            other => Some(other.clone()),
        };
        let Some(Value::Array(list)) = parsed else {
            return Err(PromoteError::Trace {
                problem: format!(
                    "span `{}`: `{ROWS_ATTRIBUTE}` is not a JSON list of row objects",
                    span.name
                ),
            });
        };
        for row in list {
            let Value::Object(columns) = row else {
                return Err(PromoteError::Trace {
                    problem: format!(
                        "span `{}`: a row of `{ROWS_ATTRIBUTE}` is not an object (column: value)",
                        span.name
                    ),
                });
            };
            let row = TableRow {
                table: table.to_owned(),
                columns,
            };
            if !rows.contains(&row) {
                rows.push(row);
            }
        }
    }
    Ok((statements, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn span(start: u64, attributes: Value) -> TraceSpan {
        TraceSpan {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            name: format!("span{start}"),
            start_unix_nano: start,
            attributes: attributes.as_object().cloned().unwrap(),
        }
    }

    #[test]
    fn the_first_user_message_is_the_input_and_the_rows_are_collected_once() {
        let messages = json!([
            {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
            {"role": "user", "parts": [{"type": "text", "content": "Where is order 7?"}]}
        ]);
        let rows = json!([{"id": 7, "name": "widget"}]).to_string();
        let spans = [
            span(
                1,
                json!({"gen_ai.conversation.id": "conv-7", "gen_ai.input.messages": messages.to_string()}),
            ),
            span(
                2,
                json!({"db.query.text": "SELECT * FROM items WHERE id = $1", "db.collection.name": "items", "agentpod.db.rows": rows}),
            ),
            span(
                3,
                json!({"db.statement": "SELECT * FROM items", "db.sql.table": "items", "agentpod.db.rows": rows}),
            ),
        ];
        let session = read_session(&spans).unwrap();
        assert_eq!(session.preferred_id, "conv-7");
        assert_eq!(
            session.fields,
            json!({"input": "Where is order 7?"})
                .as_object()
                .cloned()
                .unwrap()
        );
        assert_eq!(session.statements.len(), 2);
        assert_eq!(session.rows.len(), 1, "the same row read twice is one row");
        assert_eq!(session.rows[0].table, "items");
    }

    #[test]
    fn explicit_issue_fields_win_and_the_indexed_prompt_is_read_otherwise() {
        let spans = [span(
            1,
            json!({"agentpod.issue.subject": "refund", "agentpod.issue.id": "T-5",
                                    "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "hi"}),
        )];
        let session = read_session(&spans).unwrap();
        assert_eq!(session.preferred_id, "T-5");
        assert_eq!(
            session.fields,
            json!({"subject": "refund"}).as_object().cloned().unwrap()
        );
        let spans = [span(
            1,
            json!({"gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "x",
                                    "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "hi"}),
        )];
        let session = read_session(&spans).unwrap();
        assert_eq!(session.fields["input"], "hi");
        assert_eq!(session.preferred_id, "trace-0af7651916cd43dd");
        let spans = [span(
            1,
            json!({"gen_ai.conversation.id": " ", "gen_ai.prompt": "hi"}),
        )];
        assert_eq!(
            read_session(&spans).unwrap().preferred_id,
            "trace-0af7651916cd43dd"
        );
    }

    #[test]
    fn no_input_and_rows_without_a_table_are_errors_that_say_what_was_looked_for() {
        let error = read_session(&[span(1, json!({"x": 1}))]).unwrap_err();
        assert!(
            error.to_string().contains("gen_ai.input.messages"),
            "{error}"
        );
        let error = read_session(&[span(
            1,
            json!({"gen_ai.prompt": "hi", "agentpod.db.rows": "[]"}),
        )])
        .unwrap_err();
        assert!(error.to_string().contains("db.collection.name"), "{error}");
    }
}
