//! Production failures back into the evaluation set: `promote run` turns a failed issue of a
//! stored run, with the corrected answer, into an issue of another set (or, with --replace, gives
//! the set's own issue the new answer); the next run samples it and grades it against the new
//! answer; duplicates are refused and leave the file as it was.

use std::collections::BTreeMap;
use std::path::Path;

use agentpod_end_to_end::{
    Scratch, repo_root, run_id_from_stderr, stderr_text as stderr, stdout_text as stdout,
    write_executable,
};
use serde_json::Value;

/// A pod directory in the scratch: the tiny schema and `agent` as `agent.py`.
fn pod_with_agent(scratch: &Scratch, agent: &str) -> std::path::PathBuf {
    let pod = scratch.path().join("pod");
    std::fs::create_dir_all(&pod).unwrap();
    std::fs::copy(
        repo_root().join("tests/pods/tiny/schema.sql"),
        pod.join("schema.sql"),
    )
    .unwrap();
    write_executable(&pod.join("agent.py"), agent);
    pod
}

/// An agent that answers the issue's `want` and reports which keys its issue file had.
const AGENT: &str = "#!/usr/bin/python3\n\
import json, os\n\
issue = json.load(open(os.environ['AGENTPOD_ISSUE']))\n\
json.dump({'answer': issue['want'], 'saw': sorted(issue)}, open(os.environ['AGENTPOD_OUTPUT'], 'w'))\n";

fn write_spec(directory: &Path, name: &str, issues: &str) -> String {
    let spec = directory.join(format!("{name}.yaml"));
    std::fs::write(
        &spec,
        format!(
            "name: {name}\n\
             database:\n  image: postgres:15\n  fixtures:\n    - sql: schema.sql\n\
             agent:\n  command: [\"./agent.py\"]\n  version: v1\n  timeout: 20s\n\
             issues:\n  source: {issues}\n"
        ),
    )
    .unwrap();
    spec.display().to_string()
}

/// Runs `spec` on every issue and returns its outcomes by issue id.
fn run_all(scratch: &Scratch, spec: &str) -> (String, BTreeMap<String, Value>) {
    let run = scratch.run(&[
        "run",
        spec,
        "--runtime",
        "local",
        "--no-progress",
        "--sample",
        "all",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let run_id = run_id_from_stderr(&stderr(&run))
        .or_else(|| {
            let runs = scratch.run(&["runs", "--json"]);
            let runs: Value = serde_json::from_slice(&runs.stdout).ok()?;
            runs[0]["id"].as_str().map(str::to_string)
        })
        .expect("a run id");
    let shown = scratch.show(&run_id);
    let outcomes = shown["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|outcome| {
            (
                outcome["issue_id"].as_str().unwrap().to_string(),
                outcome.clone(),
            )
        })
        .collect();
    (run_id, outcomes)
}

fn status(outcomes: &BTreeMap<String, Value>, id: &str) -> String {
    outcomes[id]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_failed_issue_promoted_with_its_corrected_answer_is_graded_against_it_in_the_next_run() {
    let scratch = Scratch::new();
    let pod = pod_with_agent(&scratch, AGENT);
    std::fs::write(
        pod.join("staging.jsonl"),
        "{\"id\": \"T-1\", \"want\": \"42\", \"expected\": {\"answer\": \"43\"}}\n\
         {\"id\": \"T-2\", \"want\": \"7\", \"expected\": {\"answer\": \"8\"}}\n\
         {\"id\": \"T-3\", \"want\": \"1\", \"expected\": {\"answer\": \"1\"}}\n",
    )
    .unwrap();
    let evals_before = "{\"id\": \"T-1\", \"want\": \"100\", \"expected\": {\"answer\": \"100\"}}\n\
                        {\"id\": \"E-1\", \"want\": \"5\", \"expected\": {\"answer\": \"5\"}}\n";
    std::fs::write(pod.join("evals.jsonl"), evals_before).unwrap();
    let staging = write_spec(&pod, "staging", "staging.jsonl");
    let evals = write_spec(&pod, "evals", "evals.jsonl");

    let (staging_run, outcomes) = run_all(&scratch, &staging);
    assert_eq!(status(&outcomes, "T-1"), "failed");
    assert_eq!(status(&outcomes, "T-2"), "failed");
    assert_eq!(status(&outcomes, "T-3"), "passed");

    // T-1's answer was wrong in the set (the agent was right); T-2's agent was wrong.
    let promote_t1 = scratch.run(&[
        "promote",
        "run",
        &staging_run,
        "T-1",
        "--expected",
        "answer=42",
        "--to",
        &evals,
    ]);
    assert!(promote_t1.status.success(), "{}", stderr(&promote_t1));
    assert!(
        stdout(&promote_t1).contains("added issue `T-1-p1`"),
        "the set's own T-1 keeps its id: {}",
        stdout(&promote_t1)
    );
    let promote_t2 = scratch.run(&[
        "promote",
        "run",
        &staging_run,
        "T-2",
        "--expected",
        "answer=70",
        "--to",
        &evals,
    ]);
    assert!(promote_t2.status.success(), "{}", stderr(&promote_t2));
    assert!(
        stdout(&promote_t2).contains("added issue `T-2`"),
        "{}",
        stdout(&promote_t2)
    );

    let evals_text = std::fs::read_to_string(pod.join("evals.jsonl")).unwrap();
    assert!(
        evals_text.starts_with(evals_before),
        "old lines kept: {evals_text}"
    );
    let promoted: Value = serde_json::from_str(evals_text.lines().nth(2).unwrap()).unwrap();
    assert_eq!(promoted["id"], "T-1-p1");
    assert_eq!(promoted["want"], "42");
    assert_eq!(promoted["expected"], serde_json::json!({"answer": "42"}));
    let provenance = &promoted["provenance"];
    assert_eq!(provenance["source"], "agentpod-run");
    assert_eq!(provenance["run"], staging_run.as_str());
    assert_eq!(provenance["issue"], "T-1");
    assert_eq!(provenance["outcomes"][0]["status"], "failed");
    assert_eq!(
        provenance["previous_expected"],
        serde_json::json!({"answer": "43"})
    );
    assert!(
        provenance["promoted_at"]
            .as_str()
            .is_some_and(|at| at.ends_with('Z'))
    );

    // Duplicates: the same fields and answer, or the same fields and another answer.
    for (answer, wanted) in [
        ("answer=42", "already has these fields and this answer"),
        ("answer=41", "--replace"),
    ] {
        let again = scratch.run(&[
            "promote",
            "run",
            &staging_run,
            "T-1",
            "--expected",
            answer,
            "--to",
            &evals,
        ]);
        assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
        assert!(
            stderr(&again).contains("issue `T-1-p1`") && stderr(&again).contains(wanted),
            "{}",
            stderr(&again)
        );
    }
    assert_eq!(
        std::fs::read_to_string(pod.join("evals.jsonl")).unwrap(),
        evals_text,
        "a refused promotion writes nothing"
    );

    let (_, outcomes) = run_all(&scratch, &evals);
    assert_eq!(
        outcomes.len(),
        4,
        "every issue of the set, promoted ones too: {outcomes:?}"
    );
    assert_eq!(
        status(&outcomes, "T-1-p1"),
        "passed",
        "graded against the new answer 42"
    );
    assert_eq!(
        status(&outcomes, "T-2"),
        "failed",
        "graded against the new answer 70"
    );
    assert_eq!(status(&outcomes, "T-1"), "passed");
    assert_eq!(
        outcomes["T-1-p1"]["output"]["saw"],
        serde_json::json!(["id", "want"]),
        "neither the answer nor the provenance reaches the agent"
    );
}

#[test]
fn replace_gives_the_runs_own_set_the_corrected_answer_in_place() {
    let scratch = Scratch::new();
    let pod = pod_with_agent(&scratch, AGENT);
    let first = "{\"id\": \"T-1\", \"want\": \"42\", \"expected\": {\"answer\": \"43\"}}";
    let second = "{\"id\": \"T-2\", \"want\": \"7\", \"expected\": {\"answer\": \"7\"}}\n";
    std::fs::write(pod.join("issues.jsonl"), format!("{first}\n{second}")).unwrap();
    let spec = write_spec(&pod, "own", "issues.jsonl");
    let (run, outcomes) = run_all(&scratch, &spec);
    assert_eq!(status(&outcomes, "T-1"), "failed");

    // Without --to: the run's own spec, which holds T-1 with the old answer.
    let refused = scratch.run(&["promote", "run", &run, "T-1", "--expected", "answer=42"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("issue `T-1`"),
        "{}",
        stderr(&refused)
    );
    let replaced = scratch.run(&[
        "promote",
        "run",
        &run,
        "T-1",
        "--expected",
        "answer=42",
        "--replace",
    ]);
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    assert!(
        stdout(&replaced).contains("gave the new answer to issue `T-1`"),
        "{}",
        stdout(&replaced)
    );
    let text = std::fs::read_to_string(pod.join("issues.jsonl")).unwrap();
    assert!(
        text.ends_with(second),
        "the other line is kept byte for byte: {text}"
    );
    assert_eq!(text.lines().count(), 2);

    let (_, outcomes) = run_all(&scratch, &spec);
    assert_eq!(
        status(&outcomes, "T-1"),
        "passed",
        "graded against the replaced answer"
    );

    let unknown = scratch.run(&["promote", "run", &run, "T-9", "--expected", "answer=1"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("has no issue `T-9`"),
        "{}",
        stderr(&unknown)
    );
}

/// An agent that answers `7` whatever the issue, and reports which keys its issue file had.
const CONSTANT_AGENT: &str = "#!/usr/bin/python3\n\
import json, os\n\
issue = json.load(open(os.environ['AGENTPOD_ISSUE']))\n\
json.dump({'answer': '7', 'saw': sorted(issue)}, open(os.environ['AGENTPOD_OUTPUT'], 'w'))\n";

/// A spec over `evals.jsonl` whose SQL assertion holds only when the traced rows are in the
/// issue's database; `fixtures` are listed after the schema.
fn write_replay_spec(directory: &Path, name: &str, fixtures: &str) -> String {
    let spec = directory.join(format!("{name}.yaml"));
    std::fs::write(
        &spec,
        format!(
            "name: {name}\n\
             database:\n  image: postgres:15\n  fixtures:\n    - sql: schema.sql\n{fixtures}\
             agent:\n  command: [\"./agent.py\"]\n  version: v1\n  timeout: 20s\n\
             issues:\n  source: evals.jsonl\n\
             grading:\n  sql:\n    - name: the traced rows are there\n      query: \"SELECT count(*) = 2 FROM items \
             WHERE (id = 7 AND name = 'O''Brien; widget') OR (id = 8 AND name = 'gadget')\"\n"
        ),
    )
    .unwrap();
    spec.display().to_string()
}

#[test]
fn a_trace_exported_by_the_opentelemetry_sdk_becomes_an_issue_whose_fixture_delta_recreates_its_rows()
 {
    let scratch = Scratch::new();
    let pod = pod_with_agent(&scratch, CONSTANT_AGENT);
    // The trace, written by the official OpenTelemetry Python SDK (scripts/setup's .venv).
    let trace = scratch.path().join("session.json");
    let exported = std::process::Command::new(repo_root().join(".venv/bin/python"))
        .arg(repo_root().join("tests/support/otel_session_export.py"))
        .arg(&trace)
        .output()
        .expect("the .venv's python (scripts/setup) runs");
    assert!(exported.status.success(), "{}", stderr(&exported));

    let evals = pod.join("evals.jsonl").display().to_string();
    let trace_arg = trace.display().to_string();
    let promote = scratch.run(&[
        "promote",
        "trace",
        &trace_arg,
        "--expected",
        "answer=7",
        "--to",
        &evals,
    ]);
    assert!(promote.status.success(), "{}", stderr(&promote));
    assert!(
        stdout(&promote).contains("added issue `conv-7`"),
        "{}",
        stdout(&promote)
    );
    let issue: Value =
        serde_json::from_str(std::fs::read_to_string(&evals).unwrap().trim_end()).unwrap();
    assert_eq!(
        issue["input"], "Item 7 shows the wrong name; item 8 too?",
        "the first user message"
    );
    assert_eq!(issue["expected"], serde_json::json!({"answer": "7"}));
    let provenance = &issue["provenance"];
    assert_eq!(provenance["source"], "otlp-trace");
    assert_eq!(provenance["conversation_id"], "conv-7");
    assert_eq!(
        provenance["db_statements"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        provenance["fixture_delta"],
        serde_json::json!({"sql": "evals.fixtures/conv-7.sql", "rows": 2})
    );
    assert!(pod.join("evals.fixtures/conv-7.sql").is_file());

    let again = scratch.run(&[
        "promote",
        "trace",
        &trace_arg,
        "--expected",
        "answer=7",
        "--to",
        &evals,
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("issue `conv-7`"),
        "{}",
        stderr(&again)
    );

    // Replayed with the delta after the spec's fixtures, the pod meets the rows the session met;
    // without it, the same assertion fails: the delta is what recreates them.
    let replay = write_replay_spec(&pod, "replay", "    - sql: evals.fixtures/conv-7.sql\n");
    let (_, outcomes) = run_all(&scratch, &replay);
    assert_eq!(
        status(&outcomes, "conv-7"),
        "passed",
        "{:?}",
        outcomes["conv-7"]["reason"]
    );
    assert_eq!(
        outcomes["conv-7"]["output"]["saw"],
        serde_json::json!(["id", "input"]),
        "neither the answer nor the provenance reaches the agent"
    );
    let without = write_replay_spec(&pod, "without", "");
    let (_, outcomes) = run_all(&scratch, &without);
    assert_eq!(
        status(&outcomes, "conv-7"),
        "failed",
        "{:?}",
        outcomes["conv-7"]["reason"]
    );
    assert!(
        outcomes["conv-7"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("the traced rows are there")),
        "failed on the SQL assertion: {:?}",
        outcomes["conv-7"]["reason"]
    );
}
