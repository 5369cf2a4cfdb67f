//! Evaluation sets: a spec whose issues nothing judges is refused by `validate` and `run` alike
//! (no run with a wrong verdict is stored); an answer shown to the agent is warned about; each run
//! records its set's digest and size, which `runs`, `report` and `compare` show, and `compare`
//! warns when two runs used different sets; `dataset diff` says what changed between two sets.

use std::path::Path;

use agentpod_end_to_end::{
    Scratch, repo_root, run_id_from_stderr, stderr_text as stderr, stdout_text as stdout,
};
use serde_json::Value;

#[test]
fn validate_and_run_refuse_a_spec_that_nothing_judges() {
    let scratch = Scratch::new();
    let spec = "tests/cases/invalid/no_grader.yaml";
    let validate = scratch.run(&["validate", spec]);
    assert_eq!(validate.status.code(), Some(2), "{}", stderr(&validate));
    assert!(
        stderr(&validate).contains("`label` looks like the answer")
            && stderr(&validate).contains("rename its column to `expected.label`"),
        "{}",
        stderr(&validate)
    );
    assert!(stdout(&validate).is_empty(), "no `ok` for a refused spec");

    let run = scratch.run(&["run", spec, "--runtime", "local", "--no-progress"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert_eq!(
        stderr(&run).trim_end(),
        stderr(&validate).trim_end(),
        "run refuses with the same check as validate"
    );
    let runs = scratch.run(&["runs", "--json"]);
    let runs: Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs, Value::Array(Vec::new()), "no run was recorded");
}

#[test]
fn validate_and_run_refuse_each_misconfiguration_with_the_same_message() {
    for case in [
        "quoted_placeholder",
        "stratify_by_missing_field",
        "missing_agent_program",
        "boundary_unknown_table",
    ] {
        let scratch = Scratch::new();
        let spec = format!("tests/cases/invalid/{case}.yaml");
        let validate = scratch.run(&["validate", &spec]);
        assert_eq!(
            validate.status.code(),
            Some(2),
            "{case}: {}",
            stderr(&validate)
        );
        assert!(stdout(&validate).is_empty(), "{case}: no `ok`");
        let run = scratch.run(&["run", &spec, "--runtime", "local", "--no-progress"]);
        assert_eq!(run.status.code(), Some(2), "{case}: {}", stderr(&run));
        assert_eq!(
            stderr(&run).trim_end(),
            stderr(&validate).trim_end(),
            "{case}: run refuses with validate's message"
        );
        let runs = scratch.run(&["runs", "--json"]);
        let runs: Value = serde_json::from_slice(&runs.stdout).unwrap_or(Value::Null);
        assert!(
            runs == Value::Array(Vec::new()) || runs.is_null(),
            "{case}: no run recorded: {runs}"
        );
    }
}

/// A spec beside its issues in the scratch directory; `/bin/true` as the agent: it answers
/// nothing, so every issue errors, which is all a comparison of sets needs.
fn write_spec(directory: &Path, issues: &str, extra: &str) -> String {
    std::fs::create_dir_all(directory).unwrap();
    std::fs::copy(
        repo_root().join("tests/pods/tiny/schema.sql"),
        directory.join("schema.sql"),
    )
    .unwrap();
    std::fs::write(directory.join("issues.jsonl"), issues).unwrap();
    let spec = directory.join("sets.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: sets\n\
             database:\n  image: postgres:15\n  fixtures:\n    - sql: schema.sql\n\
             agent:\n  command: [\"/bin/true\"]\n  version: v1\n  timeout: 10s\n\
             issues:\n  source: issues.jsonl\n{extra}"
        ),
    )
    .unwrap();
    spec.display().to_string()
}

#[test]
fn an_answer_shown_to_the_agent_is_a_warning_not_a_refusal() {
    let scratch = Scratch::new();
    let spec = write_spec(
        &scratch.path().join("pod"),
        "{\"id\": \"1\", \"category\": \"billing\", \"expected\": {\"category\": \"billing\"}}\n\
         {\"id\": \"2\", \"category\": \"bug\", \"expected\": {\"category\": \"login\"}}\n",
        "",
    );
    let validate = scratch.run(&["validate", &spec]);
    assert!(validate.status.success(), "{}", stderr(&validate));
    assert!(
        stderr(&validate).starts_with(
            "warning: `category` is shown to the agent and is also an expected answer"
        ) && stderr(&validate)
            .contains("(in 1 of 2 issues the value shown equals the expected one)"),
        "{}",
        stderr(&validate)
    );
    assert!(
        stdout(&validate).contains(": ok (1 warning) — "),
        "{}",
        stdout(&validate)
    );
}

#[test]
fn the_warnings_read_like_the_spec_diagnostics() {
    let scratch = Scratch::new();
    let validate = scratch.run(&["validate", "tests/cases/warnings/answer_shown.yaml"]);
    assert!(validate.status.success(), "{}", stderr(&validate));
    assert!(
        stdout(&validate).starts_with("tests/cases/warnings/answer_shown.yaml: ok (2 warnings) — "),
        "{}",
        stdout(&validate)
    );
    insta::assert_snapshot!(stderr(&validate));
}

fn sha256_of(path: &Path) -> String {
    let output = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn runs_record_their_set_and_compare_warns_when_sets_differ() {
    let scratch = Scratch::new();
    let directory = scratch.path().join("pod");
    let first_issues = "{\"id\": \"A\", \"subject\": \"refund\", \"expected\": {\"status\": \"closed\"}}\n\
                        {\"id\": \"B\", \"subject\": \"login\", \"expected\": {\"status\": \"open\"}}\n";
    let spec = write_spec(&directory, first_issues, "");
    let issues_file = directory.join("issues.jsonl");
    let first_digest = sha256_of(&issues_file);
    let run = |label: &str| {
        let output = scratch.run(&["run", &spec, "--runtime", "local", "--no-progress"]);
        assert!(output.status.success(), "{label}: {}", stderr(&output));
        run_id_from_stderr(&stderr(&output))
            .or_else(|| {
                let runs = scratch.run(&["runs", "--json"]);
                let runs: Value = serde_json::from_slice(&runs.stdout).ok()?;
                runs[0]["id"].as_str().map(str::to_owned)
            })
            .expect("the run's id")
    };
    let first = run("first");
    // The set grows by one issue and B's answer is corrected.
    std::fs::write(
        &issues_file,
        "{\"id\": \"A\", \"subject\": \"refund\", \"expected\": {\"status\": \"closed\"}}\n\
         {\"id\": \"B\", \"subject\": \"login\", \"expected\": {\"status\": \"closed\"}}\n\
         {\"id\": \"C\", \"subject\": \"crash\", \"expected\": {\"status\": \"open\"}}\n",
    )
    .unwrap();
    let second_digest = sha256_of(&issues_file);
    let second = run("second");

    let report = scratch.run(&["report", &first, "--format", "json"]);
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["evaluation_set"]["sha256"], first_digest.as_str());
    assert_eq!(report["evaluation_set"]["issues"], 2);
    let terminal = stdout(&scratch.run(&["report", &second]));
    assert!(
        terminal
            .lines()
            .next()
            .unwrap()
            .ends_with(&format!("· set sha256:{} (3 issues)", &second_digest[..12])),
        "{terminal}"
    );
    let markdown = stdout(&scratch.run(&["report", &second, "--format", "markdown"]));
    assert!(
        markdown.contains(&format!(
            "Evaluation set: `sha256:{}` (3 issues)",
            &second_digest[..12]
        )),
        "{markdown}"
    );
    let html = stdout(&scratch.run(&["report", &second, "--format", "html"]));
    assert!(
        html.contains(&format!(
            " · set sha256:{} (3 issues)</p>",
            &second_digest[..12]
        )),
        "the HTML report names the set"
    );
    let junit = stdout(&scratch.run(&["report", &second, "--format", "junit"]));
    assert!(
        junit.contains(&format!(
            "<property name=\"evaluation_set_sha256\" value=\"{second_digest}\"/>"
        )),
        "{junit}"
    );
    let runs = stdout(&scratch.run(&["runs"]));
    assert!(runs.lines().next().unwrap().contains("SET"), "{runs}");
    assert!(
        runs.contains(&format!("{}/2", &first_digest[..12]))
            && runs.contains(&format!("{}/3", &second_digest[..12])),
        "{runs}"
    );

    let compare = scratch.run(&["compare", &first, &second]);
    assert!(compare.status.success(), "{}", stderr(&compare));
    let text = stdout(&compare);
    assert!(
        text.contains(&format!(
            "warning: different evaluation sets: run {first} sampled from sha256:{} (2 issues), run {second} from sha256:{} (3 issues)",
            &first_digest[..12],
            &second_digest[..12]
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "warning: 1 shared issue differs between run {first} and run {second} (same id, other fields or expected answer): B"
        )),
        "{text}"
    );
    let json = scratch.run(&["compare", &first, &second, "--format", "json"]);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["warnings"].as_array().map(Vec::len), Some(2));

    // The same set twice: nothing to warn about.
    let third = run("third");
    let same = stdout(&scratch.run(&["compare", &second, &third]));
    assert!(!same.contains("warning:"), "{same}");
}

#[test]
fn dataset_diff_says_what_was_added_removed_and_changed() {
    let scratch = Scratch::new();
    let before = scratch.path().join("before.jsonl");
    let after = scratch.path().join("after.csv");
    std::fs::write(
        &before,
        "{\"id\": \"T-1\", \"subject\": \"refund\", \"expected\": {\"category\": \"billing\"}}\n\
         {\"id\": \"T-2\", \"subject\": \"login\", \"expected\": {\"category\": \"account\"}}\n\
         {\"id\": \"T-3\", \"subject\": \"crash\", \"expected\": {\"category\": \"bug\"}}\n",
    )
    .unwrap();
    std::fs::write(
        &after,
        "id,subject,priority,expected.category\n\
         T-1,refund,,billing\n\
         T-3,crash on save,high,bug\n\
         T-4,dark mode,,feature\n",
    )
    .unwrap();
    let output = scratch.run(&[
        "dataset",
        "diff",
        before.to_str().unwrap(),
        after.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output).replace(&scratch.path().display().to_string(), "[scratch]");
    assert!(
        text.contains(&format!("sha256:{}", &sha256_of(&before)[..12])),
        "{text}"
    );
    let digests = regex_free_digests(&text);
    insta::assert_snapshot!(digests);

    let json = scratch.run(&[
        "dataset",
        "diff",
        before.to_str().unwrap(),
        after.to_str().unwrap(),
        "--json",
    ]);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["added"], serde_json::json!(["T-4"]));
    assert_eq!(json["removed"], serde_json::json!(["T-2"]));
    // An empty CSV cell is an empty string for the agent (README: empty cells), so T-1 gained
    // a `priority` the JSON lines version did not have.
    assert_eq!(
        json["changed"],
        serde_json::json!([
            {"id": "T-1", "keys": ["priority"]},
            {"id": "T-3", "keys": ["priority", "subject"]}
        ])
    );
    assert_eq!(json["unchanged"], 0);
    assert_eq!(json["before"]["sha256"], sha256_of(&before).as_str());
    assert_eq!(json["after"]["issues"], 3);

    let unreadable = scratch.run(&["dataset", "diff", "no/such.jsonl", after.to_str().unwrap()]);
    assert_eq!(unreadable.status.code(), Some(2), "{}", stderr(&unreadable));
}

/// The text with each `sha256:<12 hex>` written as `sha256:[digest]`, so the snapshot holds the
/// layout while the test above checks the digest itself.
fn regex_free_digests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("sha256:") {
        out.push_str(&rest[..at + "sha256:".len()]);
        rest = &rest[at + "sha256:".len()..];
        let hex = rest
            .chars()
            .take_while(|character| character.is_ascii_hexdigit())
            .count();
        out.push_str("[digest]");
        rest = &rest[hex..];
    }
    out.push_str(rest);
    out
}
