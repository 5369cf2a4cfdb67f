//! Stopping a run from outside: SIGINT drains and leaves nothing behind; after SIGKILL nothing
//! can clean up in-process, so `agentpod gc` removes what the run left.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use agentpod_end_to_end::{Scratch, docker_resources, local_pod_directories};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Starts a run of the slow pod and returns the child, its run id, and a channel of stderr lines.
fn start_slow_run(scratch: &Scratch, runtime: &str) -> (Child, String, mpsc::Receiver<String>) {
    let mut child = scratch
        .agentpod(&[
            "run",
            "tests/pods/slow.yaml",
            "--runtime",
            runtime,
            "--pods",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (sender, receiver) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let first = receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("agentpod announces its run");
    let run_id = first
        .strip_prefix("run ")
        .and_then(|rest| rest.split(':').next())
        .expect("`run <id>: ...`")
        .to_string();
    (child, run_id, receiver)
}

/// Waits for a stderr line satisfying `condition`, with a deadline.
fn wait_for_line(receiver: &mpsc::Receiver<String>, condition: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left) {
            Ok(line) if condition(&line) => return line,
            Ok(_) => continue,
            Err(error) => panic!("no matching line before the deadline: {error}"),
        }
    }
}

fn wait_with_deadline(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "agentpod did not exit after the signal"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigint_drains_keeps_results_and_leaves_nothing_on_docker() {
    let scratch = Scratch::new();
    let (mut child, run_id, lines) = start_slow_run(&scratch, "docker");
    wait_for_line(&lines, |line| line.starts_with("[ 2/"));
    assert!(
        !docker_resources(&run_id).is_empty(),
        "the run's pods exist while it runs"
    );

    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let status = wait_with_deadline(&mut child);
    assert_eq!(status.code(), Some(130), "interrupted runs exit with 130");
    assert_eq!(
        docker_resources(&run_id),
        Vec::<String>::new(),
        "SIGINT left docker resources behind"
    );

    let shown = scratch.show(&run_id);
    assert_eq!(shown["run"]["status"], "interrupted");
    let issues = &shown["summary"]["issues"];
    assert!(
        issues["passed"].as_u64().unwrap() >= 2,
        "finished issues are kept: {issues}"
    );
    assert!(
        issues["not_run"].as_u64().unwrap() > 0,
        "the rest is recorded as not run: {issues}"
    );
}

#[test]
fn after_sigkill_gc_removes_what_the_docker_run_left() {
    let scratch = Scratch::new();
    let (mut child, run_id, lines) = start_slow_run(&scratch, "docker");
    wait_for_line(&lines, |line| {
        line.starts_with("pod ") && line.contains("ready")
    });

    child.kill().unwrap();
    child.wait().unwrap(); // reaped, so its pid is really gone
    let left = docker_resources(&run_id);
    assert!(
        left.iter()
            .any(|resource| resource.starts_with("container")),
        "SIGKILL leaves the pods: {left:?}"
    );
    assert!(
        left.iter().any(|resource| resource.starts_with("network")),
        "{left:?}"
    );

    let gc = scratch.run(&["gc"]);
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    let gc_output = String::from_utf8_lossy(&gc.stdout);
    assert!(gc_output.contains("removed container"), "{gc_output}");
    assert_eq!(
        docker_resources(&run_id),
        Vec::<String>::new(),
        "gc left: {gc_output}"
    );
}

#[test]
fn after_sigkill_gc_removes_what_the_local_run_left() {
    let scratch = Scratch::new();
    let (mut child, run_id, lines) = start_slow_run(&scratch, "local");
    wait_for_line(&lines, |line| {
        line.starts_with("pod ") && line.contains("ready")
    });

    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !local_pod_directories(&run_id).is_empty(),
        "SIGKILL leaves the local pods' directories"
    );

    let gc = scratch.run(&["gc"]);
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    assert_eq!(
        local_pod_directories(&run_id),
        Vec::<std::path::PathBuf>::new()
    );
}
