//! Zendesk tickets as JSON: `{"tickets": [...]}` (the Tickets API, the incremental export,
//! pages one after another) or one ticket object per line (the account's JSON data export).
//!
//! | export | issue field |
//! | --- | --- |
//! | `id` | the id |
//! | `subject` | `subject` |
//! | `description` (the first comment) | `description` |
//! | `status` | `status` |
//! | `priority` (null: empty) | `priority` |
//! | `type` (null: empty) | `type` |
//! | `tags` | `tags` |
//! | `via.channel` | `channel` |
//! | `created_at` | `created_at` |
//! | `url` (the ticket's API address) | provenance: URL |

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
    "type",
    "tags",
    "channel",
    "created_at",
];

pub(crate) fn read(file: &Path, text: &str) -> Result<TrackerExport, ImportError> {
    let records = crate::json_export::records(
        file,
        text,
        Some("tickets"),
        "Zendesk tickets (`{\"tickets\": [...]}` or one ticket per line)",
    )?;
    let mut export = TrackerExport::default();
    for (index, record) in records.iter().enumerate() {
        let ticket = crate::json_export::record_object(file, index, record)?;
        let id = id_text(ticket.get("id")).ok_or(ImportError::MissingField {
            file: file.to_path_buf(),
            record: index + 1,
            field: "id",
        })?;
        let mut fields = Map::new();
        for field in [
            "subject",
            "description",
            "status",
            "priority",
            "type",
            "created_at",
        ] {
            fields.insert(field.into(), text_or_empty(ticket.get(field)));
        }
        fields.insert("tags".into(), string_list(ticket.get("tags")));
        fields.insert(
            "channel".into(),
            text_or_empty(ticket.get("via").and_then(|via| via.get("channel"))),
        );
        export.issues.push(TrackerIssue {
            provenance: Provenance {
                source: "zendesk",
                original_id: id.clone(),
                key: None,
                url: ticket.get("url").and_then(Value::as_str).map(str::to_owned),
                export_file: String::new(),
                imported_at: String::new(),
            },
            id,
            fields,
        });
    }
    Ok(export)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tickets_keep_their_text_and_tags() -> Result<(), ImportError> {
        let text = r#"{"tickets": [{"id": 35436, "url": "https://acme.zendesk.com/api/v2/tickets/35436.json",
            "subject": "Löschen meines Kontos", "description": "Bitte löschen.\nDanke 🙏",
            "status": "open", "priority": null, "type": "question", "tags": ["account", "gdpr"],
            "via": {"channel": "email"}, "created_at": "2024-03-01T10:00:00Z"}],
            "next_page": null, "count": 1}"#;
        let export = read(Path::new("tickets.json"), text)?;
        let ticket = &export.issues[0];
        assert_eq!(ticket.id, "35436");
        assert_eq!(ticket.fields["priority"], json!(""));
        assert_eq!(ticket.fields["tags"], json!(["account", "gdpr"]));
        assert_eq!(ticket.fields["channel"], json!("email"));
        assert_eq!(
            ticket.fields["description"],
            json!("Bitte löschen.\nDanke 🙏")
        );
        assert_eq!(
            ticket.provenance.url.as_deref(),
            Some("https://acme.zendesk.com/api/v2/tickets/35436.json")
        );
        Ok(())
    }
}
