//! `collect_garbage`: pods whose owner process died are removed; pods of live owners stay.

use std::time::Duration;

use agentpod_runtime::{
    DockerRuntime, GcOptions, LocalRuntime, Runtime, RuntimeKind, collect_garbage,
};

use crate::support::{
    eventually, query_string, request, start_pod_in_dying_process, unique_run_id,
};

fn port_refuses(host: &str, port: u16) -> impl std::future::Future<Output = bool> {
    let address = format!("{host}:{port}");
    async move { tokio::net::TcpStream::connect(address).await.is_err() }
}

fn container_exists(name: &str) -> bool {
    std::process::Command::new("docker")
        .args(["container", "inspect", name])
        .output()
        .map(|output| output.status.success())
        .unwrap_or(true)
}

/// Every gc sweeps Docker and local pods alike, so one test's gc would take another test's
/// orphan before that test could look at it.
async fn gc_test_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait for true");
    pid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_removes_docker_pods_of_dead_owners_and_keeps_live_ones() {
    let _serial = gc_test_lock().await;
    let run_id = unique_run_id("gc-docker");
    let orphan = start_pod_in_dying_process(RuntimeKind::Docker, &run_id);
    let runtime = DockerRuntime::connect().await.expect("docker runtime");
    let live = runtime
        .start_pod(&request(&run_id, 2))
        .await
        .expect("start live pod");
    let live_id = live.id().to_string();

    let preview = collect_garbage(GcOptions {
        all: false,
        dry_run: true,
        seeds: false,
    })
    .await;
    let orphan_still_answers = query_string(
        &agentpod_runtime::PostgresEndpoint {
            host: orphan.host.clone(),
            port: orphan.port,
            user: "postgres".to_string(),
            password: String::new(),
        },
        "SELECT 1::text",
    )
    .await;
    let collected = collect_garbage(GcOptions {
        all: false,
        dry_run: false,
        seeds: false,
    })
    .await;
    // Only inspect: once its network is gone, the orphan's address would route off this machine.
    let orphan_gone = !container_exists(&orphan.id);
    let live_answers = query_string(live.postgres(), "SELECT 'alive'").await;
    live.shutdown().await.expect("shutdown live pod");

    let preview = preview.expect("dry run");
    let collected = collected.expect("gc");
    assert!(orphan.owner_pid != std::process::id());
    assert!(preview.containers.contains(&orphan.id), "{preview:?}");
    assert!(
        preview
            .networks
            .iter()
            .any(|network| network.starts_with(&orphan.id)),
        "{preview:?}"
    );
    // The dry run removed nothing: the server still answered (with an auth error, no password).
    assert!(
        orphan_still_answers
            .as_ref()
            .err()
            .is_some_and(|error| error.to_string().contains("password")),
        "{orphan_still_answers:?}"
    );
    assert!(collected.containers.contains(&orphan.id), "{collected:?}");
    assert!(
        collected
            .networks
            .iter()
            .any(|network| network.starts_with(&orphan.id)),
        "{collected:?}"
    );
    assert!(
        !collected.containers.contains(&live_id),
        "gc removed a live pod: {collected:?}"
    );
    assert!(orphan_gone, "the orphaned container still exists");
    assert_eq!(live_answers.expect("live pod answers"), "alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_pod_dies_with_its_owner_and_gc_removes_its_directory() {
    let _serial = gc_test_lock().await;
    let orphan = start_pod_in_dying_process(RuntimeKind::Local, &unique_run_id("gc-local"));
    let directory = std::env::temp_dir().join("agentpod-pods").join(&orphan.id);
    // The parent-death signal takes the server down with its owner.
    let server_stopped = eventually(Duration::from_secs(15), || {
        port_refuses(&orphan.host, orphan.port)
    })
    .await;
    let directory_left = directory.exists();
    let report = collect_garbage(GcOptions {
        all: false,
        dry_run: false,
        seeds: false,
    })
    .await
    .expect("gc");
    assert!(server_stopped, "postgres outlived its owner");
    assert!(directory_left, "the directory stays until gc");
    assert!(report.local_pods.contains(&directory), "{report:?}");
    assert!(!directory.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_stops_a_running_local_server_whose_owner_is_gone() {
    let _serial = gc_test_lock().await;
    let runtime = LocalRuntime::detect().expect("local postgres binaries");
    let run_id = unique_run_id("gc-local-live");
    let pod = runtime
        .start_pod(&request(&run_id, 1))
        .await
        .expect("start local pod");
    let kept = runtime
        .start_pod(&request(&run_id, 2))
        .await
        .expect("start local pod");
    let directory = std::env::temp_dir().join("agentpod-pods").join(pod.id());
    let kept_directory = std::env::temp_dir().join("agentpod-pods").join(kept.id());
    // Pretend the owner died: the marker now names a process that no longer exists.
    let marker_path = directory.join("agentpod-pod.json");
    let mut marker: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&marker_path).expect("read marker"))
            .expect("parse marker");
    marker["owner_pid"] = serde_json::json!(dead_pid());
    std::fs::write(&marker_path, marker.to_string()).expect("write marker");

    let report = collect_garbage(GcOptions {
        all: false,
        dry_run: false,
        seeds: false,
    })
    .await;
    let stopped = port_refuses("127.0.0.1", pod.postgres().port).await;
    let kept_answers = query_string(kept.postgres(), "SELECT 'kept'").await;
    let shutdown_after_gc = pod.shutdown().await;
    kept.shutdown().await.expect("shutdown kept pod");

    let report = report.expect("gc");
    assert!(report.local_pods.contains(&directory), "{report:?}");
    assert!(!report.local_pods.contains(&kept_directory), "{report:?}");
    assert!(stopped, "gc left the server running");
    assert!(!directory.exists());
    assert_eq!(kept_answers.expect("kept pod answers"), "kept");
    assert!(
        shutdown_after_gc.is_ok(),
        "shutdown after gc must be a no-op: {shutdown_after_gc:?}"
    );
}

/// A rule for a bridge that no longer exists, as a killed run leaves behind.
#[tokio::test]
async fn gc_removes_firewall_rules_of_vanished_bridges() {
    let _serial = gc_test_lock().await;
    let bridge = format!("apgone{}", std::process::id() % 100_000);
    let rule = [
        "INPUT",
        "-i",
        &bridge,
        "-m",
        "comment",
        "--comment",
        "dev.agentpod.managed",
        "-j",
        "REJECT",
    ];
    let inserted = std::process::Command::new("iptables")
        .args(["-w", "-I"])
        .args(rule)
        .status()
        .expect("run iptables");
    assert!(inserted.success(), "cannot insert a test rule");
    let report = collect_garbage(GcOptions::default()).await;
    let still_there = std::process::Command::new("iptables")
        .args(["-w", "-C"])
        .args(rule)
        .status()
        .expect("run iptables")
        .success();
    if still_there {
        let _ = std::process::Command::new("iptables")
            .args(["-w", "-D"])
            .args(rule)
            .status();
    }
    let report = report.expect("gc");
    assert!(!still_there, "stale rule not removed: {report:?}");
    assert!(
        report
            .firewall_rules
            .iter()
            .any(|text| text.contains(&format!("-i {bridge} "))),
        "{report:?}"
    );
}
