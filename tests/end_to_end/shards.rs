//! `agentpod run --shard K/N` and `agentpod merge`: one run spread over machines (here, over run
//! stores of their own, as on separate machines) comes back as one run whose outcomes, report,
//! compare and gate are those of the same run on one machine; shards that do not belong together
//! are refused by name; a shard killed half-way is resumed and nothing is lost or counted twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agentpod_end_to_end::{RunningAgentpod, Scratch, run_id_from_stderr, stderr_text};
use serde_json::Value;

const SPEC: &str = "tests/pods/shards.yaml";
/// 60 issues × 2 trials.
const PAIRS: usize = 120;

/// (issue, trial) → (status, reason), from `show --json`; panics on a pair stored twice.
pub(crate) fn outcomes_by_pair(shown: &Value) -> BTreeMap<(String, u64), (String, String)> {
    let mut pairs = BTreeMap::new();
    for outcome in shown["outcomes"].as_array().unwrap() {
        let key = (
            outcome["issue_id"].as_str().unwrap().to_string(),
            outcome["trial"].as_u64().unwrap(),
        );
        let value = (
            outcome["status"].as_str().unwrap().to_string(),
            outcome["reason"].as_str().unwrap_or_default().to_string(),
        );
        assert!(
            pairs.insert(key.clone(), value).is_none(),
            "{key:?} stored twice"
        );
    }
    pairs
}

/// What the issues file says each issue must come to: the agent answers right when `passes`.
fn expected_statuses() -> BTreeMap<String, &'static str> {
    let text = std::fs::read_to_string(
        agentpod_end_to_end::repo_root().join("tests/pods/tiny/shard-issues.jsonl"),
    )
    .unwrap();
    text.lines()
        .map(|line| {
            let issue: Value = serde_json::from_str(line).unwrap();
            let status = if issue["passes"].as_bool().unwrap() {
                "passed"
            } else {
                "failed"
            };
            (issue["id"].as_str().unwrap().to_string(), status)
        })
        .collect()
}

/// Runs `args` in `scratch` to success; the run's id.
pub(crate) fn run_to_end(scratch: &Scratch, args: &[&str]) -> String {
    let output = scratch.run(args);
    let stderr = stderr_text(&output);
    assert!(output.status.success(), "{args:?}: {stderr}");
    run_id_from_stderr(&stderr).expect("the run is announced")
}

/// `agentpod export RUN --bundle FILE` from `scratch`'s store.
fn export(scratch: &Scratch, run_id: &str, bundle: &Path) {
    let output = scratch.run(&["export", run_id, "--bundle", bundle.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr_text(&output));
}

/// One shard run in a store of its own (a machine of its own), exported as a bundle.
fn shard_on_own_machine(part: &str, extra: &[&str], bundle: &Path) -> (Scratch, String) {
    let machine = Scratch::new();
    let mut args = vec!["run", SPEC, "--runtime", "local", "--shard", part];
    args.extend_from_slice(extra);
    let run_id = run_to_end(&machine, &args);
    export(&machine, &run_id, bundle);
    (machine, run_id)
}

/// `agentpod merge BUNDLE…` in `scratch`; the output.
fn merge(scratch: &Scratch, bundles: &[&Path]) -> std::process::Output {
    let mut args = vec!["merge"];
    args.extend(bundles.iter().map(|path| path.to_str().unwrap()));
    scratch.run(&args)
}

/// The merged run's id, from `merged … into run ID (…)`.
pub(crate) fn merged_run_id(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|line| line.split(" into run ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("merge names the run it made")
        .to_string()
}

/// The report as JSON without what differs between two runs of the same work by its nature:
/// ids, pods, machines, and every measured time (agent seconds, agentpod's own milliseconds).
pub(crate) fn report_figures(scratch: &Scratch, run_id: &str) -> Value {
    let output = scratch.run(&["report", run_id, "--format", "json"]);
    assert!(output.status.success(), "{}", stderr_text(&output));
    let mut report: Value = serde_json::from_slice(&output.stdout).unwrap();
    strip_measured(&mut report);
    report
}

/// Takes out of a report what differs between two runs of the same work by its nature: ids,
/// pods, machines, and every measured time (agent seconds, agentpod's own milliseconds).
pub(crate) fn strip_measured(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| {
                !(key == "run_id"
                    || key == "pods"
                    || key == "spread"
                    || key == "outliers"
                    || key.contains("seconds")
                    || key.ends_with("_ms"))
            });
            map.values_mut().for_each(strip_measured);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_measured),
        _ => {}
    }
}

fn runs_in(scratch: &Scratch) -> usize {
    let output = scratch.run(&["runs", "--json"]);
    assert!(output.status.success(), "{}", stderr_text(&output));
    serde_json::from_slice::<Value>(&output.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn three_shards_merged_are_the_run_on_one_machine_and_parts_that_do_not_fit_are_refused() {
    let scratch = Scratch::new();
    let bundles: Vec<PathBuf> = (1..=3)
        .map(|part| scratch.path().join(format!("shard-{part}.json")))
        .collect();

    // Wrong --shard input is refused before anything starts.
    for (shard, says) in [
        ("0/3", "numbered from 1"),
        ("4/3", "does not exist"),
        ("3", "expected K/N"),
        ("1/0", "at least 1"),
        ("a/b", "expected K/N"),
    ] {
        let output = scratch.run(&["run", SPEC, "--runtime", "local", "--shard", shard]);
        assert_eq!(output.status.code(), Some(2), "--shard {shard}");
        assert!(
            stderr_text(&output).contains(says),
            "--shard {shard}: {}",
            stderr_text(&output)
        );
    }
    let too_many = scratch.run(&["run", SPEC, "--runtime", "local", "--shard", "1/121"]);
    assert_eq!(too_many.status.code(), Some(2));
    assert!(
        stderr_text(&too_many).contains("at most 120 shards"),
        "{}",
        stderr_text(&too_many)
    );

    let whole = run_to_end(&scratch, &["run", SPEC, "--runtime", "local"]);
    let machines: Vec<(Scratch, String)> = bundles
        .iter()
        .enumerate()
        .map(|(index, bundle)| shard_on_own_machine(&format!("{}/3", index + 1), &[], bundle))
        .collect();

    // Each shard ran its part only: together every pair once.
    let mut shard_pairs = 0;
    for (machine, run_id) in &machines {
        let shown = machine.show(run_id);
        let pairs = outcomes_by_pair(&shown);
        assert_eq!(pairs.len(), PAIRS / 3, "{run_id}");
        assert_eq!(shown["summary"]["issues"]["trials"], PAIRS / 3);
        assert_eq!(shown["summary"]["issues"]["not_run"], 0);
        // A shard's report does not count its siblings' issues as not run.
        let report = machine.run(&["report", run_id, "--format", "json"]);
        let report: serde_json::Value =
            serde_json::from_slice(&report.stdout).expect("report --format json");
        assert_eq!(
            report["quality"]["not_run"], 0,
            "{run_id}: {}",
            report["quality"]
        );
        shard_pairs += pairs.len();
    }
    assert_eq!(shard_pairs, PAIRS);

    let runs_before = runs_in(&scratch);
    for (bundles, names) in [
        (vec![&bundles[0], &bundles[1]], "shard 3 of 3 missing"),
        (
            vec![&bundles[0], &bundles[1], &bundles[1], &bundles[2]],
            "shard 2/3 is given twice",
        ),
    ] {
        let paths: Vec<&Path> = bundles.iter().map(|path| path.as_path()).collect();
        let output = merge(&scratch, &paths);
        assert_eq!(output.status.code(), Some(2), "{}", stderr_text(&output));
        assert!(
            stderr_text(&output).contains(names),
            "{}",
            stderr_text(&output)
        );
    }
    // A part of another run (another seed: another sample, another group).
    let stranger = scratch.path().join("stranger.json");
    let _stranger_machine = shard_on_own_machine("1/3", &["--seed", "99"], &stranger);
    let output = merge(&scratch, &[&stranger, &bundles[1], &bundles[2]]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_text(&output));
    let stderr = stderr_text(&output);
    assert!(
        stderr.contains("not parts of one run") && stderr.contains("has group g-"),
        "{stderr}"
    );
    // A whole run is not a shard.
    let whole_bundle = scratch.path().join("whole.json");
    export(&scratch, &whole, &whole_bundle);
    let output = merge(&scratch, &[&whole_bundle, &bundles[1], &bundles[2]]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_text(&output).contains("is not a shard"),
        "{}",
        stderr_text(&output)
    );
    assert_eq!(
        runs_in(&scratch),
        runs_before,
        "a refused merge adds no run"
    );

    // In any order, the parts make one run.
    let output = merge(&scratch, &[&bundles[2], &bundles[0], &bundles[1]]);
    let stderr = stderr_text(&output);
    assert!(output.status.success(), "{stderr}");
    let merged = merged_run_id(&stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("spread      3 shards on 1 machine"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("    shard ").count(), 3, "{stdout}");
    assert_eq!(stdout.matches(" · slowest").count(), 1, "{stdout}");

    // Identical outcomes per (issue, trial), each what the issue says.
    let whole_shown = scratch.show(&whole);
    let merged_shown = scratch.show(&merged);
    let whole_pairs = outcomes_by_pair(&whole_shown);
    let merged_pairs = outcomes_by_pair(&merged_shown);
    assert_eq!(whole_pairs.len(), PAIRS);
    assert_eq!(merged_pairs, whole_pairs);
    let expected = expected_statuses();
    for ((issue, _), (status, _)) in &merged_pairs {
        assert_eq!(status, expected[issue], "{issue}");
    }
    assert_eq!(merged_shown["run"]["status"], "finished");
    let spread = &merged_shown["summary"]["spread"];
    assert_eq!(spread["shards"], 3);
    assert_eq!(spread["per_shard"].as_array().unwrap().len(), 3);
    for (part, shard) in spread["per_shard"].as_array().unwrap().iter().enumerate() {
        assert_eq!(shard["part"], part as u64 + 1);
        assert_eq!(shard["trials"], PAIRS / 3);
        assert_eq!(shard["run_id"], machines[part].1.as_str());
    }

    // The same report figures (all but measured times and ids), the same gate, no flips.
    assert_eq!(
        report_figures(&scratch, &merged),
        report_figures(&scratch, &whole)
    );
    let compare = scratch.run(&["compare", &whole, &merged, "--format", "json"]);
    assert!(compare.status.success(), "{}", stderr_text(&compare));
    let compare: Value = serde_json::from_slice(&compare.stdout).unwrap();
    assert_eq!(compare["shared_issues"], 60);
    let against = &compare["runs"][1]["against_baseline"];
    assert_eq!(against["flips"].as_array().unwrap().len(), 0, "{against}");
    assert_eq!(against["regressions"], 0);
    assert_eq!(against["improvements"], 0);
    let gate = |run: &str| {
        scratch
            .run(&["gate", run, "--min-pass-rate", "0.7"])
            .status
            .code()
    };
    assert_eq!(gate(&merged), gate(&whole));
    assert_eq!(gate(&merged), Some(0), "70% of the issues pass");
    let strict = |run: &str| {
        scratch
            .run(&["gate", run, "--min-pass-rate", "0.71"])
            .status
            .code()
    };
    assert_eq!(strict(&merged), Some(4));
    assert_eq!(strict(&whole), Some(4));
}

#[test]
fn a_shard_killed_half_way_is_resumed_and_merged_without_losing_or_repeating_a_pair() {
    let scratch = Scratch::new();
    let bundle = |part: u32| scratch.path().join(format!("shard-{part}.json"));
    let (_first_machine, _) = shard_on_own_machine("1/3", &[], &bundle(1));
    let (_third_machine, _) = shard_on_own_machine("3/3", &[], &bundle(3));

    // Shard 2 thinks for a while on each issue, and its machine dies (SIGKILL) half-way.
    let machine = Scratch::new();
    let mut running = RunningAgentpod::start(machine.agentpod(&[
        "run",
        SPEC,
        "--runtime",
        "local",
        "--shard",
        "2/3",
        "--agent-command",
        "tests/pods/agents/shard-agent.py 0.4",
    ]));
    running.wait_for_line("[ 6/40]").expect("six pairs finish");
    running.child.kill().unwrap();
    running.child.wait().unwrap();
    let shard = running.run_id.clone();
    assert!(machine.run(&["gc"]).status.success());
    let before = outcomes_by_pair(&machine.show(&shard));
    assert!(
        (6..PAIRS / 3).contains(&before.len()),
        "{} outcomes",
        before.len()
    );

    // An unfinished shard is refused by name, with what to do.
    export(&machine, &shard, &bundle(2));
    let output = merge(&scratch, &[&bundle(1), &bundle(2), &bundle(3)]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_text(&output);
    assert!(
        stderr.contains("shard 2/3") && stderr.contains(&format!("agentpod run --resume {shard}")),
        "{stderr}"
    );

    let resumed = machine.run(&["run", "--resume", &shard, "--no-progress"]);
    assert!(resumed.status.success(), "{}", stderr_text(&resumed));
    let after = outcomes_by_pair(&machine.show(&shard));
    assert_eq!(after.len(), PAIRS / 3, "the part's pairs, each once");
    for (pair, outcome) in &before {
        if outcome.0 != "interrupted" {
            assert_eq!(&after[pair], outcome, "a finished pair is kept as it was");
        }
    }
    export(&machine, &shard, &bundle(2));
    let output = merge(&scratch, &[&bundle(1), &bundle(2), &bundle(3)]);
    let stderr = stderr_text(&output);
    assert!(output.status.success(), "{stderr}");
    let merged = scratch.show(&merged_run_id(&stderr));
    let pairs = outcomes_by_pair(&merged);
    assert_eq!(pairs.len(), PAIRS, "complete, nothing twice");
    let expected = expected_statuses();
    for ((issue, trial), (status, _)) in &pairs {
        assert_eq!(status, expected[issue], "{issue} trial {trial}");
    }
    assert_eq!(merged["summary"]["issues"]["trials"], PAIRS);
    assert_eq!(merged["summary"]["issues"]["not_run"], 0);
}
