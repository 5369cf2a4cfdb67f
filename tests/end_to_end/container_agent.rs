//! The agent as a container image: the same demo issues, the baseline agent started as
//! `agentpod/baseline-agent:local` on each pod's network, graded like a host agent, and nothing
//! left behind (agent containers carry the pod's labels).

use std::process::Command;

use agentpod_end_to_end::{Scratch, docker_resources, repo_root};

#[test]
fn an_image_agent_is_graded_like_a_host_agent_and_leaves_nothing() {
    let built = Command::new(repo_root().join("scripts/build-agent-image")).status().expect("the script runs");
    assert!(built.success(), "scripts/build-agent-image failed");

    let scratch = Scratch::new();
    let output = scratch.run(&["run", "tests/pods/container-agent.yaml", "--runtime", "docker", "--no-progress"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    let shown = scratch.show("latest");
    let run_id = shown["run"]["id"].as_str().unwrap();
    let outcomes = shown["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 8);
    for outcome in outcomes {
        assert_ne!(outcome["status"], "errored", "the containerised agent answered: {outcome}");
    }
    assert!(shown["summary"]["issues"]["passed"].as_u64().unwrap() > 0);
    // The agent wrote its notes through the pod network, as the boundary allows.
    assert!(shown["summary"]["boundary"]["changes"].as_u64().unwrap() > 0, "{}", shown["summary"]);
    assert_eq!(docker_resources(run_id), Vec::<String>::new());
}

#[test]
fn an_image_agent_needs_the_docker_runtime() {
    let scratch = Scratch::new();
    let output = scratch.run(&["run", "tests/pods/container-agent.yaml", "--runtime", "local", "--no-progress"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs the docker runtime"));
}
