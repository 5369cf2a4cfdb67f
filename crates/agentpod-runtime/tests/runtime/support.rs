//! Shared helpers: unique run ids, superuser queries, waiting on conditions, and a child
//! process that owns a pod and exits without shutting it down.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use agentpod_runtime::{PodRequest, PostgresEndpoint, RuntimeKind, detect_runtime};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

pub(crate) const IMAGE: &str = "postgres:15";

const HELPER_RUNTIME: &str = "AGENTPOD_TEST_HELPER_RUNTIME";
const HELPER_RUN_ID: &str = "AGENTPOD_TEST_HELPER_RUN_ID";
const HELPER_LINE: &str = "AGENTPOD_TEST_POD";

pub(crate) fn unique_run_id(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    format!("t-{test}-{}-{nanos:x}", std::process::id())
}

pub(crate) fn request(run_id: &str, pod_index: usize) -> PodRequest {
    PodRequest {
        run_id: run_id.to_string(),
        pod_index,
        image: IMAGE.to_string(),
    }
}

pub(crate) async fn query_string(
    endpoint: &PostgresEndpoint,
    sql: &'static str,
) -> Result<String, sqlx::Error> {
    let mut connection = PgConnection::connect(&endpoint.admin_url("postgres")).await?;
    let value: String = sqlx::query_scalar(sql).fetch_one(&mut connection).await?;
    connection.close().await?;
    Ok(value)
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
pub(crate) async fn eventually<Condition, Output>(
    timeout: Duration,
    mut condition: Condition,
) -> bool
where
    Condition: FnMut() -> Output,
    Output: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the helper process reported about the pod it started before dying.
#[derive(Debug)]
pub(crate) struct OrphanedPod {
    pub(crate) id: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) owner_pid: u32,
}

/// Runs this test binary again as a helper that starts one pod, reports it and exits without
/// shutting it down or dropping it, like a killed agentpod.
pub(crate) fn start_pod_in_dying_process(kind: RuntimeKind, run_id: &str) -> OrphanedPod {
    let executable = std::env::current_exe().expect("path of the test binary");
    let output = Command::new(executable)
        .args([
            "--exact",
            "support::helper_starts_a_pod_and_exits",
            "--include-ignored",
            "--nocapture",
        ])
        .env(HELPER_RUNTIME, kind.to_string())
        .env(HELPER_RUN_ID, run_id)
        .output()
        .expect("run the helper process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(HELPER_LINE))
        .unwrap_or_else(|| {
            panic!(
                "helper reported no pod; stdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields.len(), 4, "helper line: {line}");
    OrphanedPod {
        id: fields[0].to_string(),
        host: fields[1].to_string(),
        port: fields[2].parse().expect("port"),
        owner_pid: fields[3].parse().expect("pid"),
    }
}

/// The helper itself; does nothing unless started by `start_pod_in_dying_process`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs only as the helper process of the gc tests"]
async fn helper_starts_a_pod_and_exits() {
    let (Ok(kind), Ok(run_id)) = (std::env::var(HELPER_RUNTIME), std::env::var(HELPER_RUN_ID))
    else {
        return;
    };
    let kind: RuntimeKind = kind.parse().expect("runtime kind");
    let runtime = detect_runtime(Some(kind)).await.expect("runtime");
    let pod = runtime
        .start_pod(&request(&run_id, 1))
        .await
        .expect("start pod");
    let endpoint = pod.postgres();
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "{HELPER_LINE} {} {} {} {}",
        pod.id(),
        endpoint.host,
        endpoint.port,
        std::process::id()
    );
    let _ = stdout.flush();
    // Neither shutdown nor Drop: the process just ends, as if killed.
    #[expect(
        clippy::mem_forget,
        reason = "the pod must be left as a killed process leaves it"
    )]
    std::mem::forget(pod);
    std::process::exit(0);
}
