//! Freshdesk tickets as the API lists them (`GET /api/v2/tickets`, pages one after another):
//! arrays of ticket objects whose status, priority and source are numbers, named here as
//! Freshdesk's documentation names them.
//!
//! | export | issue field |
//! | --- | --- |
//! | `id` | the id |
//! | `subject` | `subject` |
//! | `description_text` (else `description`, HTML) | `description` |
//! | `status` (2 open, 3 pending, 4 resolved, 5 closed) | `status` |
//! | `priority` (1 low, 2 medium, 3 high, 4 urgent) | `priority` |
//! | `source` (1 email, 2 portal, 3 phone, 7 chat, 9 feedback widget, 10 outbound email) | `channel` |
//! | `type` (null: empty) | `type` |
//! | `tags` | `tags` |
//! | `created_at` | `created_at` |

use std::path::Path;

use serde_json::{Map, Value};

use crate::tracker::TrackerExport;
use crate::tracker_issue::{id_text, string_list, text_or_empty};
use crate::{ImportError, Provenance, TrackerIssue};

pub(crate) const FIELDS: &[&str] = &[
    "subject",
    "description",
    "status",
    "priority",
    "channel",
    "type",
    "tags",
    "created_at",
];

const STATUSES: &[(i64, &str)] = &[(2, "open"), (3, "pending"), (4, "resolved"), (5, "closed")];
const PRIORITIES: &[(i64, &str)] = &[(1, "low"), (2, "medium"), (3, "high"), (4, "urgent")];
const SOURCES: &[(i64, &str)] = &[
    (1, "email"),
    (2, "portal"),
    (3, "phone"),
    (7, "chat"),
    (9, "feedback_widget"),
    (10, "outbound_email"),
];

pub(crate) fn read(file: &Path, text: &str) -> Result<TrackerExport, ImportError> {
    let records = crate::json_export::records(
        file,
        text,
        None,
        "a JSON array of Freshdesk tickets (as `GET /api/v2/tickets` answers)",
    )?;
    let mut export = TrackerExport::default();
    for (index, record) in records.iter().enumerate() {
        let ticket = crate::json_export::record_object(file, index, record)?;
        let id = id_text(ticket.get("id")).ok_or(ImportError::MissingField {
            file: file.to_path_buf(),
            record: index + 1,
            field: "id",
        })?;
        let description = match ticket.get("description_text") {
            Some(Value::String(text)) => Value::String(text.clone()),
            _ => text_or_empty(ticket.get("description")),
        };
        let mut fields = Map::new();
        fields.insert("subject".into(), text_or_empty(ticket.get("subject")));
        fields.insert("description".into(), description);
        fields.insert("status".into(), named(ticket.get("status"), STATUSES));
        fields.insert("priority".into(), named(ticket.get("priority"), PRIORITIES));
        fields.insert("channel".into(), named(ticket.get("source"), SOURCES));
        fields.insert("type".into(), text_or_empty(ticket.get("type")));
        fields.insert("tags".into(), string_list(ticket.get("tags")));
        fields.insert("created_at".into(), text_or_empty(ticket.get("created_at")));
        export.issues.push(TrackerIssue {
            provenance: Provenance {
                source: "freshdesk",
                original_id: id.clone(),
                key: None,
                url: None,
                export_file: String::new(),
                imported_at: String::new(),
            },
            id,
            fields,
        });
    }
    Ok(export)
}

/// A numeric code by its documented name; an unknown code (a custom status) as its number.
fn named(value: Option<&Value>, names: &[(i64, &str)]) -> Value {
    match value {
        Some(Value::Number(number)) => {
            let code = number.as_i64();
            names
                .iter()
                .find(|(known, _)| Some(*known) == code)
                .map_or_else(
                    || Value::String(number.to_string()),
                    |(_, name)| Value::from(*name),
                )
        }
        other => text_or_empty(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_codes_are_named() -> Result<(), ImportError> {
        let text = r#"[{"id": 1, "subject": "Refund", "description": "<div>Money back</div>",
            "description_text": "Money back", "status": 4, "priority": 3, "source": 7,
            "type": null, "tags": [], "created_at": "2024-05-05T05:05:05Z"},
            {"id": 2, "subject": "Custom", "status": 12, "priority": 1, "source": 2}]"#;
        let export = read(Path::new("tickets.json"), text)?;
        let first = &export.issues[0].fields;
        assert_eq!(
            (&first["status"], &first["priority"], &first["channel"]),
            (&json!("resolved"), &json!("high"), &json!("chat"))
        );
        assert_eq!(first["description"], json!("Money back"));
        assert_eq!(export.issues[1].fields["status"], json!("12"));
        Ok(())
    }
}
