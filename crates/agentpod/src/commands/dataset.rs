//! `agentpod dataset diff A B`: two versions of an evaluation set compared by issue id — added,
//! removed, changed (and which keys) — as text that pastes into a review, or as JSON.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use agentpod_issues::{Issue, IssuesDiff, diff_issues, issues_digest};
use agentpod_report::inert_text::terminal_line;
use serde::Serialize;

use crate::cli::{DatasetArgs, DatasetCommand, DatasetDiffArgs};
use crate::exit_code::Exit;
use crate::failure::{Failure, issues_failure};

pub(crate) fn dataset(args: DatasetArgs) -> Result<Exit, Failure> {
    match args.command {
        DatasetCommand::Diff(args) => diff(args),
    }
}

/// One side of the diff: where its issues came from, and the set's version.
#[derive(Serialize)]
struct SetSide {
    /// The issues file (a spec's `issues.source` when a spec was given).
    path: PathBuf,
    sha256: String,
    issues: usize,
}

#[derive(Serialize)]
struct DiffOutput<'a> {
    before: SetSide,
    after: SetSide,
    #[serde(flatten)]
    diff: &'a IssuesDiff,
}

fn diff(args: DatasetDiffArgs) -> Result<Exit, Failure> {
    let (before_side, before) = read_set(&args.before)?;
    let (after_side, after) = read_set(&args.after)?;
    let diff = diff_issues(&before, &after);
    let output = DiffOutput {
        before: before_side,
        after: after_side,
        diff: &diff,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&output).unwrap_or_default()
        );
    } else {
        print!("{}", render(&output));
    }
    Ok(Exit::Success)
}

/// The issues of an issues file, or of a pod spec's issues file, as a run reads them.
fn read_set(path: &Path) -> Result<(SetSide, Vec<Issue>), Failure> {
    let is_spec = path
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| matches!(extension, "yaml" | "yml"));
    // A spec's issues are read through its `issues` mapping (id, answer, the agent's fields).
    let (source, issues) = if is_spec {
        let spec = agentpod_spec::load(path)
            .map_err(|error| Failure::new(Exit::InvalidInput, error.to_string()))?;
        let issues =
            agentpod_runner::load_issues(&spec.issues).map_err(|error| issues_failure(&error))?;
        (spec.issues.source, issues)
    } else {
        let issues = agentpod_issues::load(path).map_err(|error| issues_failure(&error))?;
        (path.to_path_buf(), issues)
    };
    let sha256 = issues_digest(&source).map_err(|error| {
        Failure::from_error(
            Exit::InvalidInput,
            &format!("cannot read {}", source.display()),
            &error,
        )
    })?;
    Ok((
        SetSide {
            path: source,
            sha256,
            issues: issues.len(),
        },
        issues,
    ))
}

fn render(output: &DiffOutput<'_>) -> String {
    let mut out = String::new();
    let side = |side: &SetSide| {
        format!(
            "{}  sha256:{} ({} issues)",
            terminal_line(&side.path.display().to_string()),
            side.sha256.get(..12).unwrap_or(&side.sha256),
            side.issues
        )
    };
    let diff = output.diff;
    let _ = writeln!(out, "before: {}", side(&output.before));
    let _ = writeln!(out, "after:  {}", side(&output.after));
    let _ = writeln!(
        out,
        "{} added, {} removed, {} changed, {} unchanged",
        diff.added.len(),
        diff.removed.len(),
        diff.changed.len(),
        diff.unchanged
    );
    if diff.is_empty() {
        let same = if output.before.sha256 == output.after.sha256 {
            "the files are the same"
        } else {
            "the files differ only in ways that change no issue (order, spacing, encoding)"
        };
        let _ = writeln!(out, "{same}");
        return out;
    }
    for (title, ids, mark) in [("added", &diff.added, '+'), ("removed", &diff.removed, '-')] {
        if ids.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title} ({})", ids.len());
        for id in ids {
            let _ = writeln!(out, "  {mark} {}", terminal_line(id));
        }
    }
    if !diff.changed.is_empty() {
        let _ = writeln!(out, "\nchanged ({})", diff.changed.len());
        let width = diff
            .changed
            .iter()
            .map(|changed| terminal_line(&changed.id).chars().count())
            .max()
            .unwrap_or(0);
        for changed in &diff.changed {
            let keys: Vec<String> = changed.keys.iter().map(|key| terminal_line(key)).collect();
            let _ = writeln!(
                out,
                "  ~ {:width$}  {}",
                terminal_line(&changed.id),
                keys.join(", ")
            );
        }
    }
    out
}
