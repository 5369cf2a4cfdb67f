//! Output caps: a chatty agent neither blocks nor grows our memory.

use std::time::{Duration, Instant};

use agentpod_agent::{AgentExit, run_agent};
use tokio_util::sync::CancellationToken;

use crate::support::{KillOnDrop, OUTPUT_LIMIT, ScriptAgent, wait_for_process_id};

#[tokio::test]
async fn five_megabytes_on_both_streams_are_counted_and_capped() {
    // Both streams at once: a runner reading them one after the other would deadlock here.
    let agent = ScriptAgent::new(
        "head -c 5000000 /dev/zero | tr '\\0' 'e' >&2 &
head -c 5000000 /dev/zero | tr '\\0' 'o'
wait",
    );
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    assert_eq!(run.exit, AgentExit::Exited { code: 0 });
    for (captured, letter) in [(&run.stdout, 'o'), (&run.stderr, 'e')] {
        assert!(captured.truncated);
        assert_eq!(captured.total_bytes, 5_000_000);
        assert_eq!(captured.text.len(), OUTPUT_LIMIT);
        assert!(captured.text.chars().all(|character| character == letter));
    }
}

#[tokio::test]
async fn an_escaped_process_holding_stdout_does_not_block_the_run() {
    // `setsid` takes the sleeper out of the agent's process group, so only the bounded drain
    // gets the run past its still-open stdout.
    let agent = ScriptAgent::new(
        r#"setsid sh -c 'echo $$ > "$PID_FILE.tmp"; mv "$PID_FILE.tmp" "$PID_FILE"; exec sleep 60' &
# Exit only once the sleeper has left the group, or the group kill at exit would catch it.
until [ -s "$PID_FILE" ]; do sleep 0.01; done
echo done"#,
    )
    .with_pid_file();
    let started = Instant::now();
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    let _escapee = KillOnDrop(wait_for_process_id(
        &agent.pid_file(),
        Duration::from_secs(10),
    ));
    assert_eq!(run.exit, AgentExit::Exited { code: 0 });
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "run took {:?}",
        started.elapsed()
    );
    assert_eq!(run.stdout.text, "done\n");
}
