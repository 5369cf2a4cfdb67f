//! Where an imported issue came from: the tracker, its own id and key, its page, the export
//! file and when it was imported. Written as the issue's `provenance` field, which graders and
//! people read and the agent is never given (the page can show the resolution).

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// `github`, `jira`, `zendesk` or `freshdesk`.
    pub source: &'static str,
    /// The tracker's own id (GitHub's database id, Jira's `Issue id`, the ticket id).
    pub original_id: String,
    /// The key people use (`owner/repo#12`, `PROJ-123`), when the tracker has one beside its id.
    pub key: Option<String>,
    /// The page or API address, when the export has one.
    pub url: Option<String>,
    /// The export file's name, as given.
    pub export_file: String,
    /// RFC 3339, UTC.
    pub imported_at: String,
}

impl Provenance {
    pub(crate) fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("source".into(), Value::from(self.source));
        object.insert("original_id".into(), Value::from(self.original_id.clone()));
        if let Some(key) = &self.key {
            object.insert("key".into(), Value::from(key.clone()));
        }
        if let Some(url) = &self.url {
            object.insert("url".into(), Value::from(url.clone()));
        }
        object.insert("export_file".into(), Value::from(self.export_file.clone()));
        object.insert("imported_at".into(), Value::from(self.imported_at.clone()));
        Value::Object(object)
    }
}
