//! An import from start to end: read the export (UTF-8, or where it is not), read its issues
//! with the tracker's reader, stamp their provenance, split off the answer, and write JSON lines.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::{AnswerSelection, ImportError, Tracker};

/// The issues file's records, and what was left out and why.
#[derive(Debug, Default)]
pub struct Imported {
    /// One JSON object per issue: `id`, the fields, `expected` (when an answer was chosen) and
    /// `provenance`.
    pub records: Vec<Value>,
    /// Pull requests (GitHub's issues endpoint lists them too).
    pub skipped_pull_requests: usize,
    /// Issues without any value for the chosen answer: nothing to grade them against.
    pub skipped_without_answer: usize,
    /// Issues whose id was already imported (pages that overlap when issues move during
    /// pagination); the first is kept.
    pub skipped_duplicates: usize,
}

/// Reads `file`, an export of `tracker`, into issue records.
pub fn import(
    tracker: Tracker,
    file: &Path,
    answer: &AnswerSelection,
    imported_at: DateTime<Utc>,
) -> Result<Imported, ImportError> {
    answer.check(tracker)?;
    let bytes = std::fs::read(file).map_err(|source| ImportError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let text = decode_utf8(file, bytes)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let export = tracker.read(file, text)?;
    let export_file = file.file_name().map_or_else(
        || file.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let imported_at = imported_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut imported = Imported {
        skipped_pull_requests: export.skipped_pull_requests,
        ..Imported::default()
    };
    let mut seen = HashSet::new();
    for mut issue in export.issues {
        if !seen.insert(issue.id.clone()) {
            imported.skipped_duplicates += 1;
            continue;
        }
        let expected = answer.split(tracker, &mut issue);
        if !answer.is_empty() && expected.is_none() {
            imported.skipped_without_answer += 1;
            continue;
        }
        issue.provenance.export_file = export_file.clone();
        issue.provenance.imported_at = imported_at.clone();
        let mut record = Map::new();
        record.insert("id".into(), Value::String(issue.id));
        record.extend(issue.fields);
        if let Some(expected) = expected {
            record.insert("expected".into(), Value::Object(expected));
        }
        record.insert("provenance".into(), issue.provenance.to_json());
        imported.records.push(Value::Object(record));
    }
    Ok(imported)
}

/// Writes the records as a JSON lines issues file, one record per line.
pub fn write_jsonl(records: &[Value], mut writer: impl Write) -> std::io::Result<()> {
    for record in records {
        serde_json::to_writer(&mut writer, record)?;
        writer.write_all(b"\n")?;
    }
    writer.flush()
}

fn decode_utf8(file: &Path, bytes: Vec<u8>) -> Result<String, ImportError> {
    String::from_utf8(bytes).map_err(|error| {
        let bad = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        let before = &bytes[..bad];
        let line_start = before
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |newline| newline + 1);
        ImportError::NotUtf8 {
            file: file.to_path_buf(),
            line: before.iter().filter(|&&byte| byte == b'\n').count() + 1,
            column: std::str::from_utf8(&bytes[line_start..bad])
                .map_or(bad - line_start, |text| text.chars().count())
                + 1,
            byte: bytes[bad],
        }
    })
}
