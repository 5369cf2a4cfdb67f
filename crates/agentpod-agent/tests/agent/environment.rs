//! The agent contract's environment: nothing of the host but PATH.

use std::collections::BTreeMap;

use agentpod_agent::{AgentExit, run_agent};
use tokio_util::sync::CancellationToken;

use crate::support::ScriptAgent;

/// Variables a POSIX shell sets by itself in the environment it passes on.
const SHELL_VARIABLES: [&str; 3] = ["PWD", "SHLVL", "_"];

#[tokio::test]
async fn host_environment_is_cleared_and_contract_variables_are_set() {
    // Cargo sets this for the test process; if it leaked, the agent would see it.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let mut agent = ScriptAgent::new("env");
    agent.invocation.env.push((
        "DATABASE_URL".to_owned(),
        "postgres://agent@pod/issue".to_owned(),
    ));
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    assert_eq!(run.exit, AgentExit::Exited { code: 0 });

    let mut seen: BTreeMap<&str, &str> = run
        .stdout
        .text
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect();
    for variable in SHELL_VARIABLES {
        seen.remove(variable);
    }
    let host_path = std::env::var("PATH").expect("host PATH");
    let working_dir = agent.invocation.working_dir.display().to_string();
    let output_path = agent.invocation.output_path.display().to_string();
    let expected = BTreeMap::from([
        ("AGENTPOD_OUTPUT", output_path.as_str()),
        ("DATABASE_URL", "postgres://agent@pod/issue"),
        ("HOME", working_dir.as_str()),
        ("PATH", host_path.as_str()),
    ]);
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn agent_runs_in_its_working_directory() {
    let agent = ScriptAgent::new("pwd");
    let run = run_agent(&agent.invocation, CancellationToken::new()).await;
    let working_dir = agent
        .invocation
        .working_dir
        .canonicalize()
        .expect("canonical working directory");
    assert_eq!(
        run.stdout.text.trim_end(),
        working_dir.display().to_string()
    );
}
