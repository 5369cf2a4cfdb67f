//! `agentpod run --resume RUN`: a run killed half-way is finished later, redoing only the issues
//! without a finished outcome, with the same sample; nothing is lost or written twice.

use agentpod_end_to_end::{RunningAgentpod, Scratch, local_pod_directories};
use serde_json::Value;

fn outcomes_by_issue(shown: &Value) -> std::collections::BTreeMap<String, Value> {
    shown["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|outcome| {
            (
                outcome["issue_id"].as_str().unwrap().to_string(),
                outcome.clone(),
            )
        })
        .collect()
}

#[test]
fn a_killed_run_is_resumed_without_losing_or_repeating_outcomes() {
    let scratch = Scratch::new();
    let mut running = RunningAgentpod::start(scratch.agentpod(&[
        "run",
        "tests/pods/slow.yaml",
        "--runtime",
        "local",
        "--pods",
        "2",
        "--sample",
        "8",
    ]));
    running.wait_for_line("[2/").expect("two issues finish");
    running.child.kill().unwrap();
    running.child.wait().unwrap();
    let run_id = running.run_id.clone();
    let gc = scratch.run(&["gc"]);
    assert!(gc.status.success());
    assert!(local_pod_directories(&run_id).is_empty());

    let before = outcomes_by_issue(&scratch.show(&run_id));
    assert!(
        (2..8).contains(&before.len()),
        "killed half-way: {} outcomes",
        before.len()
    );

    let resumed = scratch.run(&["run", "--resume", &run_id[..12], "--no-progress"]);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "resuming run {run_id}: {} of 8 issues left",
            8 - before.len()
        )),
        "{stderr}"
    );

    let shown = scratch.show(&run_id);
    let after = outcomes_by_issue(&shown);
    assert_eq!(
        after.len(),
        8,
        "every sampled issue has exactly one outcome"
    );
    assert_eq!(shown["run"]["status"], "finished");
    for (issue, outcome) in &before {
        if outcome["status"] != "interrupted" {
            assert_eq!(
                &after[issue], outcome,
                "a finished outcome is kept as it was"
            );
        }
    }
    assert_eq!(shown["summary"]["issues"]["passed"], 8);

    let again = scratch.run(&["run", "--resume", &run_id, "--no-progress"]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "a finished run has nothing to resume"
    );
}
