//! Faults from outside: a pod's Postgres container killed in the middle of a run. The issue it
//! took down is recorded as an infrastructure error, the pod is replaced, the run goes on, and
//! nothing is left behind.

use std::process::Command;

use agentpod_end_to_end::{RunningAgentpod, Scratch, docker_resources};

#[test]
fn a_killed_postgres_container_is_an_infrastructure_error_and_the_pod_is_replaced() {
    let scratch = Scratch::new();
    let mut running = RunningAgentpod::start(scratch.agentpod(&[
        "run",
        "tests/pods/slow.yaml",
        "--runtime",
        "docker",
        "--pods",
        "1",
        "--sample",
        "5",
    ]));
    running
        .wait_for_line("[1/")
        .expect("a first issue finishes");
    let run_id = running.run_id.clone();

    // The slow agent sleeps a second per issue: kill the pod's Postgres under the second one.
    let containers = Command::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=dev.agentpod.run={run_id}"),
        ])
        .output()
        .unwrap();
    let ids: Vec<String> = String::from_utf8_lossy(&containers.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 1, "one pod, one Postgres container: {ids:?}");
    assert!(
        Command::new("docker")
            .args(["kill", &ids[0]])
            .output()
            .unwrap()
            .status
            .success()
    );

    let rest: Vec<String> = running.lines.by_ref().collect();
    let status = running.child.wait().unwrap();
    assert!(
        status.success(),
        "the run carries on and finishes: {rest:?}"
    );
    assert!(
        rest.iter().any(|line| line.contains("lost its Postgres")),
        "{rest:?}"
    );

    let shown = scratch.show(&run_id);
    let outcomes = shown["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 5, "every issue has an outcome");
    let infrastructure: Vec<_> = outcomes
        .iter()
        .filter(|outcome| outcome["status"] == "infrastructure_error")
        .collect();
    assert_eq!(infrastructure.len(), 1, "{outcomes:#?}");
    assert!(
        infrastructure[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("infrastructure: ")
    );
    let passed = outcomes
        .iter()
        .filter(|outcome| outcome["status"] == "passed")
        .count();
    assert_eq!(passed, 4, "the replacement pod served the rest");
    assert_eq!(
        shown["summary"]["pass_rate"], 1.0,
        "the pod's failure does not count against the agent"
    );
    assert_eq!(docker_resources(&run_id), Vec::<String>::new());

    // The lost issue is done again by --resume.
    let resumed = scratch.run(&["run", "--resume", &run_id, "--no-progress"]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(scratch.show(&run_id)["summary"]["issues"]["passed"], 5);
}

#[test]
fn no_docker_engine_is_a_clear_setup_error_that_suggests_the_local_runtime() {
    let scratch = Scratch::new();
    let output = scratch
        .agentpod(&[
            "run",
            "pods/support-triage.yaml",
            "--runtime",
            "docker",
            "--no-progress",
        ])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("--runtime local"),
        "the error suggests the local runtime: {stderr}"
    );
}
