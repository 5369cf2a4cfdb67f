//! A containerised agent in a real Docker pod: the pod, the issue file and output directory,
//! and the check that nothing of the test is left in Docker afterwards.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentpod_agent::{AgentLaunch, AgentRun, ContainerInvocation};
use agentpod_runtime::{DockerRuntime, LaunchedAgent, Pod, PodRequest, Runtime, labels};
use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;
use tokio_util::sync::CancellationToken;

/// Has bash, perl and psql: a capable hostile agent.
pub(crate) const TOOL_IMAGE: &str = "postgres:15";
pub(crate) const OUTPUT_LIMIT: usize = 64 * 1024;

const POLL_INTERVAL: Duration = Duration::from_millis(50);

pub(crate) fn unique_run_id(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    format!("t-{test}-{}-{nanos:x}", std::process::id())
}

pub(crate) async fn start_pod(run_id: &str, pod_index: usize) -> Box<dyn Pod> {
    let runtime = DockerRuntime::connect().await.expect("docker runtime");
    runtime
        .start_pod(&PodRequest {
            run_id: run_id.to_string(),
            pod_index,
            image: TOOL_IMAGE.to_string(),
        })
        .await
        .expect("start docker pod")
}

/// One pod and one agent invocation in it. `finish` shuts the pod down and checks that nothing
/// labelled with the test's run is left; on a failed test the pod's own guard removes it.
pub(crate) struct ContainerAgent {
    pub(crate) run_id: String,
    pub(crate) pod: Box<dyn Pod>,
    /// Holds the issue file and output directory until the test ends.
    _directory: tempfile::TempDir,
    pub(crate) invocation: ContainerInvocation,
}

impl ContainerAgent {
    /// `script` runs with `bash -c` in [`TOOL_IMAGE`], with the pod's superuser URL as
    /// `DATABASE_URL`.
    pub(crate) async fn bash(test: &str, script: &str) -> ContainerAgent {
        let command = ["bash", "-c", script].map(String::from).to_vec();
        ContainerAgent::new(test, TOOL_IMAGE, command).await
    }

    pub(crate) async fn new(test: &str, image: &str, command: Vec<String>) -> ContainerAgent {
        let run_id = unique_run_id(test);
        let pod = start_pod(&run_id, 1).await;
        let directory = tempfile::tempdir().expect("create temporary directory");
        let issue_path = directory.path().join("issue.json");
        std::fs::write(&issue_path, r#"{"id": "T-1", "subject": "probe"}"#).expect("write issue");
        let output_dir = directory.path().join("output");
        std::fs::create_dir(&output_dir).expect("create output directory");
        let invocation = ContainerInvocation {
            image: image.to_string(),
            command,
            issue_path,
            output_dir,
            env: vec![
                (
                    "DATABASE_URL".to_string(),
                    pod.postgres().admin_url("postgres"),
                ),
                ("AGENTPOD_ISSUE_ID".to_string(), "T-1".to_string()),
            ],
            timeout: Duration::from_secs(60),
            output_limit: OUTPUT_LIMIT,
            memory_bytes: 256 * 1024 * 1024,
            cpus: 1.0,
            pids: 64,
        };
        ContainerAgent {
            run_id,
            pod,
            _directory: directory,
            invocation,
        }
    }

    /// Launched by its pod, as the runner launches it.
    pub(crate) async fn run(&self) -> AgentRun {
        self.launch(CancellationToken::new()).await.run
    }

    pub(crate) async fn launch(&self, cancel: CancellationToken) -> LaunchedAgent {
        self.pod
            .launch_agent(&AgentLaunch::Image(self.invocation.clone()), cancel)
            .await
    }

    /// A file the agent writes into its output directory, seen from the host.
    pub(crate) fn output_file(&self, name: &str) -> PathBuf {
        self.invocation.output_dir.join(name)
    }

    pub(crate) async fn finish(self) {
        let ContainerAgent { run_id, pod, .. } = self;
        pod.shutdown().await.expect("shut the pod down");
        assert_nothing_left(&run_id).await;
    }
}

pub(crate) async fn docker_client() -> Docker {
    Docker::connect_with_local_defaults()
        .expect("docker client")
        .negotiate_version()
        .await
        .expect("docker engine answers")
}

/// Names of the containers, running or not, labelled with the run.
pub(crate) async fn containers_of_run(run_id: &str) -> Vec<String> {
    let filters = HashMap::from([("label", vec![format!("{}={run_id}", labels::RUN)])]);
    docker_client()
        .await
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("list containers")
        .into_iter()
        .flat_map(|container| container.names.unwrap_or_default())
        .collect()
}

pub(crate) async fn assert_nothing_left(run_id: &str) {
    let left = containers_of_run(run_id).await;
    assert!(left.is_empty(), "containers left behind: {left:?}");
}

/// The containers of the run other than the pod's own Postgres.
pub(crate) async fn agent_containers_of_run(run_id: &str) -> Vec<String> {
    containers_of_run(run_id)
        .await
        .into_iter()
        .filter(|name| name.contains("-agent-"))
        .collect()
}

/// Waits until `path` exists, written by the agent.
pub(crate) async fn wait_for_file(path: &std::path::Path, deadline: Duration) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < deadline,
            "{} not written within {deadline:?}",
            path.display()
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// `key=value` lines of the agent's stdout.
pub(crate) fn reported(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}
