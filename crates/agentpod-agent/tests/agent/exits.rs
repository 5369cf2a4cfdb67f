//! How the agent ended: by itself, with a code, by a signal, or not at all.

use agentpod_agent::{AgentExit, AgentOutput, run_agent};
use tokio_util::sync::CancellationToken;

use crate::support::ScriptAgent;

#[tokio::test]
async fn normal_answer_is_recorded() {
    let agent = ScriptAgent::new(
        r#"echo "thinking"
echo "a warning" >&2
printf '{"category": "billing", "priority": "high"}' > "$AGENTPOD_OUTPUT""#,
    );
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    assert_eq!(run.exit, AgentExit::Exited { code: 0 });
    assert_eq!(
        run.output,
        AgentOutput::Valid(serde_json::json!({"category": "billing", "priority": "high"}))
    );
    assert_eq!(run.stdout.text, "thinking\n");
    assert_eq!(run.stdout.total_bytes, 9);
    assert!(!run.stdout.truncated);
    assert_eq!(run.stderr.text, "a warning\n");
}

#[tokio::test]
async fn non_zero_exit_keeps_the_answer() {
    let agent = ScriptAgent::new(
        r#"printf '{"category": "bug"}' > "$AGENTPOD_OUTPUT"
exit 3"#,
    );
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    assert_eq!(run.exit, AgentExit::Exited { code: 3 });
    assert_eq!(
        run.output,
        AgentOutput::Valid(serde_json::json!({"category": "bug"}))
    );
}

#[tokio::test]
async fn crash_by_signal_is_signaled() {
    let agent = ScriptAgent::new("echo before; kill -SEGV $$; echo after");
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    assert_eq!(run.exit, AgentExit::Signaled { signal: 11 });
    assert_eq!(run.stdout.text, "before\n");
    assert_eq!(run.output, AgentOutput::Missing);
}

#[tokio::test]
async fn missing_program_fails_to_start() {
    let mut agent = ScriptAgent::new("");
    agent.invocation.command = vec!["/nonexistent/agentpod-test-agent".to_owned()];
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    let AgentExit::FailedToStart { message } = &run.exit else {
        panic!("expected a failure to start, got {:?}", run.exit);
    };
    assert!(
        message.starts_with("cannot start agent program `/nonexistent/agentpod-test-agent`"),
        "{message}"
    );
    assert_eq!(run.output, AgentOutput::Missing);
}

#[tokio::test]
async fn empty_command_fails_to_start() {
    let mut agent = ScriptAgent::new("");
    agent.invocation.command = Vec::new();
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    assert_eq!(
        run.exit,
        AgentExit::FailedToStart {
            message: "agent command is empty".to_owned()
        }
    );
}

#[tokio::test]
async fn missing_working_directory_fails_to_start() {
    let mut agent = ScriptAgent::new("");
    agent.invocation.working_dir = agent.path("absent");
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    let AgentExit::FailedToStart { message } = &run.exit else {
        panic!("expected a failure to start, got {:?}", run.exit);
    };
    assert!(message.starts_with("working directory "), "{message}");
}
