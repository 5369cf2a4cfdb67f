//! The agent as a container image: the same demo issues, the baseline agent started as
//! `agentpod/baseline-agent:local` on each pod's network, graded like a host agent, and nothing
//! left behind (agent containers carry the pod's labels).

use std::process::Command;

use agentpod_end_to_end::{Scratch, docker_resources, repo_root};

#[test]
fn an_image_agent_is_graded_like_a_host_agent_and_leaves_nothing() {
    let built = Command::new(repo_root().join("scripts/build-agent-image"))
        .output()
        .expect("the script runs");
    assert!(
        built.status.success(),
        "scripts/build-agent-image failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );

    let scratch = Scratch::new();
    let output = scratch.run(&[
        "run",
        "tests/pods/container-agent.yaml",
        "--runtime",
        "docker",
        "--no-progress",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    let shown = scratch.show("latest");
    let run_id = shown["run"]["id"].as_str().unwrap();
    let outcomes = shown["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 8);
    for outcome in outcomes {
        assert_ne!(
            outcome["status"], "errored",
            "the containerised agent answered: {outcome}"
        );
    }
    assert!(shown["summary"]["issues"]["passed"].as_u64().unwrap() > 0);
    // The agent wrote its notes through the pod network, as the boundary allows.
    assert!(
        shown["summary"]["boundary"]["changes"].as_u64().unwrap() > 0,
        "{}",
        shown["summary"]
    );
    assert_eq!(docker_resources(run_id), Vec::<String>::new());
}

#[test]
fn an_image_agent_needs_the_docker_runtime() {
    let scratch = Scratch::new();
    let output = scratch.run(&[
        "run",
        "tests/pods/container-agent.yaml",
        "--runtime",
        "local",
        "--no-progress",
    ]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs the docker runtime"));
}

/// A hostile container agent: it tries the internet, the host's SSH and Postgres ports, writes a
/// read-only table, and looks for an upstream key in its environment. Everything is refused, the
/// database attempt and the network attempts are recorded as violations, and the key the
/// orchestrator holds never reaches it.
#[test]
fn a_container_agent_that_tries_to_escape_is_refused_and_recorded() {
    let scratch = Scratch::new();
    let output = scratch
        .agentpod(&[
            "run",
            "tests/pods/escaping-container.yaml",
            "--runtime",
            "docker",
            "--no-progress",
        ])
        .env("OPENAI_API_KEY", "sk-upstream-secret-of-the-orchestrator")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let shown = scratch.show("latest");
    let outcome = &shown["outcomes"][0];
    let stdout = outcome["stdout"].as_str().unwrap();
    assert_eq!(
        stdout.matches("refused ").count(),
        4,
        "every network attempt failed: {stdout}"
    );
    assert!(!stdout.contains("reached"), "{stdout}");
    assert_eq!(
        outcome["output"]["keys_seen"], 0,
        "no key in the agent's environment"
    );
    assert_eq!(
        outcome["status"], "failed",
        "a violation fails the issue: {outcome}"
    );

    let violations: Vec<&serde_json::Value> = shown["boundary_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"] == "violation")
        .collect();
    let database = violations
        .iter()
        .find(|event| event["detail"]["sqlstate"] == "42501")
        .expect("the write is recorded");
    assert_eq!(database["table"], "items");
    assert_eq!(
        database["detail"]["statement"],
        "UPDATE items SET name = 'stolen'"
    );
    let network = violations
        .iter()
        .find(|event| event["detail"]["network"] == true)
        .expect("the network attempts are recorded");
    assert!(
        network["detail"]["error"]
            .as_str()
            .unwrap()
            .contains("refused")
    );
    assert_eq!(
        docker_resources(shown["run"]["id"].as_str().unwrap()),
        Vec::<String>::new()
    );
}
