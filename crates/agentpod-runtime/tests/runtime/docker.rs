//! The Docker runtime against the real engine and the `postgres:15` image.

use std::collections::HashMap;
use std::process::Command;
use std::time::Instant;

use agentpod_runtime::{DockerRuntime, Runtime, RuntimeKind, labels};
use bollard::Docker;

use crate::support::{query_string, request, unique_run_id};

async fn docker_client() -> Docker {
    Docker::connect_with_local_defaults()
        .expect("docker client")
        .negotiate_version()
        .await
        .expect("docker engine answers")
}

struct PodResources {
    container_labels: HashMap<String, String>,
    network: String,
    network_labels: HashMap<String, String>,
    network_internal: bool,
}

async fn inspect_pod(docker: &Docker, pod_id: &str) -> PodResources {
    let container = docker
        .inspect_container(pod_id, None)
        .await
        .expect("inspect container");
    let container_labels = container
        .config
        .and_then(|config| config.labels)
        .unwrap_or_default();
    let networks = container
        .network_settings
        .and_then(|settings| settings.networks)
        .unwrap_or_default();
    assert_eq!(
        networks.len(),
        1,
        "pod container must be on exactly one network: {networks:?}"
    );
    let network = networks.keys().next().cloned().unwrap_or_default();
    let inspection = docker
        .inspect_network(
            &network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .expect("inspect network");
    PodResources {
        container_labels,
        network,
        network_labels: inspection.labels.unwrap_or_default(),
        network_internal: inspection.internal.unwrap_or(false),
    }
}

async fn container_exists(docker: &Docker, name: &str) -> bool {
    docker.inspect_container(name, None).await.is_ok()
}

async fn network_exists(docker: &Docker, name: &str) -> bool {
    docker
        .inspect_network(
            name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .is_ok()
}

fn assert_pod_labels(labels_found: &HashMap<String, String>, run_id: &str, pod_id: &str) {
    assert_eq!(
        labels_found.get(labels::MANAGED).map(String::as_str),
        Some("true")
    );
    assert_eq!(
        labels_found.get(labels::RUN).map(String::as_str),
        Some(run_id)
    );
    assert_eq!(
        labels_found.get(labels::POD).map(String::as_str),
        Some(pod_id)
    );
    let pid = std::process::id().to_string();
    assert_eq!(labels_found.get(labels::OWNER_PID), Some(&pid));
    assert!(
        labels_found
            .get(labels::OWNER_HOST)
            .is_some_and(|host| !host.is_empty())
    );
}

#[tokio::test]
async fn a_docker_pod_serves_postgres_with_labels_and_shutdown_removes_it() {
    let docker = docker_client().await;
    let runtime = DockerRuntime::connect().await.expect("docker runtime");
    assert_eq!(runtime.kind(), RuntimeKind::Docker);
    let run_id = unique_run_id("docker-basic");
    let pod = runtime
        .start_pod(&request(&run_id, 1))
        .await
        .expect("start docker pod");
    let pod_id = pod.id().to_string();

    let resources = inspect_pod(&docker, &pod_id).await;
    let version = query_string(pod.postgres(), "SELECT version()").await;
    let fsync = query_string(pod.postgres(), "SELECT current_setting('fsync')").await;
    pod.shutdown().await.expect("shutdown");

    assert!(version.expect("version").starts_with("PostgreSQL 15"));
    assert_eq!(fsync.expect("fsync"), "off");
    assert_pod_labels(&resources.container_labels, &run_id, &pod_id);
    assert_pod_labels(&resources.network_labels, &run_id, &pod_id);
    assert!(resources.network_internal, "pod network must be internal");
    assert!(
        !container_exists(&docker, &pod_id).await,
        "container left behind"
    );
    assert!(
        !network_exists(&docker, &resources.network).await,
        "network left behind"
    );
}

#[tokio::test]
async fn dropping_a_docker_pod_removes_its_container_and_network() {
    let docker = docker_client().await;
    let runtime = DockerRuntime::connect().await.expect("docker runtime");
    let pod = runtime
        .start_pod(&request(&unique_run_id("docker-drop"), 1))
        .await
        .expect("start docker pod");
    let pod_id = pod.id().to_string();
    let network = inspect_pod(&docker, &pod_id).await.network;
    drop(pod);
    assert!(
        !container_exists(&docker, &pod_id).await,
        "container left behind"
    );
    assert!(
        !network_exists(&docker, &network).await,
        "network left behind"
    );
}

#[tokio::test]
async fn a_missing_image_fails_with_the_build_script_and_leaves_nothing() {
    let docker = docker_client().await;
    let runtime = DockerRuntime::connect().await.expect("docker runtime");
    let run_id = unique_run_id("docker-noimage");
    let mut missing = request(&run_id, 1);
    missing.image = "agentpod-test-missing/postgres:0".to_string();
    let message = match runtime.start_pod(&missing).await {
        Ok(pod) => {
            let _ = pod.shutdown().await;
            panic!("a pod started from an image that does not exist");
        }
        Err(error) => error.to_string(),
    };
    assert!(
        message.contains("scripts/build-postgres-image"),
        "{message}"
    );
    let filters = HashMap::from([("label", vec![format!("{}={run_id}", labels::RUN)])]);
    let leftovers = docker
        .list_networks(Some(
            bollard::query_parameters::ListNetworksOptionsBuilder::new()
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("list networks");
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn docker_cli(arguments: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(arguments)
        .output()
        .expect("run docker")
}

/// Tries a TCP connection from inside `container` to `address:port`; true if it connected.
fn container_can_connect(container: &str, address: &str, port: u16) -> bool {
    let script = format!("exec 3<>/dev/tcp/{address}/{port}");
    docker_cli(&["exec", container, "timeout", "5", "bash", "-c", &script])
        .status
        .success()
}

/// Traffic from a pod to anything beyond its network has to be forwarded by the host, and the
/// internal network must drop it. Another pod's server is such a target that exists here
/// (no outside address may be probed from this machine).
///
/// The host itself is not beyond the network (Docker 20.10 routes containers on internal
/// networks to the bridge's host-side address); `a_docker_pod_reaches_only_the_host_ports_it_opened`
/// covers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_pod_cannot_reach_beyond_its_network() {
    let runtime = DockerRuntime::connect().await.expect("docker runtime");
    let run_id = unique_run_id("docker-isolation");
    let requests = [request(&run_id, 1), request(&run_id, 2)];
    let (first, second) = tokio::join!(
        runtime.start_pod(&requests[0]),
        runtime.start_pod(&requests[1])
    );
    let (prober, target) = match (first, second) {
        (Ok(prober), Ok(target)) => (prober, target),
        (first, second) => {
            for pod in [first, second].into_iter().flatten() {
                let _ = pod.shutdown().await;
            }
            panic!("cannot start the two pods");
        }
    };
    let target_host = target.postgres().host.clone();
    let target_port = target.postgres().port;
    // The control: the same probe works where a route exists (the target's own network).
    let probe_works = container_can_connect(target.id(), &target_host, target_port);
    let crosses_networks = container_can_connect(prober.id(), &target_host, target_port);
    prober.shutdown().await.expect("shutdown prober");
    target.shutdown().await.expect("shutdown target");

    assert!(probe_works, "the probe must connect where a route exists");
    assert!(
        !crosses_networks,
        "a pod reached another pod's server at {target_host}:{target_port}"
    );
}

/// Prints the median `start_pod` time; run with `--ignored --nocapture`.
#[tokio::test]
#[ignore = "measurement, not a check"]
async fn measure_docker_start_time() {
    let runtime = DockerRuntime::connect().await.expect("docker runtime");
    let mut times = Vec::new();
    for index in 0..5 {
        let started = Instant::now();
        let pod = runtime
            .start_pod(&request(&unique_run_id("docker-measure"), index))
            .await
            .expect("start docker pod");
        times.push(started.elapsed());
        pod.shutdown().await.expect("shutdown");
    }
    times.sort();
    eprintln!(
        "docker start_pod times: {times:?}; median {:?}",
        times[times.len() / 2]
    );
}

#[tokio::test]
async fn a_cancelled_start_leaves_nothing_behind() {
    let docker = docker_client().await;
    let runtime = DockerRuntime::connect().await.expect("docker runtime");
    let run_id = unique_run_id("docker-cancel");
    // Long enough to be past creating the network and container, short of readiness.
    let cancelled = tokio::time::timeout(
        std::time::Duration::from_millis(400),
        runtime.start_pod(&request(&run_id, 1)),
    )
    .await;
    if let Ok(Ok(pod)) = cancelled {
        pod.shutdown().await.expect("shutdown");
        panic!("the pod started before the timeout; the test needs a shorter one");
    }
    let filters = HashMap::from([("label", vec![format!("{}={run_id}", labels::RUN)])]);
    let containers = docker
        .list_containers(Some(
            bollard::query_parameters::ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("list containers");
    let networks = docker
        .list_networks(Some(
            bollard::query_parameters::ListNetworksOptionsBuilder::new()
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("list networks");
    assert!(containers.is_empty(), "{containers:?}");
    assert!(networks.is_empty(), "{networks:?}");
}

/// The iptables rules agentpod put in the INPUT chain for `bridge`.
fn firewall_rules_of(bridge: &str) -> Vec<String> {
    let listing = Command::new("iptables")
        .args(["-w", "-S", "INPUT"])
        .output()
        .expect("run iptables");
    String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|line| line.contains(&format!("-i {bridge} ")))
        .map(String::from)
        .collect()
}

async fn bridge_of(docker: &Docker, network: &str) -> String {
    docker
        .inspect_network(
            network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .expect("inspect network")
        .options
        .and_then(|mut options| options.remove("com.docker.network.bridge.name"))
        .expect("pod network names its bridge")
}

/// Docker 20.10 routes an internal network's containers to the bridge's host-side address;
/// the pod's host firewall must refuse them there, except on ports the pod opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_pod_reaches_only_the_host_ports_it_opened() {
    let docker = docker_client().await;
    let runtime = DockerRuntime::connect().await.expect("docker runtime");
    let pod = runtime
        .start_pod(&request(&unique_run_id("docker-host"), 1))
        .await
        .expect("start docker pod");
    let closed = std::net::TcpListener::bind("0.0.0.0:0").expect("bind closed listener");
    let opened = std::net::TcpListener::bind("0.0.0.0:0").expect("bind opened listener");
    let closed_port = closed.local_addr().expect("closed port").port();
    let opened_port = opened.local_addr().expect("opened port").port();
    let network = pod
        .network()
        .expect("a docker pod has a network")
        .to_string();
    let host_address = pod.host_address().expect("host address").to_string();
    let bridge = bridge_of(&docker, &network).await;
    let allowed = pod.allow_host_ports(&[opened_port]).await;
    let reaches_closed = container_can_connect(pod.id(), &host_address, closed_port);
    let reaches_opened = container_can_connect(pod.id(), &host_address, opened_port);
    let rules_while_running = firewall_rules_of(&bridge);
    pod.shutdown().await.expect("shutdown");

    allowed.expect("open a host port");
    assert!(!reaches_closed, "the pod reached host port {closed_port}");
    assert!(
        reaches_opened,
        "the pod cannot reach opened port {opened_port}"
    );
    assert_eq!(rules_while_running.len(), 2, "{rules_while_running:?}");
    let left = firewall_rules_of(&bridge);
    assert!(left.is_empty(), "rules left after shutdown: {left:?}");
}
