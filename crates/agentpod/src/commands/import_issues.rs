//! `agentpod import-issues TRACKER EXPORT -o FILE`: a tracker's export into a JSON lines issues
//! file with provenance and, when named, the answer split off; what was skipped goes to stderr.

use std::io::Write;

use agentpod_issue_import::{AnswerSelection, Tracker, import, write_jsonl};

use crate::cli::{ImportIssuesArgs, TrackerChoice};
use crate::exit_code::Exit;
use crate::failure::Failure;

pub(crate) fn import_issues(args: ImportIssuesArgs) -> Result<Exit, Failure> {
    let tracker = match args.tracker {
        TrackerChoice::Github => Tracker::Github,
        TrackerChoice::Jira => Tracker::Jira,
        TrackerChoice::Zendesk => Tracker::Zendesk,
        TrackerChoice::Freshdesk => Tracker::Freshdesk,
    };
    let answer = AnswerSelection {
        fields: args.expected.clone(),
        label_prefix: args.expected_label_prefix.clone(),
    };
    let imported = import(tracker, &args.export, &answer, chrono::Utc::now()).map_err(|error| {
        Failure::from_error(Exit::InvalidInput, "cannot import the export", &error)
    })?;
    if imported.records.is_empty() {
        return Err(Failure::new(
            Exit::InvalidInput,
            format!(
                "{} holds no issues to import{}",
                args.export.display(),
                skipped_note(&imported)
            ),
        ));
    }
    let write_failure = |error: std::io::Error| {
        Failure::from_error(
            Exit::Setup,
            &format!("cannot write {}", args.output.display()),
            &error,
        )
    };
    if args.output.as_os_str() == "-" {
        write_jsonl(&imported.records, std::io::stdout().lock()).map_err(write_failure)?;
    } else {
        let file = std::fs::File::create(&args.output).map_err(write_failure)?;
        let mut writer = std::io::BufWriter::new(file);
        write_jsonl(&imported.records, &mut writer).map_err(write_failure)?;
        writer.flush().map_err(write_failure)?;
    }
    eprintln!(
        "imported {} issues from {} ({}) into {}{}",
        imported.records.len(),
        args.export.display(),
        tracker.name(),
        args.output.display(),
        skipped_note(&imported)
    );
    if answer.is_empty() {
        eprintln!(
            "note: no answer chosen, so the issues have no `expected` part; name it with \
             --expected FIELD (one of {}) or --expected-label-prefix PREFIX, or in the spec with \
             `issues.expected`",
            tracker.fields().join(", ")
        );
    }
    Ok(Exit::Success)
}

fn skipped_note(imported: &agentpod_issue_import::Imported) -> String {
    let mut skipped = Vec::new();
    if imported.skipped_pull_requests > 0 {
        skipped.push(format!(
            "{} pull request{}",
            imported.skipped_pull_requests,
            if imported.skipped_pull_requests == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    if imported.skipped_without_answer > 0 {
        skipped.push(format!(
            "{} without the answer",
            imported.skipped_without_answer
        ));
    }
    if imported.skipped_duplicates > 0 {
        skipped.push(format!("{} duplicate ids", imported.skipped_duplicates));
    }
    match skipped.is_empty() {
        true => String::new(),
        false => format!("; skipped {}", skipped.join(", ")),
    }
}
