//! Two runs at once on the same machine, with the same pod spec and the same run store: each
//! keeps to its own containers, networks, databases and store rows.

use std::process::Stdio;

use agentpod_end_to_end::{Scratch, docker_resources};

#[test]
fn two_runs_at_once_never_touch_each_other() {
    let scratch = Scratch::new();
    let start = || {
        scratch
            .agentpod(&[
                "run",
                "tests/pods/slow.yaml",
                "--runtime",
                "docker",
                "--pods",
                "2",
                "--sample",
                "6",
                "--no-progress",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (start(), start());
    let (first, second) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    let listed = scratch.run(&["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let ids: Vec<String> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "two runs in the one store: {ids:?}");
    assert_ne!(ids[0], ids[1]);
    for id in &ids {
        let shown = scratch.show(id);
        let outcomes = shown["outcomes"].as_array().unwrap();
        assert_eq!(outcomes.len(), 6, "each run has exactly its own outcomes");
        assert!(
            outcomes
                .iter()
                .all(|outcome| outcome["run_id"] == id.as_str())
        );
        assert_eq!(
            shown["summary"]["issues"]["passed"], 6,
            "no run disturbed the other: {}",
            shown["summary"]
        );
        assert_eq!(docker_resources(id), Vec::<String>::new());
    }
}
