//! An agent that crashes, raises an exception, exits non-zero, hangs past its timeout, floods
//! stdout, writes nothing or writes garbage: each is recorded as that issue's outcome and the
//! run carries on. Issues with expected outputs are judged by the answer's text.

use std::collections::BTreeMap;

use agentpod_end_to_end::{Scratch, local_pod_directories, processes_end_soon};
use serde_json::Value;

#[test]
fn every_misbehaviour_is_an_outcome_and_the_run_carries_on() {
    let scratch = Scratch::new();
    let output = scratch
        .agentpod(&[
            "run",
            "tests/pods/misbehaving.yaml",
            "--runtime",
            "local",
            "--no-progress",
        ])
        .env("HOST_SECRET_CANARY", "must not reach the agent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the run itself must succeed: {stderr}"
    );

    let shown = scratch.show("latest");
    let run_id = shown["run"]["id"].as_str().unwrap().to_string();
    let outcomes: BTreeMap<String, Value> = shown["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|outcome| {
            (
                outcome["issue_id"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("M-")
                    .to_string(),
                outcome.clone(),
            )
        })
        .collect();
    assert_eq!(
        outcomes.len(),
        13,
        "all issues have an outcome: {:?}",
        outcomes.keys()
    );
    let status = |name: &str| outcomes[name]["status"].as_str().unwrap().to_string();
    let reason = |name: &str| outcomes[name]["reason"].as_str().unwrap().to_string();

    assert_eq!(status("correct"), "passed");
    assert_eq!(status("wrong"), "failed");
    assert!(
        reason("wrong").contains(r#"expected "42", got "not 42""#),
        "{}",
        reason("wrong")
    );

    assert_eq!(status("crash"), "errored");
    assert!(reason("crash").contains("signal 11"), "{}", reason("crash"));

    assert_eq!(status("exit"), "errored");
    assert_eq!(
        reason("exit"),
        "agent exited with code 3: giving up on this one"
    );

    // Expected outputs: each a case-insensitive substring of the answer, commas removed.
    assert_eq!(status("outputs"), "passed", "{}", reason("outputs"));
    assert_eq!(status("outputs-missed"), "failed");
    assert_eq!(
        reason("outputs-missed"),
        r#"expected_outputs[1]: expected "the answer says \"gift card\"", got "it does not""#
    );
    let checks = &outcomes["outputs"]["grade"]["checks"];
    let output_checks: Vec<(&str, bool)> = checks
        .as_array()
        .unwrap()
        .iter()
        .map(|check| (check["name"].as_str().unwrap(), check["passed"] == true))
        .filter(|(name, _)| name.starts_with("expected_outputs"))
        .collect();
    assert_eq!(
        output_checks,
        [("expected_outputs[0]", true), ("expected_outputs[1]", true)],
        "one check per output: {checks}"
    );

    assert_eq!(status("traceback"), "errored");
    assert_eq!(
        reason("traceback"),
        "agent exited with code 1: ValueError: order #W1234 has no item 42",
        "the exception, not the banner printed after the traceback"
    );
    assert!(
        outcomes["traceback"]["stderr"]
            .as_str()
            .unwrap()
            .trim_end()
            .ends_with(&"-".repeat(40)),
        "the banner really is stderr's last line"
    );

    assert_eq!(status("hang"), "errored");
    assert_eq!(reason("hang"), "timed out after 2s");
    let hang_ms = outcomes["hang"]["duration_ms"].as_u64().unwrap();
    assert!(
        (2000..10_000).contains(&hang_ms),
        "killed at the timeout, not later: {hang_ms} ms"
    );
    // The agent's working directory lives in its sandbox only: the marker is computed here
    // the way the agent computes it (tests/pods/agents/misbehaving-agent.py).
    let marker = format!(
        "600.{}",
        run_id
            .chars()
            .map(|character| character as u32)
            .sum::<u32>()
            % 100_000
    );
    let command_line = format!("sleep\0{}\0", marker.trim());
    assert!(
        processes_end_soon(&command_line),
        "the hanging agent's grandchild (`sleep {marker}`, in a session of its own) must be killed with its issue"
    );

    assert_eq!(
        status("flood"),
        "passed",
        "a chatty agent that answers is still graded"
    );
    assert_eq!(outcomes["flood"]["stdout_bytes"], 5 * 1024 * 1024);
    assert_eq!(outcomes["flood"]["stdout_truncated"], true);
    assert_eq!(
        outcomes["flood"]["stdout"].as_str().unwrap().len(),
        64 * 1024,
        "kept output is capped"
    );

    assert_eq!(status("silent"), "errored");
    assert_eq!(reason("silent"), "agent wrote no output (AGENTPOD_OUTPUT)");
    assert_eq!(status("malformed"), "errored");
    assert!(
        reason("malformed").starts_with("agent output is malformed"),
        "{}",
        reason("malformed")
    );

    assert_eq!(
        status("database"),
        "passed",
        "DATABASE_URL reaches the issue's seeded database: {}",
        reason("database")
    );

    assert_eq!(status("env"), "passed");
    let environment: Vec<&str> = outcomes["env"]["output"]["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        // Python itself may add LC_CTYPE (PEP 538) before the agent's code runs.
        .filter(|name| *name != "LC_CTYPE")
        .collect();
    assert_eq!(
        environment,
        [
            "AGENTPOD_AGENT_VERSION",
            "AGENTPOD_ISSUE",
            "AGENTPOD_ISSUE_ID",
            "AGENTPOD_MCP_URL",
            "AGENTPOD_OUTPUT",
            "AGENTPOD_RUN_ID",
            "DATABASE_URL",
            "EXTRA_SETTING",
            "HOME",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "PATH",
            // Set by the sandbox to the working directory it starts the agent in.
            "PWD"
        ],
        "the agent sees the contract and nothing else of the host"
    );

    let issues = &shown["summary"]["issues"];
    assert_eq!(
        (
            issues["passed"].as_u64(),
            issues["failed"].as_u64(),
            issues["errored"].as_u64()
        ),
        (Some(5), Some(2), Some(6))
    );
    assert_eq!(
        local_pod_directories(&run_id),
        Vec::<std::path::PathBuf>::new()
    );
}
