//! The demo pod as the README runs it: 3 pods over 50 sampled issues, on Docker and on the local
//! runtime; summary, JSON, run store, and nothing left behind.

use agentpod_end_to_end::{Scratch, docker_resources, local_pod_directories, run_id_from_stderr};
use serde_json::Value;

fn run_demo(runtime: &str, pods: &str, sample: &str) -> (Scratch, Value, String) {
    let scratch = Scratch::new();
    let json_path = scratch.path().join("summary.json");
    let output = scratch.run(&[
        "run",
        "pods/support-triage.yaml",
        "--runtime",
        runtime,
        "--pods",
        pods,
        "--sample",
        sample,
        "--json",
        json_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "demo run failed ({:?}):\n{stderr}\n{stdout}",
        output.status
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert!(
        stdout.contains("pass rate"),
        "the summary goes to stdout: {stdout}"
    );
    assert_eq!(
        run_id_from_stderr(&stderr).as_deref(),
        summary["run_id"].as_str()
    );
    (scratch, summary, stdout)
}

fn assert_whole_sample_finished(summary: &Value, sample: u64, pods: u64) {
    let issues = &summary["issues"];
    assert_eq!(issues["sampled"], sample);
    let finished = issues["passed"].as_u64().unwrap() + issues["failed"].as_u64().unwrap();
    assert_eq!(
        finished, sample,
        "every issue is graded, none errored: {summary:#}"
    );
    assert_eq!(summary["pods"], pods);
    // The baseline is honest: it gets some right and some wrong.
    let rate = summary["pass_rate"].as_f64().unwrap();
    assert!((0.3..1.0).contains(&rate), "baseline pass rate {rate}");
    assert_eq!(summary["seconds_per_issue"]["count"], sample);
}

#[test]
fn demo_on_docker_runs_50_issues_in_3_pods_and_leaves_nothing() {
    let (scratch, summary, _) = run_demo("docker", "3", "50");
    assert_whole_sample_finished(&summary, 50, 3);
    let run_id = summary["run_id"].as_str().unwrap();
    assert_eq!(
        docker_resources(run_id),
        Vec::<String>::new(),
        "docker resources left behind"
    );

    let shown = scratch.show(run_id);
    let outcomes = shown["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 50);
    let pods_used: std::collections::BTreeSet<_> = outcomes
        .iter()
        .map(|outcome| outcome["pod_index"].as_u64())
        .collect();
    assert_eq!(pods_used.len(), 3, "issues are spread over all pods");
    assert_eq!(shown["run"]["status"], "finished");
    assert_eq!(
        shown["summary"]["issues"], summary["issues"],
        "show rebuilds the same summary"
    );

    // The demo's boundary at work: notes and triage columns change, refund requests become
    // proposals, and the baseline's naive order cancellations are refused and recorded.
    let boundary = &summary["boundary"];
    assert!(boundary["changes"].as_u64().unwrap() > 0, "{boundary}");
    assert!(boundary["proposals"].as_u64().unwrap() > 0, "{boundary}");
    let events = shown["boundary_events"].as_array().unwrap();
    let proposal = events
        .iter()
        .find(|event| event["kind"] == "proposal")
        .expect("a proposal");
    assert_eq!(proposal["table"], "refunds");
    assert_eq!(proposal["detail"]["status"], "pending");
    for violation in events.iter().filter(|event| event["kind"] == "violation") {
        assert_eq!(violation["detail"]["sqlstate"], "42501", "{violation}");
        let issue = outcomes
            .iter()
            .find(|outcome| outcome["issue_id"] == violation["issue_id"])
            .unwrap();
        assert_ne!(
            issue["status"], "passed",
            "an issue with a violation does not pass: {issue}"
        );
    }
    let changed_tables: std::collections::BTreeSet<_> = events
        .iter()
        .filter(|event| event["kind"] == "change")
        .map(|event| event["table"].as_str().unwrap())
        .collect();
    assert!(
        changed_tables
            .iter()
            .all(|table| ["tickets", "ticket_notes"].contains(table)),
        "only writable tables change: {changed_tables:?}"
    );

    let listed = scratch.run(&["runs"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(run_id));
}

#[test]
fn demo_on_the_local_runtime_runs_the_same_and_leaves_nothing() {
    let (_scratch, summary, _) = run_demo("local", "3", "50");
    assert_whole_sample_finished(&summary, 50, 3);
    let run_id = summary["run_id"].as_str().unwrap();
    assert_eq!(
        local_pod_directories(run_id),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn the_same_seed_draws_the_same_sample_and_another_seed_does_not() {
    let sample_ids = |seed: &str| {
        let scratch = Scratch::new();
        let output = scratch.run(&[
            "run",
            "pods/support-triage.yaml",
            "--runtime",
            "local",
            "--pods",
            "1",
            "--sample",
            "5",
            "--seed",
            seed,
            "--no-progress",
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let shown = scratch.show("latest");
        let mut ids: Vec<String> = shown["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|outcome| outcome["issue_id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let first = sample_ids("11");
    assert_eq!(first.len(), 5);
    assert_eq!(first, sample_ids("11"));
    assert_ne!(first, sample_ids("12"));
}
