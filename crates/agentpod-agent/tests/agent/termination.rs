//! Timeout and cancel: the agent's whole process group goes, and the run returns promptly.

use std::time::{Duration, Instant};

use agentpod_agent::{AgentExit, run_agent};
use tokio_util::sync::CancellationToken;

use crate::support::{KillOnDrop, ScriptAgent, assert_process_goes_away, wait_for_process_id};

#[tokio::test]
async fn hang_past_timeout_kills_the_grandchild() {
    let mut agent = ScriptAgent::new(
        r#"sleep 1000 &
echo $! > "$PID_FILE"
wait"#,
    )
    .with_pid_file();
    agent.invocation.timeout = Duration::from_secs(2);
    let started = Instant::now();
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    let grandchild = wait_for_process_id(&agent.pid_file(), Duration::from_secs(1));
    let _cleanup = KillOnDrop(grandchild);
    assert_eq!(run.exit, AgentExit::TimedOut);
    assert!(run.duration >= Duration::from_secs(2), "{:?}", run.duration);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "run took {:?}",
        started.elapsed()
    );
    assert_process_goes_away(grandchild, Duration::from_secs(5));
}

#[tokio::test]
async fn an_agent_ignoring_sigterm_is_killed() {
    // The ignored SIGTERM is inherited by the sleeper, so only SIGKILL ends either of them.
    let mut agent = ScriptAgent::new(
        r#"trap '' TERM
sleep 1000 &
echo $! > "$PID_FILE"
while true; do wait; done"#,
    )
    .with_pid_file();
    agent.invocation.timeout = Duration::from_secs(2);
    let started = Instant::now();
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    let grandchild = wait_for_process_id(&agent.pid_file(), Duration::from_secs(1));
    let _cleanup = KillOnDrop(grandchild);
    assert_eq!(run.exit, AgentExit::TimedOut);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "run took {:?}",
        started.elapsed()
    );
    assert_process_goes_away(grandchild, Duration::from_secs(5));
}

#[tokio::test]
async fn cancel_stops_the_agent_and_its_children() {
    let agent = ScriptAgent::new(
        r#"sh -c 'sleep 1000 & echo $! > "$PID_FILE.tmp"; mv "$PID_FILE.tmp" "$PID_FILE"; wait' &
wait"#,
    )
    .with_pid_file();
    let cancel = CancellationToken::new();
    let invocation = agent.invocation.clone();
    let run = tokio::spawn({
        let cancel = cancel.clone();
        async move { run_agent(&invocation, cancel).await }
    });
    let pid_file = agent.pid_file();
    let great_grandchild = tokio::task::spawn_blocking(move || {
        wait_for_process_id(&pid_file, Duration::from_secs(10))
    })
    .await
    .expect("wait for the agent's process id");
    let _cleanup = KillOnDrop(great_grandchild);
    let cancelled_at = Instant::now();
    cancel.cancel();
    let run = run.await.expect("run task");
    assert_eq!(run.exit, AgentExit::Cancelled);
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(5),
        "cancel took {:?}",
        cancelled_at.elapsed()
    );
    assert_process_goes_away(great_grandchild, Duration::from_secs(5));
}
