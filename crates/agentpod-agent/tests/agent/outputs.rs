//! The agent's answer file: present, absent, malformed, stale.

use agentpod_agent::{AgentExit, AgentOutput, run_agent};
use tokio_util::sync::CancellationToken;

use crate::support::ScriptAgent;

#[tokio::test]
async fn no_output_file_is_missing() {
    let agent = ScriptAgent::new("echo 'I forgot to answer'");
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    assert_eq!(run.exit, AgentExit::Exited { code: 0 });
    assert_eq!(run.output, AgentOutput::Missing);
}

#[tokio::test]
async fn malformed_output_names_the_position() {
    let agent = ScriptAgent::new(r#"printf '{"category": ' > "$AGENTPOD_OUTPUT""#);
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    let AgentOutput::Malformed { message } = &run.output else {
        panic!("expected malformed output, got {:?}", run.output);
    };
    assert!(message.starts_with("output is not valid JSON"), "{message}");
    assert!(message.contains("line 1 column 13"), "{message}");
}

#[tokio::test]
async fn a_json_string_is_not_an_answer() {
    let agent = ScriptAgent::new(r#"printf '"billing"' > "$AGENTPOD_OUTPUT""#);
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    assert_eq!(
        run.output,
        AgentOutput::Malformed {
            message: "output is a JSON string, expected an object".to_owned()
        }
    );
}

#[tokio::test]
async fn a_stale_answer_is_not_taken_for_this_run() {
    let agent = ScriptAgent::new("true");
    std::fs::write(&agent.invocation.output_path, r#"{"category": "stale"}"#)
        .expect("write stale output");
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    assert_eq!(run.output, AgentOutput::Missing);
}
