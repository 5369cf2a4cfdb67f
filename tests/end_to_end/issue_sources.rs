//! Real issues in, with no hand step: the trackers' raw exports under `tests/exports/` (a GitHub
//! issues JSON as `gh api --paginate` saves it, a Jira CSV, a Zendesk tickets JSON) through
//! `import-issues`, a run and a report; the answer never reaches the agent, nor the provenance.
//! Also the issues mapping of a spec on a raw CSV, and a Latin-1 issues file.

use std::path::{Path, PathBuf};
use std::process::Command;

use agentpod_end_to_end::{Scratch, binary, repo_root, run_id_from_stderr};
use serde_json::Value;

/// A spec in the scratch directory: the tiny database, the keyword triage agent, `issues`.
fn write_spec(scratch: &Scratch, name: &str, issues: &str) -> PathBuf {
    let root = repo_root();
    let spec = format!(
        "name: {name}\n\
         database:\n  image: postgres:15\n  fixtures:\n    - sql: {schema}\n\
         agent:\n  command: [\"{agent}\"]\n  version: triage-1\n  timeout: 20s\n\
         issues:\n{issues}\
         pods: 2\n",
        schema = root.join("tests/pods/tiny/schema.sql").display(),
        agent = root
            .join("tests/pods/agents/tracker-triage-agent.py")
            .display(),
    );
    let path = scratch.path().join(format!("{name}.yaml"));
    std::fs::write(&path, spec).unwrap();
    path
}

fn import(scratch: &Scratch, tracker: &str, export: &str, answer: &[&str]) -> (PathBuf, String) {
    let output_path = scratch.path().join(format!("{tracker}.jsonl"));
    let export = format!("tests/exports/{export}");
    let mut args = vec!["import-issues", tracker, &export, "-o"];
    let output_text = output_path.display().to_string();
    args.push(&output_text);
    args.extend_from_slice(answer);
    let output = scratch.run(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (output_path, stderr)
}

/// Runs the spec to the end and returns (run id, `show --json`).
fn run(scratch: &Scratch, spec: &Path, extra: &[&str]) -> (String, Value) {
    let spec = spec.display().to_string();
    let mut args = vec!["run", &spec, "--runtime", "local", "--no-progress"];
    args.extend_from_slice(extra);
    let output = scratch.run(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let shown = scratch.show("latest");
    let run_id = shown["run"]["id"].as_str().unwrap().to_owned();
    (run_id, shown)
}

/// issue id → status.
fn statuses_by_issue(shown: &Value) -> std::collections::BTreeMap<String, String> {
    shown["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|outcome| {
            (
                outcome["issue_id"].as_str().unwrap().to_owned(),
                outcome["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every issue.json the run handed its agent, by issue id.
fn handed_to_agent(work_root: &Path, run_id: &str) -> Vec<(String, Value)> {
    let issues = work_root.join(run_id).join("issues");
    let mut handed = Vec::new();
    for entry in std::fs::read_dir(&issues).unwrap() {
        let directory = entry.unwrap().path();
        let text = std::fs::read_to_string(directory.join("issue.json")).unwrap();
        handed.push((
            directory
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
            serde_json::from_str(&text).unwrap(),
        ));
    }
    handed
}

fn assert_nothing_of_the_answer(handed: &[(String, Value)], answer_words: &[&str]) {
    assert!(!handed.is_empty());
    for (id, issue) in handed {
        let text = issue.to_string();
        assert!(issue.get("expected").is_none(), "{id}: {text}");
        assert!(issue.get("provenance").is_none(), "{id}: {text}");
        for word in answer_words {
            assert!(!text.contains(word), "{id} was handed `{word}`: {text}");
        }
    }
}

#[test]
fn raw_tracker_exports_become_runs_and_reports_without_a_hand_step() {
    let scratch = Scratch::new();
    let work_root = scratch.path().join("work");

    // GitHub: the kind/ label is the answer; the pull request and the issue without a kind
    // label are left out.
    let (issues, stderr) = import(
        &scratch,
        "github",
        "github-issues.json",
        &["--expected-label-prefix", "kind/"],
    );
    assert!(
        stderr.contains("imported 5 issues")
            && stderr.contains("1 pull request")
            && stderr.contains("1 without the answer"),
        "{stderr}"
    );
    let spec = write_spec(
        &scratch,
        "github-triage",
        &format!(
            "  source: {}\n  sample: 2\n  stratify_by: expected.kind\n",
            issues.display()
        ),
    );
    let (run_id, shown) = run(&scratch, &spec, &["--sample", "all"]);
    let statuses = statuses_by_issue(&shown);
    assert_eq!(
        statuses.len(),
        5,
        "--sample all overrides the spec's 2: {statuses:?}"
    );
    let failed: Vec<&str> = statuses
        .iter()
        .filter(|(_, status)| *status != "passed")
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(failed, ["105"], "the agent takes #105's `error` for a bug");
    assert_nothing_of_the_answer(&handed_to_agent(&work_root, &run_id), &["kind/", "2209001"]);
    let report = scratch.run(&["report", &run_id]);
    let report = String::from_utf8_lossy(&report.stdout);
    let grouped = report
        .split_once("by expected.kind")
        .map(|(_, groups)| groups)
        .unwrap_or_default();
    assert!(
        grouped.contains("bug") && grouped.contains("1 of 2") && grouped.contains("question"),
        "the report groups by the spec's stratify_by: {report}"
    );

    // Jira: the priority column is the answer.
    let (issues, stderr) = import(
        &scratch,
        "jira",
        "jira-issues.csv",
        &["--expected", "priority"],
    );
    assert!(stderr.contains("imported 5 issues"), "{stderr}");
    let spec = write_spec(
        &scratch,
        "jira-triage",
        &format!("  source: {}\n", issues.display()),
    );
    let (run_id, shown) = run(&scratch, &spec, &[]);
    let statuses = statuses_by_issue(&shown);
    assert_eq!(statuses.len(), 5, "{statuses:?}");
    assert_eq!(statuses["PAY-105"], "failed", "{statuses:?}");
    assert_eq!(
        statuses
            .values()
            .filter(|status| *status == "passed")
            .count(),
        4
    );
    let handed = handed_to_agent(&work_root, &run_id);
    assert_nothing_of_the_answer(&handed, &["Highest", "10101"]);
    assert!(
        handed
            .iter()
            .all(|(_, issue)| issue.get("priority").is_none())
    );

    // Zendesk: the ticket type is the answer.
    let (issues, _) = import(
        &scratch,
        "zendesk",
        "zendesk-tickets.json",
        &["--expected", "type"],
    );
    let spec = write_spec(
        &scratch,
        "zendesk-triage",
        &format!("  source: {}\n", issues.display()),
    );
    let (run_id, shown) = run(&scratch, &spec, &[]);
    let statuses = statuses_by_issue(&shown);
    assert_eq!(statuses.len(), 5, "{statuses:?}");
    assert_eq!(statuses["1004"], "failed", "{statuses:?}");
    assert_eq!(
        statuses
            .values()
            .filter(|status| *status == "passed")
            .count(),
        4
    );
    assert_nothing_of_the_answer(
        &handed_to_agent(&work_root, &run_id),
        &["incident", "zendesk.com"],
    );
    let report = scratch.run(&["report", &run_id, "--format", "json"]);
    assert!(report.status.success());
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert!(report.to_string().contains("pass_rate"), "{report}");
}

#[test]
fn a_spec_maps_a_raw_csv_and_per_issue_files_go_beside_the_store() {
    let scratch = Scratch::new();
    // Jira's CSV as exported, read directly through the spec's mapping: no `id` column, the
    // answer under its own name, repeated columns the agent is not given.
    let spec = write_spec(
        &scratch,
        "jira-mapped",
        &format!(
            "  source: {}\n  id: Issue key\n  expected: Priority\n  fields: [Summary, Description, Issue Type]\n",
            repo_root().join("tests/exports/jira-issues.csv").display()
        ),
    );
    let validated = scratch.run(&["validate", &spec.display().to_string()]);
    assert!(
        validated.status.success(),
        "{}",
        String::from_utf8_lossy(&validated.stderr)
    );
    assert!(String::from_utf8_lossy(&validated.stdout).contains("6 issues"));

    // No --work-dir: the store is in the scratch directory, and so are the per-issue files.
    let store = scratch.path().join("elsewhere").join("runs.db");
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    let output = Command::new(binary("agentpod"))
        .current_dir(repo_root())
        .arg("--store")
        .arg(&store)
        .args([
            "run",
            &spec.display().to_string(),
            "--runtime",
            "local",
            "--no-progress",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let run_id = run_id_from_stderr(&stderr)
        .or_else(|| {
            let shown = Command::new(binary("agentpod"))
                .arg("--store")
                .arg(&store)
                .args(["show", "latest", "--json"])
                .output()
                .ok()?;
            let shown: Value = serde_json::from_slice(&shown.stdout).ok()?;
            shown["run"]["id"].as_str().map(str::to_owned)
        })
        .expect("a run id");
    let work_root = scratch.path().join("elsewhere").join("runs");
    let handed = handed_to_agent(&work_root, &run_id);
    assert_eq!(handed.len(), 6);
    assert!(
        !repo_root().join(".agentpod/runs").join(&run_id).exists(),
        "nothing under the working directory"
    );
    for (id, issue) in &handed {
        let keys: Vec<&str> = issue
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["Description", "Issue Type", "Summary", "id"], "{id}");
        assert!(id.starts_with("PAY-"), "{id}");
    }
}

#[test]
fn mapping_slips_and_latin1_files_are_located_with_a_hint() {
    let scratch = Scratch::new();
    let spec = write_spec(
        &scratch,
        "jira-typo",
        &format!(
            "  source: {}\n  id: Issue key\n  expected: Priorty\n",
            repo_root().join("tests/exports/jira-issues.csv").display()
        ),
    );
    let output = scratch.run(&["validate", &spec.display().to_string()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("jira-issues.csv:1"), "{stderr}");
    assert!(
        stderr.contains("`issues.expected` names column `Priorty`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `Priority`?"), "{stderr}");

    let output = scratch.run(&[
        "import-issues",
        "jira",
        "tests/exports/jira-issues.csv",
        "--expected",
        "priorty",
        "-o",
        &scratch.path().join("never.jsonl").display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("did you mean `priority`?"), "{stderr}");
    assert!(!scratch.path().join("never.jsonl").exists());

    let latin1 = scratch.path().join("latin1.csv");
    std::fs::write(
        &latin1,
        b"id,subject,expected.category\n1,refund,billing\n2,caf\xe9 cr\xe8me,billing\n",
    )
    .unwrap();
    let spec = write_spec(
        &scratch,
        "latin1",
        &format!("  source: {}\n", latin1.display()),
    );
    let output = scratch.run(&["validate", &spec.display().to_string()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("latin1.csv:3:6"), "{stderr}");
    assert!(stderr.contains("iconv -f latin1 -t utf-8"), "{stderr}");
}
