//! Faults from outside: a pod's Postgres container killed in the middle of a run. The pod is
//! replaced and the issue it took down runs again on the new pod; a second pod lost under the
//! same issue makes that issue `errored` (an agent that brings its pod down is not protected by
//! calling it infrastructure). The run goes on, and nothing is left behind.

use std::process::Command;

use agentpod_end_to_end::{RunningAgentpod, Scratch, docker_resources};

#[test]
fn a_killed_postgres_container_is_replaced_and_its_issue_runs_again() {
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
    let ids = postgres_containers(&run_id);
    assert_eq!(ids.len(), 1, "one pod, one Postgres container: {ids:?}");
    kill(&ids[0]);

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
    let passed = outcomes
        .iter()
        .filter(|outcome| outcome["status"] == "passed")
        .count();
    assert_eq!(
        passed, 5,
        "the replacement pod ran the lost issue again, and the rest: {outcomes:#?}"
    );
    assert_eq!(shown["summary"]["pass_rate"], 1.0);
    assert_eq!(docker_resources(&run_id), Vec::<String>::new());
}

#[test]
fn an_issue_that_loses_two_pods_is_errored() {
    let scratch = Scratch::new();
    let mut running = RunningAgentpod::start(scratch.agentpod(&[
        "run",
        "tests/pods/doomed.yaml",
        "--runtime",
        "docker",
    ]));
    let run_id = running.run_id.clone();
    // While the agent runs, a `sleep 8.4711` of its own is on the host (see the issue's marker).
    let sleeping = || process_running(b"sleep\08.4711\0");
    let mut killed = Vec::new();
    for _attempt in 1..=2 {
        wait_until(sleeping);
        let ids = postgres_containers(&run_id);
        assert_eq!(ids.len(), 1, "one pod at a time: {ids:?}");
        assert!(
            !killed.contains(&ids[0]),
            "a new pod for the second attempt"
        );
        kill(&ids[0]);
        killed.push(ids[0].clone());
        wait_until(|| !sleeping());
    }
    let rest: Vec<String> = running.lines.by_ref().collect();
    let status = running.child.wait().unwrap();
    assert!(status.success(), "the run finishes: {rest:?}");
    let shown = scratch.show(&run_id);
    let outcomes = shown["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 1, "{outcomes:#?}");
    assert_eq!(outcomes[0]["status"], "errored", "{}", outcomes[0]);
    assert!(
        outcomes[0]["reason"]
            .as_str()
            .unwrap()
            .contains("on two pods in a row"),
        "{}",
        outcomes[0]
    );
    assert_eq!(docker_resources(&run_id), Vec::<String>::new());
}

/// Whether a live process on the host has this command line (as in `/proc/PID/cmdline`).
fn process_running(command_line: &[u8]) -> bool {
    !agentpod_end_to_end::processes_end_soon_within(
        std::str::from_utf8(command_line).unwrap(),
        std::time::Duration::ZERO,
    )
}

fn postgres_containers(run_id: &str) -> Vec<String> {
    let containers = Command::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=dev.agentpod.run={run_id}"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&containers.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn kill(container: &str) {
    assert!(
        Command::new("docker")
            .args(["kill", container])
            .output()
            .unwrap()
            .status
            .success()
    );
}

/// Waits (up to two minutes) on a condition the run makes true.
fn wait_until(condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "the condition did not come true"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
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
