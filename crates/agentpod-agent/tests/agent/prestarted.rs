//! A sandboxed agent started ahead of its issue (`PrestartedAgent`): the same agent, the same
//! environment and the same sandbox as a cold start, its time counted from its issue's start,
//! and nothing left when it is dropped unused. Real bubblewrap sandboxes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agentpod_agent::{
    AgentExit, AgentInvocation, AgentOutput, HostSandbox, PrestartedAgent, SandboxUser, run_agent,
};
use tokio_util::sync::CancellationToken;

use crate::support::OUTPUT_LIMIT;

/// An agent's directory as the runner lays it out (issue file, output directory, working
/// directory), its script readable beside it, and the invocation and sandbox for it.
struct SandboxedAgent {
    _directory: tempfile::TempDir,
    invocation: AgentInvocation,
    sandbox: HostSandbox,
}

impl SandboxedAgent {
    fn new(body: &str, env: &[(&str, &str)]) -> SandboxedAgent {
        // Not under /tmp: the sandbox has a /tmp of its own.
        let directory =
            tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temporary directory");
        let root = directory.path();
        std::fs::set_permissions(root, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("open the directory to the sandbox's user");
        let program = root.join("program");
        std::fs::create_dir(&program).expect("program directory");
        let script = program.join("agent.sh");
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).expect("agent script");
        for name in ["work", "output"] {
            std::fs::create_dir(root.join(name)).expect("agent directory");
        }
        std::fs::write(root.join("issue.json"), b"").expect("issue file");
        let output_path = root.join("output").join("output.json");
        let mut variables: Vec<(String, String)> = env
            .iter()
            .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
            .collect();
        variables.push(("AGENTPOD_OUTPUT".into(), output_path.display().to_string()));
        let invocation = AgentInvocation {
            command: vec!["/bin/sh".into(), script.display().to_string()],
            working_dir: root.join("work"),
            env: variables,
            timeout: Duration::from_secs(30),
            output_limit: OUTPUT_LIMIT,
            output_path,
            sandbox: None,
        };
        let sandbox = HostSandbox {
            read_only: vec![program],
            hidden: Vec::new(),
            writable: vec![root.join("output")],
            scratch: vec![root.join("work")],
            scratch_bytes: 8 << 20,
            issue_file: root.join("issue.json"),
            user: SandboxUser::for_issue(),
            tmp_bytes: 8 << 20,
            max_processes: 64,
            memory_bytes: 256 << 20,
            cpus: 1.0,
        };
        SandboxedAgent {
            _directory: directory,
            invocation,
            sandbox,
        }
    }

    fn cold(&self) -> AgentInvocation {
        AgentInvocation {
            sandbox: Some(self.sandbox.clone()),
            ..self.invocation.clone()
        }
    }

    fn prestart(&self) -> PrestartedAgent {
        PrestartedAgent::start(
            &self.sandbox,
            &self.invocation.command,
            &self.invocation.working_dir,
        )
        .expect("start the sandbox ahead")
    }

    fn issue_file(&self) -> PathBuf {
        self.sandbox.issue_file.clone()
    }
}

fn environment(stdout: &str) -> Vec<String> {
    let mut lines: Vec<String> = stdout.split('\0').map(str::to_string).collect();
    lines.retain(|line| !line.is_empty());
    lines.sort();
    lines
}

#[tokio::test]
async fn a_prestarted_agent_gets_what_a_cold_start_gives() {
    // Values a shell would read as syntax if they were not quoted one word each.
    let tricky = "it's \"quoted\" $HOME `true` ; exit 3 \\\nsecond line '' end";
    let body = "env -0; printf 'issue: %s\\n' \"$(cat \"$ISSUE_FILE\")\" >&2; pwd >&2; id -u >&2";
    let agent = SandboxedAgent::new(body, &[("TRICKY", tricky), ("EMPTY", ""), ("A=B", "c")]);
    let issue_file = agent.issue_file().display().to_string();
    let mut invocation = agent.cold();
    invocation
        .env
        .push(("ISSUE_FILE".into(), issue_file.clone()));

    std::fs::write(agent.issue_file(), b"{\"id\": \"cold\"}").expect("issue");
    let cold = run_agent(&invocation, CancellationToken::new()).await;
    assert_eq!(
        cold.exit,
        AgentExit::Exited { code: 0 },
        "{}",
        cold.stderr.text
    );

    let prestarted = agent.prestart();
    // The issue is filled in after the sandbox started, in place, as the runner does.
    std::fs::write(agent.issue_file(), b"{\"id\": \"warm\"}").expect("issue");
    let warm = prestarted.run(&invocation, CancellationToken::new()).await;
    assert_eq!(
        warm.exit,
        AgentExit::Exited { code: 0 },
        "{}",
        warm.stderr.text
    );

    let cold_environment = environment(&cold.stdout.text);
    assert!(
        cold_environment.contains(&format!("TRICKY={tricky}")),
        "{cold_environment:?}"
    );
    assert_eq!(environment(&warm.stdout.text), cold_environment);
    let expected_user = agent
        .sandbox
        .user
        .map_or(nix::unistd::getuid().as_raw(), |user| user.uid)
        .to_string();
    let cold_lines: Vec<&str> = cold.stderr.text.lines().collect();
    let warm_lines: Vec<&str> = warm.stderr.text.lines().collect();
    assert_eq!(cold_lines[0], "issue: {\"id\": \"cold\"}");
    assert_eq!(warm_lines[0], "issue: {\"id\": \"warm\"}");
    assert_eq!(cold_lines[1], warm_lines[1], "the same working directory");
    // The sandbox's own user (where agentpod can make one), as with a cold start.
    assert_eq!(cold_lines[2], expected_user);
    assert_eq!(warm_lines[2], expected_user);
}

#[tokio::test]
async fn a_prestarted_agent_writes_its_answer_and_its_time_starts_with_its_issue() {
    let agent = SandboxedAgent::new("printf '{\"answer\": 42}' > \"$AGENTPOD_OUTPUT\"", &[]);
    let prestarted = agent.prestart();
    let waited = Duration::from_millis(1500);
    tokio::time::sleep(waited).await;
    let started = Instant::now();
    let run = prestarted
        .run(&agent.cold(), CancellationToken::new())
        .await;
    assert_answered(&run, 42);
    assert!(run.duration <= started.elapsed(), "{:?}", run.duration);
    assert!(
        run.duration < waited,
        "the wait counted as the agent's: {:?}",
        run.duration
    );
}

/// A sandbox that died while it waited (bubblewrap can lose a race with a mount that appears or
/// goes under a directory it binds) never ran the agent: the agent then starts cold, and the
/// issue gets its answer instead of the dead sandbox's error.
#[tokio::test]
async fn a_sandbox_that_died_waiting_is_replaced_by_a_cold_start() {
    let agent = SandboxedAgent::new("printf '{\"answer\": 42}' > \"$AGENTPOD_OUTPUT\"", &[]);
    let prestarted = agent.prestart();
    let process = prestarted.process_id().expect("a running sandbox");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(process).expect("a pid")),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the waiting sandbox");
    wait_until_gone(process, "the sandbox outlived SIGKILL").await;
    let run = prestarted
        .run(&agent.cold(), CancellationToken::new())
        .await;
    assert_answered(&run, 42);
}

/// A sandbox says when it is set up, so that one that failed is replaced before its issue:
/// ready, it still runs its agent as before; failed to set up (here its issue file is missing,
/// which bubblewrap cannot bind), it says so, and asking again gives the same answer.
#[tokio::test]
async fn a_prestarted_sandbox_says_whether_it_set_up() {
    let agent = SandboxedAgent::new("printf '{\"answer\": 7}' > \"$AGENTPOD_OUTPUT\"", &[]);
    let mut prestarted = agent.prestart();
    assert!(prestarted.ready().await, "a sandbox that set up is ready");
    assert!(prestarted.ready().await, "and stays so until it is used");
    let run = prestarted
        .run(&agent.cold(), CancellationToken::new())
        .await;
    assert_answered(&run, 7);

    // Asked and given up on at once (the runner stops waiting once the agent before it ended):
    // the sandbox still runs its agent when its issue starts. Whether it had answered by then
    // is up to the scheduler (it usually has not: its set-up takes milliseconds), so a few
    // sandboxes are asked; each must run its agent either way.
    for answer in 8..13 {
        let agent = SandboxedAgent::new(
            &format!("printf '{{\"answer\": {answer}}}' > \"$AGENTPOD_OUTPUT\""),
            &[],
        );
        let mut prestarted = agent.prestart();
        let _given_up = tokio::time::timeout(Duration::ZERO, prestarted.ready()).await;
        let run = prestarted
            .run(&agent.cold(), CancellationToken::new())
            .await;
        assert_answered(&run, answer);
    }

    let broken = SandboxedAgent::new("exit 0", &[]);
    std::fs::remove_file(broken.issue_file()).expect("remove the issue file");
    let mut prestarted = broken.prestart();
    assert!(
        !prestarted.ready().await,
        "a sandbox that failed to set up is not ready"
    );
    assert!(!prestarted.ready().await, "nor later");
}

#[tokio::test]
async fn a_prestarted_agent_dropped_unused_leaves_no_process() {
    let agent = SandboxedAgent::new("exit 0", &[]);
    let prestarted = agent.prestart();
    let process = prestarted.process_id().expect("a running sandbox");
    assert!(is_alive(process), "the sandbox waits for its issue");
    drop(prestarted);
    wait_until_gone(process, "the sandbox outlived its drop").await;
}

/// The agent exited 0 with `{"answer": answer}`.
fn assert_answered(run: &agentpod_agent::AgentRun, answer: i64) {
    assert_eq!(
        run.exit,
        AgentExit::Exited { code: 0 },
        "{}",
        run.stderr.text
    );
    assert!(
        matches!(&run.output, AgentOutput::Valid(value) if value["answer"] == answer),
        "{:?}",
        run.output
    );
}

/// Waits up to 5 s for `process` to be gone; fails with `outlived` if it is not.
async fn wait_until_gone(process: u32, outlived: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_alive(process) {
        assert!(Instant::now() < deadline, "{outlived}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Running or sleeping: not gone, not a zombie waiting to be reaped.
fn is_alive(process: u32) -> bool {
    let stat = std::fs::read_to_string(Path::new("/proc").join(process.to_string()).join("stat"));
    match stat {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}
