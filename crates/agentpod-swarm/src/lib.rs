//! One run's shards on a Docker Swarm a team already operates, driven to the end.
//!
//! [`SwarmDeployment::run`] creates a replicated-job service of N tasks on the swarm's manager
//! (`DOCKER_HOST`); task K runs shard K with the local runtime inside it (the shard script of
//! [`agentpod_deploy::ShardScript`]) and leaves its part in the results directory, a path every
//! node mounts from shared storage. It then watches the tasks and the nodes. Swarm never re-runs
//! a job's task whose node was lost (the task stays "running" on a node that is gone), so a shard
//! whose node is down is started again, by a one-task job of its own placed away from the lost
//! nodes; it resumes the store the lost attempt left. When every shard has finished, the bundles'
//! paths are handed back for `agentpod merge`, and the services are removed.
//!
//! - [`shard_progress`]: what the tasks and nodes say of each shard (no Docker in it).

pub mod shard_progress;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentpod_deploy::{DEPLOYMENT_MARK, RESULTS_PATH, ShardIndex, ShardScript, bundle_file_name};
use bollard::Docker;
use bollard::models::{
    Mount, MountType, NetworkAttachmentConfig, NetworkCreateRequest, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicatedJob, TaskSpec, TaskSpecContainerSpec, TaskSpecContainerSpecPrivileges,
    TaskSpecContainerSpecPrivilegesAppArmor, TaskSpecContainerSpecPrivilegesAppArmorModeEnum,
    TaskSpecContainerSpecPrivilegesSeccomp, TaskSpecContainerSpecPrivilegesSeccompModeEnum,
    TaskSpecPlacement, TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use bollard::query_parameters::{
    ListNodesOptions, ListServicesOptions, ListTasksOptions, LogsOptions, UpdateServiceOptions,
};

pub use shard_progress::{NodeView, ShardState, TaskView, shard_states};

/// Label on every service (and its containers) a deployment makes: the deployment's name.
pub const SWARM_RUN_LABEL: &str = "dev.agentpod.swarm-run";
/// On a service that runs one shard only (a re-run): which.
pub const SHARD_LABEL: &str = "dev.agentpod.shard";
/// How often the tasks and nodes are read.
const POLL: Duration = Duration::from_secs(1);
/// How long the swarm may not answer (a leader election, say) before the deployment gives up.
const WATCH_PATIENCE: Duration = Duration::from_secs(120);
/// How long removing the deployment may take before what is left is named instead.
const CLEANUP_PATIENCE: Duration = Duration::from_secs(60);
/// The longest deployment name: the swarm allows 63 characters, and a re-run adds
/// `-shard-K-A`.
pub const MAX_NAME: usize = 48;

#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    #[error("no Docker engine answers at DOCKER_HOST (set it to the swarm manager's): {0}")]
    NoEngine(#[source] bollard::errors::Error),
    #[error(
        "the engine is not a swarm manager (run `docker swarm init`, or point DOCKER_HOST at a manager): {0}"
    )]
    NotAManager(#[source] bollard::errors::Error),
    #[error("the swarm refused the service `{name}`: {source}")]
    CreateService {
        name: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("the swarm refused the network `{name}`: {source}")]
    CreateNetwork {
        name: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("cannot read the swarm's tasks or nodes for {} s: {source}", WATCH_PATIENCE.as_secs())]
    Watch {
        #[source]
        source: bollard::errors::Error,
    },
    #[error(
        "a deployment named `{name}` is still on the swarm ({services}): remove it (`docker service rm …`) or choose another --name"
    )]
    StillDeployed { name: String, services: String },
    #[error(
        "the deployment's name `{0}` is longer than {MAX_NAME} characters (the swarm's limit, less room for re-runs' names)"
    )]
    NameTooLong(String),
    #[error("cannot mark the results directory `{}`: {source}", path.display())]
    Results {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "shard {shard}/{shards} failed on every attempt ({attempts}); the last said: {last}{output}"
    )]
    ShardFailed {
        shard: u32,
        shards: u32,
        attempts: usize,
        last: String,
        /// The end of the last attempt's output, as `\n  | line` lines.
        output: String,
    },
    #[error("shard {shard}/{shards} refused its input (exit 2): {last}{output}")]
    InvalidInput {
        shard: u32,
        shards: u32,
        last: String,
        output: String,
    },
    #[error(
        "shard {shard}/{shards} finished but left no bundle at {path}: is the results directory the same shared path on every node and here?"
    )]
    MissingBundle {
        shard: u32,
        shards: u32,
        path: PathBuf,
    },
    #[error("--shards must be at least 1")]
    NoShards,
    #[error("the spec path `{0}` must be relative to the image's working directory")]
    AbsoluteSpec(String),
    #[error("the results directory `{0}` must be an absolute path, the same on every node")]
    RelativeResults(PathBuf),
    #[error("the results directory `{}` already holds shards of an earlier deployment ({found}, …): give an empty directory, or `agentpod merge` those bundles", results.display())]
    ResultsInUse { results: PathBuf, found: String },
}

/// What to run, and where its parts go.
#[derive(Debug, Clone)]
pub struct SwarmDeployment {
    /// The service's name; re-runs are `NAME-shard-K-A`.
    pub name: String,
    /// Relative to the image's working directory.
    pub spec_path: String,
    pub shards: u32,
    /// Holds agentpod, Postgres's server binaries, bubblewrap and the project
    /// (`scripts/build-agentpod-image`); every node must be able to pull it.
    pub image: String,
    /// A directory on shared storage, at this same path on every node and here.
    pub results: PathBuf,
    pub group: Option<String>,
    pub run_arguments: Vec<String>,
    /// How often a shard whose task failed is tried again by the swarm (resuming its run).
    pub retries_per_shard: u32,
    /// The network the tasks join. `None`: an internal overlay network of the deployment's own,
    /// with no way out of the swarm's tasks (enough for the stand-in model or record/replay); a
    /// real model provider needs a network of the user's with that egress.
    pub network: Option<String>,
}

/// What happened along the way, for the user's progress lines.
#[derive(Debug, Clone, PartialEq)]
pub enum SwarmEvent {
    Created {
        service: String,
        tasks: u32,
    },
    ShardRunning {
        shard: u32,
        node: String,
    },
    ShardDone {
        shard: u32,
        node: String,
    },
    NodeLost {
        node: String,
        shard: u32,
        rerun_as: String,
    },
    /// Services or networks the deployment could not remove.
    LeftBehind {
        names: Vec<String>,
    },
    /// A shard has not started for [`WAITING_TOO_LONG`]; `why` is what the swarm says.
    StillWaiting {
        shard: u32,
        why: String,
    },
}

/// How long a shard may wait to start before the user hears why.
pub const WAITING_TOO_LONG: Duration = Duration::from_secs(60);

/// The finished deployment: every shard's bundle, and the services that ran them.
#[derive(Debug)]
pub struct SwarmOutcome {
    pub bundles: Vec<PathBuf>,
    /// Which node finished each shard.
    pub nodes: BTreeMap<u32, String>,
    pub reruns: usize,
    pub wall_time: Duration,
}

impl SwarmDeployment {
    fn check(&self) -> Result<(), SwarmError> {
        if self.shards == 0 {
            return Err(SwarmError::NoShards);
        }
        if self.name.len() > MAX_NAME {
            return Err(SwarmError::NameTooLong(self.name.clone()));
        }
        if self.spec_path.starts_with('/') {
            return Err(SwarmError::AbsoluteSpec(self.spec_path.clone()));
        }
        if !self.results.is_absolute() {
            return Err(SwarmError::RelativeResults(self.results.clone()));
        }
        // A shard that finds a store of its part resumes it: one left by an earlier deployment
        // would be resumed (and merged) as this one's.
        if let Ok(entries) = std::fs::read_dir(&self.results) {
            let mut earlier: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| {
                    name == DEPLOYMENT_MARK || (name.starts_with("shard-") && name.contains("-of-"))
                })
                .collect();
            if !earlier.is_empty() {
                earlier.sort();
                return Err(SwarmError::ResultsInUse {
                    results: self.results.clone(),
                    found: earlier.into_iter().take(3).collect::<Vec<_>>().join(", "),
                });
            }
        }
        Ok(())
    }

    /// Runs every shard to the end (see the module's docs); the services are removed whatever
    /// the end, also when `interrupted` resolves first (Ctrl-C), which returns `Ok(None)`.
    pub async fn run(
        &self,
        docker: &Docker,
        interrupted: impl std::future::Future<Output = ()>,
        mut on_event: impl FnMut(SwarmEvent),
    ) -> Result<Option<SwarmOutcome>, SwarmError> {
        self.check()?;
        docker.ping().await.map_err(SwarmError::NoEngine)?;
        docker
            .inspect_swarm()
            .await
            .map_err(SwarmError::NotAManager)?;
        let earlier = self.services_on_swarm(docker).await?;
        if !earlier.is_empty() {
            return Err(SwarmError::StillDeployed {
                name: self.name.clone(),
                services: earlier
                    .into_iter()
                    .map(|(_, name)| name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let mark = self.mark_results()?;
        let own_network = match &self.network {
            Some(_) => None,
            None => Some(self.create_internal_network(docker).await?),
        };
        let network = self.network.clone().or_else(|| own_network.clone());
        let result = tokio::select! {
            result = self.drive(docker, network.as_deref(), &mark, &mut on_event) => {
                result.map(Some)
            }
            () = interrupted => Ok(None),
        };
        // Found by label, so a service whose creation was cut short goes too; bounded, so a
        // swarm that stopped answering cannot hold the user here.
        let mut left = Vec::new();
        let cleanup = async {
            let mut left = Vec::new();
            match self.services_on_swarm(docker).await {
                Ok(services) => {
                    // The swarm does not stop a job's running tasks when the job is removed (an
                    // update does): each job is first moved to no node, which stops its tasks.
                    for (_, service) in &services {
                        let _ = place_nowhere(docker, service).await;
                    }
                    let ids: Vec<String> = services.iter().map(|(id, _)| id.clone()).collect();
                    wait_for_tasks_to_stop(docker, &ids).await;
                    for (_, service) in &services {
                        if docker.delete_service(service).await.is_err() {
                            left.push(format!("service {service}"));
                        }
                    }
                }
                Err(_) => {
                    let _ = docker.delete_service(&self.name).await;
                    left.push(format!(
                        "the services labelled {SWARM_RUN_LABEL}={}",
                        self.name
                    ));
                }
            }
            if let Some(network) = &own_network
                && !remove_network_when_free(docker, network).await
            {
                left.push(format!("network {network}"));
            }
            left
        };
        match tokio::time::timeout(CLEANUP_PATIENCE, cleanup).await {
            Ok(not_removed) => left.extend(not_removed),
            Err(_) => left.push(format!(
                "the services and network labelled {SWARM_RUN_LABEL}={} (the swarm did not answer)",
                self.name
            )),
        }
        if !left.is_empty() {
            on_event(SwarmEvent::LeftBehind { names: left });
        }
        result
    }

    /// The services of this deployment (by its label) on the swarm now, as (id, name).
    async fn services_on_swarm(
        &self,
        docker: &Docker,
    ) -> Result<Vec<(String, String)>, SwarmError> {
        let options = ListServicesOptions {
            filters: Some(HashMap::from([(
                "label".to_owned(),
                vec![format!("{SWARM_RUN_LABEL}={}", self.name)],
            )])),
            ..Default::default()
        };
        let services = docker
            .list_services(Some(options))
            .await
            .map_err(|source| SwarmError::Watch { source })?;
        Ok(services
            .into_iter()
            .filter_map(|service| Some((service.id?, service.spec?.name?)))
            .collect())
    }

    /// Writes a mark of this deployment into the results directory; every task checks that it
    /// sees it, so a directory that is not shared fails at a task's start, not at the end.
    fn mark_results(&self) -> Result<String, SwarmError> {
        let results_error = |source| SwarmError::Results {
            path: self.results.clone(),
            source,
        };
        std::fs::create_dir_all(&self.results).map_err(results_error)?;
        let mark = format!(
            "{}-{}-{}",
            self.name,
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos())
                .unwrap_or_default()
        );
        // Never over another deployment's mark, even one that started a moment ago.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.results.join(DEPLOYMENT_MARK))
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => SwarmError::ResultsInUse {
                    results: self.results.clone(),
                    found: DEPLOYMENT_MARK.to_owned(),
                },
                _ => results_error(source),
            })?;
        std::io::Write::write_all(&mut file, mark.as_bytes()).map_err(results_error)?;
        Ok(mark)
    }

    /// An overlay network no task can leave, labelled as the services are.
    async fn create_internal_network(&self, docker: &Docker) -> Result<String, SwarmError> {
        let name = format!("{}-net", self.name);
        docker
            .create_network(NetworkCreateRequest {
                name: name.clone(),
                driver: Some("overlay".to_owned()),
                internal: Some(true),
                attachable: Some(false),
                labels: Some(self.labels()),
                ..Default::default()
            })
            .await
            .map_err(|source| SwarmError::CreateNetwork {
                name: name.clone(),
                source,
            })?;
        Ok(name)
    }

    fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (
                agentpod_runtime::labels::MANAGED.to_owned(),
                "true".to_owned(),
            ),
            (SWARM_RUN_LABEL.to_owned(), self.name.clone()),
        ])
    }

    async fn drive(
        &self,
        docker: &Docker,
        network: Option<&str>,
        mark: &str,
        on_event: &mut impl FnMut(SwarmEvent),
    ) -> Result<SwarmOutcome, SwarmError> {
        let started = Instant::now();
        self.create(docker, &self.name, None, &[], network, mark)
            .await?;
        on_event(SwarmEvent::Created {
            service: self.name.clone(),
            tasks: self.shards,
        });
        // Service name → the shard it runs alone (a re-run); the first service runs them all.
        let mut reruns: HashMap<String, u32> = HashMap::new();
        let mut rerun_tasks: Vec<String> = Vec::new();
        let mut reported: BTreeMap<u32, ShardState> = BTreeMap::new();
        // Since when each shard has been waiting to start, and whether the user was told.
        let mut waiting_since: HashMap<u32, (Instant, bool)> = HashMap::new();
        // Since when the swarm has not answered.
        let mut unanswered_since: Option<Instant> = None;
        loop {
            let read = async {
                Ok::<_, bollard::errors::Error>((
                    self.tasks(docker, &reruns).await?,
                    nodes(docker).await?,
                ))
            };
            let (tasks, nodes) = match read.await {
                Ok(read) => {
                    unanswered_since = None;
                    read
                }
                Err(source) => {
                    let since = *unanswered_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= WATCH_PATIENCE {
                        return Err(SwarmError::Watch { source });
                    }
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            };
            let states = shard_states(self.shards, &tasks, &nodes, &rerun_tasks);
            let mut all_done = true;
            for (&shard, state) in &states {
                let changed = reported.get(&shard) != Some(state);
                if !matches!(state, ShardState::Waiting { .. }) {
                    waiting_since.remove(&shard);
                }
                match state {
                    ShardState::Done { node } => {
                        if changed {
                            on_event(SwarmEvent::ShardDone {
                                shard,
                                node: node.clone(),
                            });
                        }
                    }
                    ShardState::Running { node } => {
                        all_done = false;
                        if changed {
                            on_event(SwarmEvent::ShardRunning {
                                shard,
                                node: node.clone(),
                            });
                        }
                    }
                    ShardState::Waiting { why } => {
                        all_done = false;
                        let (since, told) = waiting_since
                            .entry(shard)
                            .or_insert((Instant::now(), false));
                        if !*told && since.elapsed() >= WAITING_TOO_LONG {
                            *told = true;
                            on_event(SwarmEvent::StillWaiting {
                                shard,
                                why: why.clone(),
                            });
                        }
                    }
                    ShardState::Lost { task, node } => {
                        all_done = false;
                        if rerun_tasks.contains(task) {
                            continue;
                        }
                        rerun_tasks.push(task.clone());
                        let name = format!("{}-shard-{shard}-{}", self.name, rerun_tasks.len());
                        let avoid: Vec<String> = nodes
                            .iter()
                            .filter(|node| node.down)
                            .map(|node| format!("node.id!={}", node.id))
                            .collect();
                        self.create(docker, &name, Some(shard), &avoid, network, mark)
                            .await?;
                        reruns.insert(name.clone(), shard);
                        on_event(SwarmEvent::NodeLost {
                            node: node.clone(),
                            shard,
                            rerun_as: name,
                        });
                    }
                    ShardState::Failed {
                        attempts,
                        task,
                        last,
                        invalid_input,
                    } => {
                        if *invalid_input {
                            return Err(SwarmError::InvalidInput {
                                shard,
                                shards: self.shards,
                                last: last.clone(),
                                output: output_tail(docker, task).await,
                            });
                        }
                        if *attempts > self.retries_per_shard as usize {
                            return Err(SwarmError::ShardFailed {
                                shard,
                                shards: self.shards,
                                attempts: *attempts,
                                last: last.clone(),
                                output: output_tail(docker, task).await,
                            });
                        }
                        // The swarm's restart policy starts the next attempt.
                        all_done = false;
                    }
                }
                reported.insert(shard, state.clone());
            }
            if all_done {
                return self.outcome(&states, rerun_tasks.len(), started);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn outcome(
        &self,
        states: &BTreeMap<u32, ShardState>,
        reruns: usize,
        started: Instant,
    ) -> Result<SwarmOutcome, SwarmError> {
        let mut bundles = Vec::new();
        let mut nodes = BTreeMap::new();
        for (&shard, state) in states {
            let path = self.results.join(bundle_file_name(shard, self.shards));
            if !path.is_file() {
                return Err(SwarmError::MissingBundle {
                    shard,
                    shards: self.shards,
                    path,
                });
            }
            bundles.push(path);
            if let ShardState::Done { node } = state {
                nodes.insert(shard, node.clone());
            }
        }
        Ok(SwarmOutcome {
            bundles,
            nodes,
            reruns,
            wall_time: started.elapsed(),
        })
    }

    /// A replicated job: all shards (`only` none, N tasks, each its slot's shard) or one shard.
    async fn create(
        &self,
        docker: &Docker,
        name: &str,
        only: Option<u32>,
        constraints: &[String],
        network: Option<&str>,
        mark: &str,
    ) -> Result<(), SwarmError> {
        let script = ShardScript {
            index: ShardIndex::SwarmTaskSlot,
            spec_path: &self.spec_path,
            shards: self.shards,
            group: self.group.as_deref(),
            run_arguments: &self.run_arguments,
        }
        .render();
        let mut env = vec![
            "AGENTPOD_TASK_SLOT={{.Task.Slot}}".to_owned(),
            format!("AGENTPOD_DEPLOYMENT={mark}"),
        ];
        let mut labels = self.labels();
        if let Some(shard) = only {
            env.push(format!("AGENTPOD_SHARD={shard}"));
            labels.insert(SHARD_LABEL.to_owned(), shard.to_string());
        }
        let tasks = if only.is_some() { 1 } else { self.shards };
        let spec = ServiceSpec {
            name: Some(name.to_owned()),
            labels: Some(labels.clone()),
            mode: Some(ServiceSpecMode {
                replicated_job: Some(ServiceSpecModeReplicatedJob {
                    max_concurrent: Some(i64::from(tasks)),
                    total_completions: Some(i64::from(tasks)),
                }),
                ..Default::default()
            }),
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(self.image.clone()),
                    labels: Some(labels),
                    command: Some(vec!["/bin/sh".to_owned(), "-c".to_owned(), script]),
                    // A stop reaches the shard's script at once (a shell as PID 1 ignores it).
                    init: Some(true),
                    // The shard records its hostname as its machine.
                    hostname: Some("{{.Node.Hostname}}".to_owned()),
                    env: Some(env),
                    mounts: Some(vec![
                        Mount {
                            target: Some(RESULTS_PATH.to_owned()),
                            source: Some(self.results.to_string_lossy().into_owned()),
                            typ: Some(MountType::BIND),
                            ..Default::default()
                        },
                        // The pods' Postgres clusters: fast, and gone with the task.
                        Mount {
                            target: Some("/tmp".to_owned()),
                            typ: Some(MountType::TMPFS),
                            ..Default::default()
                        },
                    ]),
                    // bubblewrap, the agent's sandbox, makes namespaces and pivots into its
                    // root; the agent itself runs with no capabilities inside it. Engines before
                    // 25 ignore the privileges: their nodes' default seccomp must allow it.
                    capability_add: Some(vec!["CAP_SYS_ADMIN".to_owned()]),
                    privileges: Some(TaskSpecContainerSpecPrivileges {
                        seccomp: Some(TaskSpecContainerSpecPrivilegesSeccomp {
                            mode: Some(TaskSpecContainerSpecPrivilegesSeccompModeEnum::UNCONFINED),
                            ..Default::default()
                        }),
                        app_armor: Some(TaskSpecContainerSpecPrivilegesAppArmor {
                            mode: Some(TaskSpecContainerSpecPrivilegesAppArmorModeEnum::DISABLED),
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                restart_policy: Some(TaskSpecRestartPolicy {
                    condition: Some(TaskSpecRestartPolicyConditionEnum::ON_FAILURE),
                    max_attempts: Some(i64::from(self.retries_per_shard)),
                    delay: Some(1_000_000_000),
                    ..Default::default()
                }),
                placement: Some(TaskSpecPlacement {
                    constraints: Some(constraints.to_vec()),
                    ..Default::default()
                }),
                networks: network.map(|network| {
                    vec![NetworkAttachmentConfig {
                        target: Some(network.to_owned()),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        docker
            .create_service(spec, None)
            .await
            .map_err(|source| SwarmError::CreateService {
                name: name.to_owned(),
                source,
            })?;
        Ok(())
    }

    /// Every task of the deployment's services (the first, and the re-runs in `reruns`), each
    /// with the shard it runs.
    async fn tasks(
        &self,
        docker: &Docker,
        reruns: &HashMap<String, u32>,
    ) -> Result<Vec<TaskView>, bollard::errors::Error> {
        let mut views = Vec::new();
        for service in std::iter::once(&self.name).chain(reruns.keys()) {
            let options = ListTasksOptions {
                filters: Some(HashMap::from([(
                    "service".to_owned(),
                    vec![service.clone()],
                )])),
            };
            for task in docker.list_tasks(Some(options)).await? {
                // The first service's task in slot S runs shard S + 1.
                let shard = match reruns.get(service) {
                    Some(&shard) => shard,
                    None => u32::try_from(task.slot.unwrap_or(0)).unwrap_or(0) + 1,
                };
                views.push(TaskView::from_task(shard, &task));
            }
        }
        Ok(views)
    }
}

/// The last lines a task wrote (stdout and stderr), each as `\n  | line`; empty when the
/// swarm cannot tell (its node is gone).
async fn output_tail(docker: &Docker, task: &str) -> String {
    use futures_util::StreamExt;
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: "12".to_owned(),
        ..Default::default()
    };
    let logs = docker.task_logs(task, Some(options));
    let chunks: Vec<_> = tokio::time::timeout(Duration::from_secs(10), logs.collect::<Vec<_>>())
        .await
        .unwrap_or_default();
    let text: String = chunks
        .into_iter()
        .filter_map(Result::ok)
        .map(|chunk| String::from_utf8_lossy(&chunk.into_bytes()).into_owned())
        .collect();
    text.lines().map(|line| format!("\n  | {line}")).collect()
}

/// Updates `service` to be placed on no node: its running tasks are stopped (a new iteration
/// of the job), and none start.
async fn place_nowhere(docker: &Docker, service: &str) -> Result<(), bollard::errors::Error> {
    let current = docker.inspect_service(service, None).await?;
    let (Some(mut spec), Some(version)) = (current.spec, current.version.and_then(|v| v.index))
    else {
        return Ok(());
    };
    if let Some(template) = spec.task_template.as_mut() {
        template.placement = Some(TaskSpecPlacement {
            constraints: Some(vec!["node.labels.dev.agentpod.nowhere==true".to_owned()]),
            ..Default::default()
        });
    }
    let options = UpdateServiceOptions {
        version: i32::try_from(version).unwrap_or(i32::MAX),
        ..Default::default()
    };
    docker.update_service(service, spec, options, None).await?;
    Ok(())
}

/// Waits (a bounded while) until no task of `services` is on a node, but nodes that are down.
async fn wait_for_tasks_to_stop(docker: &Docker, services: &[String]) {
    for _ in 0..60 {
        let (Ok(tasks), Ok(nodes)) = (
            docker.list_tasks(None::<ListTasksOptions>).await,
            nodes(docker).await,
        ) else {
            return;
        };
        let running = tasks.iter().any(|task| {
            let on_live_node = !nodes
                .iter()
                .any(|node| node.down && task.node_id.as_deref() == Some(node.id.as_str()));
            let live = task
                .status
                .as_ref()
                .and_then(|status| status.state)
                .is_some_and(shard_progress::is_live);
            // A task placed nowhere waits with no node: it runs nothing.
            task.service_id
                .as_ref()
                .is_some_and(|service| services.contains(service))
                && live
                && task.node_id.as_deref().is_some_and(|node| !node.is_empty())
                && on_live_node
        });
        if !running {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Removes `network` once the removed services' tasks have let go of it (a few seconds);
/// whether it is gone.
async fn remove_network_when_free(docker: &Docker, network: &str) -> bool {
    for _ in 0..30 {
        if docker.remove_network(network).await.is_ok() {
            return true;
        }
        tokio::time::sleep(POLL).await;
    }
    false
}

/// The engine `DOCKER_HOST` names (or the local one): the swarm's manager.
pub fn connect_to_manager() -> Result<Docker, SwarmError> {
    Docker::connect_with_defaults().map_err(SwarmError::NoEngine)
}

async fn nodes(docker: &Docker) -> Result<Vec<NodeView>, bollard::errors::Error> {
    let nodes = docker.list_nodes(None::<ListNodesOptions>).await?;
    Ok(nodes.iter().map(NodeView::from_node).collect())
}
