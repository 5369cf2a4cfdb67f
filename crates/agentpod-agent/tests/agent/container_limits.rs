//! How a containerised agent ends: by itself, by timeout, by cancel, by being dropped, or by
//! hitting its process, memory or output limits; and that its container is gone afterwards.

use std::time::Duration;

use agentpod_agent::{AgentExit, AgentOutput};
use tokio_util::sync::CancellationToken;

use crate::container_support::{
    ContainerAgent, OUTPUT_LIMIT, agent_containers_of_run, reported, wait_for_file,
};

#[tokio::test]
async fn an_exit_code_is_recorded_and_the_container_removed() {
    let agent = ContainerAgent::bash("exit", "echo failing >&2; exit 3").await;
    let run = agent.run().await;
    let left = agent_containers_of_run(&agent.run_id).await;
    agent.finish().await;

    assert_eq!(run.exit, AgentExit::Exited { code: 3 });
    assert_eq!(run.stderr.text, "failing\n");
    assert_eq!(run.output, AgentOutput::Missing);
    assert!(left.is_empty(), "agent container left: {left:?}");
}

#[tokio::test]
async fn a_timeout_kills_the_container() {
    let mut agent = ContainerAgent::bash("timeout", "echo started; exec sleep 600").await;
    agent.invocation.timeout = Duration::from_secs(2);
    let run = agent.run().await;
    let left = agent_containers_of_run(&agent.run_id).await;
    agent.finish().await;

    assert_eq!(run.exit, AgentExit::TimedOut);
    assert_eq!(run.stdout.text, "started\n");
    assert!(run.duration < Duration::from_secs(30), "{:?}", run.duration);
    assert!(left.is_empty(), "agent container left: {left:?}");
}

#[tokio::test]
async fn a_cancel_stops_the_container() {
    let agent =
        ContainerAgent::bash("cancel", "touch /agentpod/output/started; exec sleep 600").await;
    let cancel = CancellationToken::new();
    let started = agent.output_file("started");
    let canceller = {
        let cancel = cancel.clone();
        async move {
            wait_for_file(&started, Duration::from_secs(30)).await;
            cancel.cancel();
        }
    };
    let (launched, ()) = tokio::join!(agent.launch(cancel), canceller);
    let run = launched.run;
    let left = agent_containers_of_run(&agent.run_id).await;
    agent.finish().await;

    assert_eq!(run.exit, AgentExit::Cancelled);
    assert!(left.is_empty(), "agent container left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_run_removes_the_container() {
    let agent =
        ContainerAgent::bash("drop", "touch /agentpod/output/started; exec sleep 600").await;
    let started = agent.output_file("started");
    let abandoned = tokio::select! {
        _ = agent.launch(CancellationToken::new()) => false,
        () = wait_for_file(&started, Duration::from_secs(30)) => true,
    };
    let left = agent_containers_of_run(&agent.run_id).await;
    agent.finish().await;

    assert!(abandoned, "the agent ended before it was dropped");
    assert!(left.is_empty(), "agent container left: {left:?}");
}

#[tokio::test]
async fn a_fork_bomb_hits_the_process_limit() {
    // perl's fork fails at once at the limit, where bash would retry for seconds.
    let mut agent = ContainerAgent::bash(
        "forkbomb",
        r#"exec perl -e '
            my $children = 0;
            while (1) {
                my $child = fork();
                if (!defined $child) { print "children=$children\n"; exit 0 }
                if ($child == 0) { sleep 600; exit 0 }
                $children++;
                if ($children >= 10000) { print "children=$children\n"; exit 0 }
            }'"#,
    )
    .await;
    agent.invocation.pids = 32;
    let run = agent.run().await;
    agent.finish().await;

    assert_eq!(run.exit, AgentExit::Exited { code: 0 }, "{run:?}");
    let children: u32 = reported(&run.stdout.text)
        .get("children")
        .and_then(|count| count.parse().ok())
        .unwrap_or(u32::MAX);
    assert!(
        children < 32,
        "forked {children} children under a limit of 32"
    );
}

#[tokio::test]
async fn a_memory_hog_is_killed_and_recorded() {
    let mut agent = ContainerAgent::bash(
        "memory",
        r#"exec perl -e 'my @hoard; while (1) { push @hoard, "x" x (16 * 1024 * 1024) }'"#,
    )
    .await;
    agent.invocation.memory_bytes = 64 * 1024 * 1024;
    let run = agent.run().await;
    agent.finish().await;

    assert_eq!(run.exit, AgentExit::Signaled { signal: 9 }, "{run:?}");
    assert!(
        run.stderr
            .text
            .contains("exceeding its memory limit of 67108864 bytes"),
        "{:?}",
        run.stderr
    );
}

#[tokio::test]
async fn five_megabytes_of_output_are_capped() {
    let agent = ContainerAgent::bash(
        "flood",
        "head -c 5000000 /dev/zero | tr '\\0' a; echo '{}' > \"$AGENTPOD_OUTPUT\"",
    )
    .await;
    let run = agent.run().await;
    agent.finish().await;

    assert_eq!(run.exit, AgentExit::Exited { code: 0 }, "{run:?}");
    assert_eq!(run.stdout.total_bytes, 5_000_000);
    assert!(run.stdout.truncated);
    assert_eq!(run.stdout.text.len(), OUTPUT_LIMIT);
    assert_eq!(run.output, AgentOutput::Valid(serde_json::json!({})));
}

#[tokio::test]
async fn a_missing_image_names_the_build_script() {
    let agent = ContainerAgent::new("noimage", "agentpod-test-missing/agent:0", Vec::new()).await;
    let run = agent.run().await;
    agent.finish().await;

    let AgentExit::FailedToStart { message } = &run.exit else {
        panic!("expected a failure to start: {run:?}");
    };
    assert!(message.contains("scripts/build-agent-image"), "{message}");
    assert!(
        message.contains("agentpod-test-missing/agent:0"),
        "{message}"
    );
}

#[tokio::test]
async fn a_missing_program_is_an_exit_with_the_reason() {
    let agent = ContainerAgent::new(
        "noprogram",
        crate::container_support::TOOL_IMAGE,
        vec!["/no/such/agent".to_string()],
    )
    .await;
    let run = agent.run().await;
    let left = agent_containers_of_run(&agent.run_id).await;
    agent.finish().await;

    // The image's entrypoint (or the container's init) starts, then cannot run the program.
    assert_eq!(run.exit, AgentExit::Exited { code: 127 }, "{run:?}");
    assert!(
        run.stderr.text.contains("/no/such/agent"),
        "{:?}",
        run.stderr
    );
    assert!(left.is_empty(), "agent container left: {left:?}");
}
