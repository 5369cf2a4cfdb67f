//! `agentpod run --trials K`: every issue runs K times, each trial in its own directory and
//! database; the store keeps one outcome per (issue, trial); the summary and the report give the
//! pass rate over trials and pass^k over issues; `--resume` finishes exactly the missing pairs.

use std::collections::BTreeMap;

use agentpod_end_to_end::{RunningAgentpod, Scratch, repo_root, run_id_from_stderr};
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
    assert_eq!(shown, whole_show_document(&scratch, &run_id));
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

    // Trials of one issue are not independent: the interval is wider than Wilson's over the
    // 12 trials as if they were 12 issues.
    let (low, high) = (
        quality["pass_rate"]["low"].as_f64().unwrap(),
        quality["pass_rate"]["high"].as_f64().unwrap(),
    );
    let naive = wilson(6.0, 12.0);
    assert!(high - low > naive.1 - naive.0, "{low}–{high} vs {naive:?}");
    // Time per issue: one definition (finished trials, agent start to end) in both.
    for key in ["median", "p95", "max"] {
        assert_eq!(
            report["seconds"]["distribution"][key], summary["seconds_per_issue"][key],
            "{key}"
        );
    }

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

/// Wilson's 95% interval for `passed` of `trials`, computed here from its formula.
fn wilson(passed: f64, trials: f64) -> (f64, f64) {
    let z = 1.959_963_984_540_054_f64;
    let rate = passed / trials;
    let denominator = 1.0 + z * z / trials;
    let center = (rate + z * z / (2.0 * trials)) / denominator;
    let half =
        z / denominator * (rate * (1.0 - rate) / trials + z * z / (4.0 * trials * trials)).sqrt();
    (center - half, center + half)
}

/// A spec of the trials agent with a gate, written beside copies of its files in the scratch
/// directory; the agent's script is named by a path relative to the spec, as a user writes it.
fn gated_spec(scratch: &Scratch, gate: &str) -> String {
    let root = repo_root().join("tests/pods");
    let directory = scratch.path().join("pod");
    std::fs::create_dir_all(directory.join("agents")).unwrap();
    for (from, to) in [
        ("tiny/schema.sql", "schema.sql"),
        ("tiny/trials-issues.jsonl", "issues.jsonl"),
        ("agents/trials-agent.py", "agents/trials-agent.py"),
    ] {
        std::fs::copy(root.join(from), directory.join(to)).unwrap();
    }
    let counters = scratch.path().join("attempts");
    std::fs::create_dir_all(&counters).unwrap();
    let spec = directory.join("gated.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: gated\n\
             database:\n  image: postgres:15\n  fixtures:\n    - sql: schema.sql\n\
             agent:\n  command: [\"python3\", \"agents/trials-agent.py\", \"{}\"]\n  \
             isolation: none\n  version: gated-1\n  timeout: 20s\n\
             issues:\n  source: issues.jsonl\n\
             pods: 2\n\
             gate:\n{gate}",
            counters.display()
        ),
    )
    .unwrap();
    spec.display().to_string()
}

#[test]
fn the_report_verdict_and_the_gate_are_one_judgement() {
    let scratch = Scratch::new();
    let spec = gated_spec(&scratch, "  min_pass_rate: 0.9\n");
    // First attempts: always, once and twice pass, never fails: 75% against a 90% minimum.
    let first = scratch.run(&["run", &spec, "--runtime", "local"]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        first.status.success(),
        "`python3 agents/trials-agent.py` is found next to the spec: {stderr}"
    );
    let first_id = run_id_from_stderr(&stderr).unwrap();

    let report = scratch.run(&["report", &first_id]);
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with("verdict      NOT OK"),
        "{text}"
    );
    assert!(
        text.contains("fails the gate: pass rate 75.0% is below the minimum 90.0% by 15.0 pp"),
        "{text}"
    );
    let gate = scratch.run(&["gate", &first_id]);
    assert_eq!(
        gate.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&gate.stdout)
    );
    let json = scratch.run(&["report", &first_id, "--format", "json"]);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["verdict"]["ok"], false);
    assert_eq!(json["gate"]["passed"], false);

    // The same run with a limit it meets: both say so.
    let lenient = scratch.run(&["gate", &first_id, "--min-pass-rate", "0.75"]);
    assert_eq!(
        lenient.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lenient.stdout)
    );
    // A percentage where a share belongs is refused, saying what was meant.
    let percentage = scratch.run(&["gate", &first_id, "--min-pass-rate", "55"]);
    assert_eq!(percentage.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&percentage.stderr).contains("for 55% write 0.55"),
        "{}",
        String::from_utf8_lossy(&percentage.stderr)
    );
}

#[test]
fn run_gate_with_a_baseline_checks_regressions_even_without_a_limit() {
    let scratch = Scratch::new();
    // The spec's gate sets no max_regressions.
    let spec = gated_spec(&scratch, "  max_violations: 0\n");
    let first = scratch.run(&["run", &spec, "--runtime", "local"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first_id = run_id_from_stderr(&String::from_utf8_lossy(&first.stderr)).unwrap();
    // Second attempts: `once` and `twice` now fail, `always` passes: two regressions.
    let second = scratch.run(&[
        "run",
        &spec,
        "--runtime",
        "local",
        "--gate",
        "--baseline",
        &first_id,
    ]);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert_eq!(
        second.status.code(),
        Some(4),
        "{stdout}\n{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        stdout.contains("regressions 2 exceeds the maximum 0 by 2"),
        "{stdout}"
    );
    assert!(stdout.contains("a baseline allows none"), "{stdout}");
}

/// The document `show --json` printed before it was written as it is read: built whole from the
/// store's records with `json!` (every object's keys sorted).
fn whole_show_document(scratch: &Scratch, run_id: &str) -> Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = agentpod_store::RunStore::open_to_read(&scratch.path().join("runs.db"))
            .await
            .unwrap();
        let run = store.find_run(run_id).await.unwrap();
        let outcomes = store.outcomes(&run.id).await.unwrap();
        let boundary_events = store.boundary_events(&run.id).await.unwrap();
        let summary = agentpod_report::summarize(&run, &outcomes, &boundary_events);
        let boundary = store.run_boundary(&run.id).await.unwrap();
        serde_json::json!({
            "run": run,
            "summary": summary,
            "boundary": boundary,
            "outcomes": outcomes,
            "boundary_events": boundary_events,
        })
    })
}
