//! The local runtime: host binaries, a temporary data directory, cleanup on shutdown and drop.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentpod_runtime::{LocalRuntime, Runtime, RuntimeKind};
use sqlx::Connection;

use crate::support::{query_string, request, unique_run_id};

fn pod_directory(pod_id: &str) -> PathBuf {
    std::env::temp_dir().join("agentpod-pods").join(pod_id)
}

#[tokio::test]
async fn a_local_pod_serves_postgres_and_shutdown_removes_it() {
    let runtime = LocalRuntime::detect().expect("local postgres binaries");
    assert_eq!(runtime.kind(), RuntimeKind::Local);
    let run_id = unique_run_id("local-basic");
    let pod = runtime
        .start_pod(&request(&run_id, 1))
        .await
        .expect("start local pod");
    let directory = pod_directory(pod.id());
    assert!(pod.id().starts_with("ap-t-local-basic-"), "{}", pod.id());
    assert!(directory.join("agentpod-pod.json").is_file());
    assert_eq!(pod.postgres().host, "127.0.0.1");

    let version = query_string(pod.postgres(), "SELECT version()").await;
    let fsync = query_string(pod.postgres(), "SELECT current_setting('fsync')").await;
    let superuser = query_string(
        pod.postgres(),
        "SELECT rolname::text FROM pg_roles WHERE rolsuper AND rolname = current_user",
    )
    .await;
    let wrong_password = sqlx::postgres::PgConnection::connect_with(
        &pod.postgres()
            .admin_url("postgres")
            .replace(&pod.postgres().password, "wrong")
            .parse::<sqlx::postgres::PgConnectOptions>()
            .expect("url"),
    )
    .await;
    pod.shutdown().await.expect("shutdown");

    assert!(version.expect("version").starts_with("PostgreSQL"));
    assert_eq!(fsync.expect("fsync"), "off");
    assert_eq!(superuser.expect("superuser"), "postgres");
    assert!(
        wrong_password.is_err(),
        "password authentication must be on"
    );
    assert!(
        !directory.exists(),
        "pod directory left behind: {}",
        directory.display()
    );
}

#[tokio::test]
async fn dropping_a_local_pod_stops_postgres_and_removes_its_directory() {
    let runtime = LocalRuntime::detect().expect("local postgres binaries");
    let pod = runtime
        .start_pod(&request(&unique_run_id("local-drop"), 1))
        .await
        .expect("start local pod");
    let directory = pod_directory(pod.id());
    let port = pod.postgres().port;
    drop(pod);
    assert!(!directory.exists(), "pod directory left behind");
    let refused = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert!(refused.is_err(), "postgres still listens on {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_local_pods_get_distinct_ports_and_directories() {
    let runtime = LocalRuntime::detect().expect("local postgres binaries");
    let run_id = unique_run_id("local-parallel");
    let started = Instant::now();
    let requests = [
        request(&run_id, 1),
        request(&run_id, 2),
        request(&run_id, 3),
    ];
    let (first, second, third) = tokio::join!(
        runtime.start_pod(&requests[0]),
        runtime.start_pod(&requests[1]),
        runtime.start_pod(&requests[2]),
    );
    let elapsed = started.elapsed();
    let pods = [
        first.expect("pod 1"),
        second.expect("pod 2"),
        third.expect("pod 3"),
    ];
    let ports: std::collections::HashSet<u16> =
        pods.iter().map(|pod| pod.postgres().port).collect();
    let ids: std::collections::HashSet<String> =
        pods.iter().map(|pod| pod.id().to_string()).collect();
    let mut answers = Vec::new();
    for pod in &pods {
        answers.push(query_string(pod.postgres(), "SELECT 'ok'").await);
    }
    for pod in pods {
        pod.shutdown().await.expect("shutdown");
    }
    assert_eq!(ports.len(), 3);
    assert_eq!(ids.len(), 3);
    assert!(
        answers
            .iter()
            .all(|answer| answer.as_deref().ok() == Some("ok")),
        "{answers:?}"
    );
    assert!(
        elapsed < Duration::from_secs(60),
        "three local pods took {elapsed:?}"
    );
}

/// Prints the median `start_pod` time; run with `--ignored --nocapture`.
#[tokio::test]
#[ignore = "measurement, not a check"]
async fn measure_local_start_time() {
    let runtime = LocalRuntime::detect().expect("local postgres binaries");
    let mut times = Vec::new();
    for index in 0..5 {
        let started = Instant::now();
        let pod = runtime
            .start_pod(&request(&unique_run_id("local-measure"), index))
            .await
            .expect("start local pod");
        times.push(started.elapsed());
        pod.shutdown().await.expect("shutdown");
    }
    times.sort();
    eprintln!(
        "local start_pod times: {times:?}; median {:?}",
        times[times.len() / 2]
    );
}

#[tokio::test]
async fn a_cancelled_local_start_leaves_nothing_behind() {
    let runtime = LocalRuntime::detect().expect("local postgres binaries");
    let run_id = unique_run_id("local-cancel");
    // Lands inside initdb, which takes most of a start.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(300),
        runtime.start_pod(&request(&run_id, 1)),
    )
    .await;
    if let Ok(Ok(pod)) = cancelled {
        pod.shutdown().await.expect("shutdown");
        panic!("the pod started before the timeout; the test needs a shorter one");
    }
    // Pod ids keep at most 24 characters of the run id.
    let prefix = format!(
        "ap-{}",
        run_id[..run_id.len().min(24)].trim_end_matches('-')
    );
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir().join("agentpod-pods"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
                .map(|entry| entry.path())
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
