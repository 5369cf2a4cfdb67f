//! `agentpod promote trace FILE --expected FIELD=VALUE --to SET`: an OTLP/JSON export of one
//! agent session into an evaluation set, the rows its database spans recorded written beside the
//! issues file as a fixture delta that the issue's provenance names.

use std::path::{Path, PathBuf};

use agentpod_promote::{
    Candidate, PromoteError, add_to_set_with, fixture_delta_sql, read_session, read_spans,
    write_file_atomically,
};
use agentpod_report::inert_text::terminal_line;
use chrono::SecondsFormat;
use serde_json::{Map, Value, json};

use crate::cli::PromoteTraceArgs;
use crate::commands::promote::{promote_failure, set_target};
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) fn promote_trace(args: PromoteTraceArgs) -> Result<Exit, Failure> {
    let text = std::fs::read_to_string(&args.trace).map_err(|error| {
        Failure::from_error(
            Exit::InvalidInput,
            &format!("cannot read {}", args.trace.display()),
            &error,
        )
    })?;
    let in_file = |error: PromoteError| {
        Failure::from_error(
            Exit::InvalidInput,
            &args.trace.display().to_string(),
            &error,
        )
    };
    let session = read_session(&read_spans(&text).map_err(in_file)?).map_err(in_file)?;
    let target = set_target(&args.to)?;
    let trace_file = args
        .trace
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut provenance = Map::new();
    provenance.insert("source".into(), json!("otlp-trace"));
    provenance.insert("trace_file".into(), json!(trace_file));
    provenance.insert("trace_id".into(), json!(session.trace_id));
    if let Some(conversation) = &session.conversation_id {
        provenance.insert("conversation_id".into(), json!(conversation));
    }
    provenance.insert(
        "db_statements".into(),
        Value::Array(session.statements.clone()),
    );
    provenance.insert(
        "promoted_at".into(),
        json!(chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)),
    );
    let candidate = Candidate {
        preferred_id: session.preferred_id.clone(),
        fields: session.fields.clone(),
        expected: args.expected.iter().cloned().collect(),
        provenance,
    };
    let mut delta_written: Option<PathBuf> = None;
    let added = add_to_set_with(&target, &candidate, args.replace, |id, provenance| {
        if session.rows.is_empty() {
            return Ok(());
        }
        let (relative, path) = delta_path(&target.file, id);
        if let Some(directory) = path.parent() {
            std::fs::create_dir_all(directory).map_err(|source| PromoteError::Write {
                file: directory.to_path_buf(),
                source,
            })?;
        }
        let header = format!(
            "agentpod promote trace: the {} rows trace {} recorded, for issue {}",
            session.rows.len(),
            hex_only(&session.trace_id),
            hex_or_plain(id)
        );
        write_file_atomically(&path, &fixture_delta_sql(&session.rows, &header))?;
        provenance.insert(
            "fixture_delta".into(),
            json!({"sql": relative, "rows": session.rows.len()}),
        );
        delta_written = Some(path);
        Ok(())
    })
    .map_err(|error| promote_failure(&error))?;
    let verb = if added.replaced {
        "gave the new answer to"
    } else {
        "added"
    };
    println!(
        "{verb} issue `{}` in {} ({} issue{}), from trace {}",
        terminal_line(&added.id),
        target.file.display(),
        added.issues,
        if added.issues == 1 { "" } else { "s" },
        args.trace.display()
    );
    match delta_written {
        Some(path) => println!(
            "fixture delta: {} ({} rows); list it after the spec's fixtures (`- sql: …`) to replay",
            path.display(),
            session.rows.len()
        ),
        None => println!("no rows recorded (`agentpod.db.rows`): no fixture delta"),
    }
    Ok(Exit::Success)
}

/// `<set>.fixtures/<id>.sql` beside the issues file: relative to its directory, and the path.
fn delta_path(issues_file: &Path, id: &str) -> (String, PathBuf) {
    let stem = issues_file
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "issues".to_owned());
    let name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let relative = format!("{stem}.fixtures/{}.sql", name.trim_start_matches('.'));
    let directory = issues_file.parent().unwrap_or(Path::new(""));
    (relative.clone(), directory.join(relative))
}

fn hex_only(text: &str) -> String {
    text.chars().filter(char::is_ascii_hexdigit).collect()
}

/// The id for a SQL comment: one line, nothing that ends the comment early.
fn hex_or_plain(id: &str) -> String {
    id.chars().filter(|c| !c.is_control()).collect()
}
