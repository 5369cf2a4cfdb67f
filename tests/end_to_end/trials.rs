//! `agentpod run --trials K`: every issue runs K times, each trial in its own directory and
//! database; the store keeps one outcome per (issue, trial); the summary and the report give the
//! pass rate over trials and pass^k over issues; `--resume` finishes exactly the missing pairs.

use std::collections::BTreeMap;

use agentpod_end_to_end::{RunningAgentpod, Scratch, run_id_from_stderr};
use serde_json::Value;

/// (issue, trial) → status, from `show --json`; panics on a pair stored twice.
fn outcomes_by_trial(shown: &Value) -> BTreeMap<(String, u64), String> {
    let mut pairs = BTreeMap::new();
    for outcome in shown["outcomes"].as_array().unwrap() {
        let key = (
            outcome["issue_id"].as_str().unwrap().to_string(),
            outcome["trial"].as_u64().unwrap(),
        );
        let status = outcome["status"].as_str().unwrap().to_string();
        assert!(
            pairs.insert(key.clone(), status).is_none(),
            "{key:?} stored twice"
        );
    }
    pairs
}

#[test]
fn three_trials_per_issue_give_the_pass_rate_over_trials_and_pass_k_over_issues() {
    let scratch = Scratch::new();
    let counters = scratch.path().join("attempts");
    std::fs::create_dir(&counters).unwrap();
    let agent_command = format!("tests/pods/agents/trials-agent.py {}", counters.display());
    let output = scratch.run(&[
        "run",
        "tests/pods/trials.yaml",
        "--runtime",
        "local",
        "--trials",
        "3",
        "--agent-command",
        &agent_command,
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let run_id = run_id_from_stderr(&stderr).expect("the run is announced");
    assert!(
        stderr.contains("12 trials of 4 issues (3 per issue)"),
        "the command line's --trials overrides the spec's 2: {stderr}"
    );

    // One outcome per (issue, trial), trials 1 to 3 of each of the 4 issues.
    let shown = scratch.show(&run_id);
    assert_eq!(shown["run"]["trials"], 3);
    let outcomes = outcomes_by_trial(&shown);
    assert_eq!(outcomes.len(), 12, "{outcomes:?}");
    for issue in ["always", "never", "once", "twice"] {
        for trial in 1..=3 {
            assert!(
                outcomes.contains_key(&(issue.to_string(), trial)),
                "{issue} trial {trial}"
            );
        }
    }
    // The agent passes on the attempts each issue lists, whichever trial an attempt was.
    let passed_trials = |issue: &str| {
        outcomes
            .iter()
            .filter(|((id, _), status)| id == issue && *status == "passed")
            .count()
    };
    assert_eq!(
        ["always", "never", "once", "twice"].map(passed_trials),
        [3, 0, 1, 2]
    );
    for trial in 1..=3 {
        let directory = scratch
            .path()
            .join("work")
            .join(&run_id)
            .join("issues")
            .join(format!("once.trial-{trial}"));
        assert!(
            directory.join("issue.json").is_file(),
            "{} is the trial's own directory",
            directory.display()
        );
    }

    // What the summary and the report say equals what the stored outcomes say.
    let passed = outcomes
        .values()
        .filter(|status| *status == "passed")
        .count();
    assert_eq!(passed, 6);
    let finished = outcomes.len();
    let mut issue_passed: BTreeMap<&str, bool> = BTreeMap::new();
    for ((issue, _), status) in &outcomes {
        *issue_passed.entry(issue).or_insert(true) &= status == "passed";
    }
    let passed_every_trial = issue_passed.values().filter(|passed| **passed).count();
    assert_eq!(passed_every_trial, 1, "only `always`");

    let summary = &shown["summary"];
    assert_eq!(summary["issues"]["trials"], 12);
    assert_eq!(summary["issues"]["passed"], passed);
    assert_eq!(summary["pass_rate"], passed as f64 / finished as f64);
    assert_eq!(
        summary["pass_all_trials"]["passed_issues"],
        passed_every_trial
    );
    assert_eq!(summary["pass_all_trials"]["finished_issues"], 4);
    assert!(
        stdout.contains("4 sampled × 3 trials = 12: 6 passed, 6 failed, 0 errored"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pass rate   50.0% (6 of 12 trials)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pass^3      25.0% (1 of 4 issues passed every trial)"),
        "{stdout}"
    );

    let report = scratch.run(&["report", &run_id, "--format", "json"]);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    let quality = &report["quality"];
    assert_eq!(quality["trials"], 3);
    assert_eq!(
        quality["pass_rate"]["value"],
        passed as f64 / finished as f64
    );
    assert_eq!(
        quality["pass_all_trials"]["value"],
        passed_every_trial as f64 / 4.0
    );

    // One trial's timeline; a trial the run does not have is named as such.
    let trace = scratch.run(&["trace", &run_id, "once", "--trial", "2", "--json"]);
    assert!(
        trace.status.success(),
        "{}",
        String::from_utf8_lossy(&trace.stderr)
    );
    let trace: Value = serde_json::from_slice(&trace.stdout).unwrap();
    assert_eq!(trace["trial"], 2);
    assert_eq!(
        trace["outcome"]["status"].as_str().unwrap(),
        outcomes[&("once".to_string(), 2)]
    );
    let missing = scratch.run(&["trace", &run_id, "once", "--trial", "4"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("its trials: 1, 2, 3"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

#[test]
fn a_killed_trials_run_is_resumed_with_exactly_the_missing_pairs() {
    let scratch = Scratch::new();
    let mut running = RunningAgentpod::start(scratch.agentpod(&[
        "run",
        "tests/pods/slow.yaml",
        "--runtime",
        "local",
        "--pods",
        "2",
        "--sample",
        "3",
        "--trials",
        "3",
    ]));
    running.wait_for_line("[2/").expect("two trials finish");
    running.child.kill().unwrap();
    running.child.wait().unwrap();
    let run_id = running.run_id.clone();
    assert!(scratch.run(&["gc"]).status.success());

    let before = outcomes_by_trial(&scratch.show(&run_id));
    let finished_before: BTreeMap<_, _> = before
        .iter()
        .filter(|(_, status)| *status != "interrupted")
        .collect();
    assert!(
        (2..9).contains(&finished_before.len()),
        "killed part-way: {before:?}"
    );

    let refused = scratch.run(&["run", "--resume", &run_id, "--trials", "2", "--no-progress"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "a resumed run keeps its trials"
    );

    let resumed = scratch.run(&["run", "--resume", &run_id, "--no-progress"]);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "resuming run {run_id}: {} of 9 issue trials left (3 issues × 3 trials)",
            9 - finished_before.len()
        )),
        "{stderr}"
    );

    let shown = scratch.show(&run_id);
    let after = outcomes_by_trial(&shown);
    assert_eq!(
        after.len(),
        9,
        "each of 3 issues × 3 trials once: {after:?}"
    );
    assert!(after.values().all(|status| status == "passed"), "{after:?}");
    for (pair, status) in &finished_before {
        assert_eq!(&&after[*pair], status, "a finished trial is kept as it was");
    }
    assert_eq!(shown["run"]["status"], "finished");
    assert_eq!(shown["summary"]["pass_all_trials"]["passed_issues"], 3);
}
