//! `LocalRuntime`: starts pods from the host's Postgres binaries, with a fresh cluster (initdb)
//! or a copy of a seeded one from its seed cache (see `seed_directory`).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;

use super::local_pod::{LocalPod, LocalPodResources};
use super::pod_marker::{PodMarker, beside, pods_root};
use super::postgres_binaries::PostgresBinaries;
use super::postmaster::SHUTDOWN_SIGNAL;
use super::process_spawner::spawn_tied_to_process;
use super::seed_directory::SeedDirectory;
use super::server_user::ServerUser;
use crate::error::RuntimeError;
use crate::naming;
use crate::owner::Owner;
use crate::pod::Pod;
use crate::pod_request::PodRequest;
use crate::readiness::wait_until_ready;
use crate::runtime::Runtime;
use crate::runtime_kind::RuntimeKind;
use crate::seed_cache::{SeedCache, SeedImage, SeedingServer};
use crate::superuser_password::{password_literal, replace_superuser_password};
use agentpod_postgres_server::PostgresEndpoint;

const SUPERUSER: &str = "postgres";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Another process may take the port we picked before our server binds it.
const PORT_ATTEMPTS: usize = 3;
const LOG_FILE: &str = "postgres.log";
const INITDB_LOG_FILE: &str = "initdb.log";
const RESTORE_LOG_FILE: &str = "restore.log";
/// Bump when `initialise` makes clusters differently (its arguments): part of every local seed's
/// key, with the binaries' content.
const LOCAL_CLUSTER_FORMAT: u32 = 1;

/// Pods made of host Postgres binaries in temporary data directories.
#[derive(Debug, Clone)]
pub struct LocalRuntime {
    binaries: PostgresBinaries,
    /// Where seeded clusters are kept between runs; `None`: no seed cache (no cache directory).
    seeds: Option<SeedDirectory>,
}

impl LocalRuntime {
    /// Finds `initdb` and `postgres` on PATH or in `/usr/lib/postgresql/*/bin`; seeds are kept
    /// in `$XDG_CACHE_HOME/agentpod/seeds` (else `~/.cache/agentpod/seeds`).
    pub fn detect() -> Result<Self, RuntimeError> {
        PostgresBinaries::find()
            .map(|binaries| Self {
                binaries,
                seeds: SeedDirectory::for_user(),
            })
            .ok_or(RuntimeError::PostgresBinariesNotFound)
    }

    /// The same runtime keeping its seeds in `root` instead.
    #[must_use]
    pub fn with_seed_directory(mut self, root: PathBuf) -> Self {
        self.seeds = Some(SeedDirectory::at(root));
        self
    }

    /// Where this runtime keeps seeds, if anywhere.
    pub fn seed_directory(&self) -> Option<&Path> {
        self.seeds.as_ref().map(SeedDirectory::root)
    }

    /// The pod's cluster as a copy of the seed `entry`, whose superuser has no password: a
    /// single-user server gives it this pod's `password` before any server listens, so no
    /// moment exists in which a shared or empty password logs in.
    async fn restore(
        &self,
        resources: &mut LocalPodResources,
        entry: &Path,
        password: &str,
        server_user: Option<ServerUser>,
    ) -> Result<(), RuntimeError> {
        let data_dir = resources.data_dir().to_path_buf();
        {
            let (entry, data_dir) = (entry.to_path_buf(), data_dir.clone());
            tokio::task::spawn_blocking(move || {
                SeedDirectory::restore(&entry, &data_dir, server_user)
            })
            .await
            .map_err(|error| RuntimeError::Task(error.to_string()))??;
        }
        let log_path = resources.directory().join(RESTORE_LOG_FILE);
        let (_, stderr) = log_files(&log_path)?;
        let mut command = Command::new(&self.binaries.postgres);
        without_store_credentials(&mut command);
        command
            .arg("--single")
            .arg("-D")
            .arg(&data_dir)
            // Never print the statement (it holds the password), even when it fails.
            .args(["-c", "log_min_error_statement=panic", "-c", "fsync=off"])
            .arg("postgres")
            .current_dir(resources.directory())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0);
        if let Some(user) = server_user {
            user.apply(&mut command);
        }
        let mut child = command
            .spawn()
            .map_err(|source| RuntimeError::io("run a single-user server in", &data_dir, source))?;
        let statement = format!(
            "ALTER ROLE \"{SUPERUSER}\" PASSWORD {}\n",
            password_literal(Some(password))
        );
        let written = child
            .stdin
            .take()
            .map(|mut stdin| stdin.write_all(statement.as_bytes()));
        resources.set_setup(child);
        if let Some(Err(source)) = written {
            return Err(RuntimeError::io(
                "run a single-user server in",
                &data_dir,
                source,
            ));
        }
        let status = resources.wait_for_setup().await.map_err(|source| {
            RuntimeError::io("wait for the single-user server in", &data_dir, source)
        })?;
        let output = log_tail(&log_path);
        // The single-user server exits 0 after a failed statement too; its log says.
        if !status.success() || output.contains("ERROR:") || output.contains("FATAL:") {
            return Err(RuntimeError::LocalSuperuserPassword { data_dir, output });
        }
        Ok(())
    }

    async fn initialise(
        &self,
        resources: &mut LocalPodResources,
        password: &str,
        server_user: Option<ServerUser>,
    ) -> Result<(), RuntimeError> {
        let data_dir = resources.data_dir().to_path_buf();
        let data_dir = data_dir.as_path();
        create_directory(data_dir, 0o700)?;
        let password_file = resources.directory().join("password");
        std::fs::write(&password_file, format!("{password}\n"))
            .map_err(|source| RuntimeError::io("write password file", &password_file, source))?;
        std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600))
            .map_err(|source| RuntimeError::io("protect password file", &password_file, source))?;
        if let Some(user) = server_user {
            user.take_ownership(data_dir)?;
            user.take_ownership(&password_file)?;
        }
        let log_path = resources.directory().join(INITDB_LOG_FILE);
        let (stdout, stderr) = log_files(&log_path)?;
        let mut command = Command::new(&self.binaries.initdb);
        without_store_credentials(&mut command);
        command
            .arg("-D")
            .arg(data_dir)
            .args([
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", password_file.display()))
            // Throwaway data: skipping the fsyncs saves most of initdb's time.
            .arg("--no-sync")
            .current_dir(resources.directory())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Its own group, so a cancelled start can kill initdb's bootstrap backend too.
            .process_group(0);
        if let Some(user) = server_user {
            user.apply(&mut command);
        }
        // A std child owned by `resources`, not a tokio one: if this start is cancelled, the
        // guard must kill *and reap* initdb before removing the directory it writes into.
        let child = command
            .spawn()
            .map_err(|source| RuntimeError::io("run initdb for", data_dir, source))?;
        resources.set_setup(child);
        let status = resources
            .wait_for_setup()
            .await
            .map_err(|source| RuntimeError::io("wait for initdb in", data_dir, source));
        let _ = std::fs::remove_file(&password_file);
        let status = status?;
        if !status.success() {
            return Err(RuntimeError::InitDb {
                data_dir: data_dir.to_path_buf(),
                status: status.to_string(),
                output: log_tail(&log_path),
            });
        }
        Ok(())
    }

    fn spawn_postmaster(
        &self,
        resources: &LocalPodResources,
        port: u16,
        server_user: Option<ServerUser>,
    ) -> Result<std::process::Child, RuntimeError> {
        let data_dir = resources.data_dir();
        let (log_for_stdout, log) = log_files(&resources.directory().join(LOG_FILE))?;
        let mut command = Command::new(&self.binaries.postgres);
        without_store_credentials(&mut command);
        command
            .arg("-D")
            .arg(data_dir)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(data_dir)
            .args(["-c", "listen_addresses=127.0.0.1"])
            // Throwaway data, and a JSON log of errors (see agentpod-postgres-server).
            .args(agentpod_postgres_server::postgres_arguments())
            .current_dir(resources.directory())
            .stdin(Stdio::null())
            .stdout(log_for_stdout)
            .stderr(log)
            // Its own process group: a Ctrl-C in the terminal goes to agentpod, which then
            // drains and shuts pods down in order, instead of killing the servers under it.
            .process_group(0);
        if let Some(user) = server_user {
            user.apply(&mut command);
        }
        spawn_tied_to_process(command, SHUTDOWN_SIGNAL)
            .map_err(|source| RuntimeError::io("start postgres for", data_dir, source))
    }

    /// A pod directory, a cluster (fresh, or a copy of `seed`), and a server accepting the host.
    async fn start(
        &self,
        request: &PodRequest,
        id: String,
        seed: Option<&Path>,
    ) -> Result<LocalPod, RuntimeError> {
        let root = pods_root();
        ensure_pods_root(&root)?;
        let directory = root.join(&id);
        let owner = Owner::current();
        let mut marker = PodMarker {
            pod_id: id.clone(),
            run_id: request.run_id.clone(),
            owner_pid: owner.pid,
            owner_host: owner.host,
            postmaster_pid: None,
            port: None,
        };
        // The owner is on record before the directory exists, so `gc` knows whose it is
        // whenever this process dies.
        marker.write(&directory)?;
        if let Err(error) = create_directory(&directory, 0o755) {
            let _ = std::fs::remove_file(beside(&directory));
            return Err(error);
        }
        // From here on, dropping `resources` (an early `?`) removes everything made so far.
        let mut resources = LocalPodResources::new(directory);
        marker.write(resources.directory())?;

        let password = naming::password();
        let server_user = ServerUser::for_current_process();
        match seed {
            Some(entry) => {
                self.restore(&mut resources, entry, &password, server_user)
                    .await?;
            }
            None => {
                self.initialise(&mut resources, &password, server_user)
                    .await?;
            }
        }

        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port(resources.directory())?;
            let child = self.spawn_postmaster(&resources, port, server_user)?;
            marker.postmaster_pid = Some(child.id());
            marker.port = Some(port);
            resources.set_postmaster(child);
            marker.write(resources.directory())?;
            let endpoint = PostgresEndpoint {
                host: "127.0.0.1".to_string(),
                port,
                user: SUPERUSER.to_string(),
                password: password.clone(),
            };
            let data_dir = resources.data_dir().to_path_buf();
            let log_path = resources.directory().join(LOG_FILE);
            let outcome = {
                let resources = &mut resources;
                wait_until_ready(&endpoint, READY_TIMEOUT, || {
                    let exited = resources
                        .postmaster_mut()
                        .is_some_and(|child| matches!(child.try_wait(), Ok(Some(_))));
                    let result = if exited {
                        Err(RuntimeError::PostgresExited {
                            data_dir: data_dir.clone(),
                            log_tail: log_tail(&log_path),
                        })
                    } else {
                        Ok(())
                    };
                    std::future::ready(result)
                })
                .await
            };
            match outcome {
                Ok(()) => {
                    tracing::debug!(pod = %id, port, restored = seed.is_some(), "local pod ready");
                    return Ok(LocalPod {
                        id,
                        endpoint,
                        resources,
                    });
                }
                Err(RuntimeError::PostgresExited { log_tail, .. })
                    if attempt < PORT_ATTEMPTS && is_port_conflict(&log_tail) =>
                {
                    tracing::debug!(pod = %id, port, "port taken before postgres bound it; retrying");
                    resources.stop_postmaster()?;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

#[async_trait]
impl Runtime for LocalRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Local
    }

    /// A seed entry of this runtime's cache as `request.image` (see [`SeedCache`]) starts the pod
    /// with a copy of its seeded cluster; anything else starts it empty.
    async fn start_pod(&self, request: &PodRequest) -> Result<Box<dyn Pod>, RuntimeError> {
        let id = naming::pod_id(&request.run_id, request.pod_index);
        let seed = self
            .seeds
            .as_ref()
            .and_then(|seeds| seeds.entry_of_image(&request.image));
        let pod = self.start(request, id, seed.as_deref()).await?;
        Ok(Box::new(pod))
    }

    fn seed_cache(&self) -> Option<&dyn SeedCache> {
        self.seeds.as_ref().map(|_| self as &dyn SeedCache)
    }
}

#[async_trait]
impl SeedCache for LocalRuntime {
    /// The binaries' content (a new Postgres build may initialise clusters differently, and
    /// one major version does not start another's cluster) and how `initialise` runs them;
    /// the spec's `image` plays no part in a local pod.
    async fn image_identity(&self, _image: &str) -> Result<String, RuntimeError> {
        let binaries = self.binaries.clone();
        tokio::task::spawn_blocking(move || binaries.identity())
            .await
            .map_err(|error| RuntimeError::Task(error.to_string()))?
            .map(|identity| format!("local-cluster-{LOCAL_CLUSTER_FORMAT}:{identity}"))
    }

    /// The entry's path.
    fn seed_name(&self, key: &str) -> String {
        self.seeds
            .as_ref()
            .and_then(|seeds| seeds.entry_path(key))
            .map_or_else(|| key.to_string(), |entry| entry.display().to_string())
    }

    async fn find_seed(&self, key: &str) -> Result<Option<SeedImage>, RuntimeError> {
        let Some(seeds) = self.seeds.clone() else {
            return Ok(None);
        };
        let key = key.to_string();
        let entry = tokio::task::spawn_blocking(move || seeds.find(&key))
            .await
            .map_err(|error| RuntimeError::Task(error.to_string()))??;
        Ok(entry.map(|entry| seed_of_entry(&entry)))
    }

    async fn start_seeding(
        &self,
        request: &PodRequest,
    ) -> Result<Box<dyn SeedingServer>, RuntimeError> {
        let Some(seeds) = self.seeds.clone() else {
            return Err(RuntimeError::SeedNotKept {
                server: "the local runtime".to_string(),
                reason: "no cache directory (neither XDG_CACHE_HOME nor HOME is set)".to_string(),
            });
        };
        let id = naming::seeding_id(&request.run_id);
        let pod = self.start(request, id, None).await?;
        Ok(Box::new(LocalSeedingServer { pod, seeds }))
    }
}

/// The entry's path is both the id `start_pod` takes back and the name people see.
fn seed_of_entry(entry: &Path) -> SeedImage {
    let path = entry.display().to_string();
    SeedImage {
        id: path.clone(),
        name: path,
    }
}

/// A local pod seeded for the cache; removed when committed, discarded or dropped.
struct LocalSeedingServer {
    pod: LocalPod,
    seeds: SeedDirectory,
}

#[async_trait]
impl SeedingServer for LocalSeedingServer {
    fn postgres(&self) -> &PostgresEndpoint {
        &self.pod.endpoint
    }

    /// Removes the superuser's password (a cached cluster carries none), stops the server with
    /// a fast shutdown, and publishes the stopped cluster under `key`.
    async fn commit(self: Box<Self>, key: &str) -> Result<SeedImage, RuntimeError> {
        let LocalSeedingServer { pod, seeds } = *self;
        let LocalPod {
            id,
            endpoint,
            mut resources,
        } = pod;
        replace_superuser_password(&endpoint, None).await?;
        let key = key.to_string();
        let published = tokio::task::spawn_blocking(move || {
            let published = resources
                .stop_postmaster_cleanly()
                .map_err(|reason| RuntimeError::SeedNotKept { server: id, reason })
                .and_then(|()| seeds.publish(&key, resources.data_dir()));
            let released = resources.release();
            published.and_then(|entry| released.map(|()| entry))
        })
        .await
        .map_err(|error| RuntimeError::Task(error.to_string()))??;
        tracing::debug!(entry = %published.display(), "published local seed");
        Ok(seed_of_entry(&published))
    }

    async fn discard(self: Box<Self>) -> Result<(), RuntimeError> {
        Box::new(self.pod).shutdown().await
    }
}

/// The shared parent is world-writable with the sticky bit, like /tmp, so pods of root and of
/// other users can live side by side.
fn ensure_pods_root(root: &Path) -> Result<(), RuntimeError> {
    match std::fs::DirBuilder::new().mode(0o755).create(root) {
        Ok(()) => std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o1777))
            .map_err(|source| RuntimeError::io("set permissions of", root, source)),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(RuntimeError::io("create pods directory", root, source)),
    }
}

fn create_directory(path: &Path, mode: u32) -> Result<(), RuntimeError> {
    std::fs::DirBuilder::new()
        .mode(mode)
        .create(path)
        .map_err(|source| RuntimeError::io("create directory", path, source))?;
    // The umask may have taken bits we need (the server user must traverse the pod directory).
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|source| RuntimeError::io("set permissions of", path, source))
}

/// A port free right now on 127.0.0.1 that no other pod of this process was given recently.
fn free_port(directory: &Path) -> Result<u16, RuntimeError> {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(|| Mutex::new(HashSet::new()));
    for _ in 0..64 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .map_err(|source| RuntimeError::io("find a free port for", directory, source))?;
        if let Ok(mut given) = given.lock() {
            if given.insert(port) {
                return Ok(port);
            }
        } else {
            return Ok(port);
        }
    }
    Err(RuntimeError::io(
        "find a free port for",
        directory,
        std::io::Error::other("every port offered was already given to another pod"),
    ))
}

/// One log file opened twice, for a child's stdout and stderr.
fn log_files(path: &Path) -> Result<(File, File), RuntimeError> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| RuntimeError::io("open log", path, source))?;
    let copy = log
        .try_clone()
        .map_err(|source| RuntimeError::io("open log", path, source))?;
    Ok((copy, log))
}

fn is_port_conflict(log: &str) -> bool {
    log.contains("Address already in use") || log.contains("could not bind")
}

/// The last lines of the server log, for error messages.
fn log_tail(path: &Path) -> String {
    const TAIL_BYTES: u64 = 4096;
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let length = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(TAIL_BYTES)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).trim().to_string()
}

/// What may name the run store's credentials in agentpod's environment (a shared Postgres store's
/// URL and libpq's password sources), kept from the pod's server processes: defence in depth, as
/// the agent's role cannot read a server's environment.
fn without_store_credentials(command: &mut Command) {
    for variable in [
        "AGENTPOD_STORE",
        "PGPASSWORD",
        "PGPASSFILE",
        "PGSERVICEFILE",
        "DATABASE_URL",
    ] {
        command.env_remove(variable);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_not_handed_out_twice() {
        let directory = tempfile::tempdir().expect("temp dir");
        let ports: HashSet<u16> = (0..20)
            .map(|_| free_port(directory.path()).expect("free port"))
            .collect();
        assert_eq!(ports.len(), 20);
    }

    #[test]
    fn port_conflicts_are_recognised_in_the_log() {
        assert!(is_port_conflict(
            "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use"
        ));
        assert!(!is_port_conflict(
            "FATAL:  data directory has wrong ownership"
        ));
    }

    #[test]
    fn the_log_tail_keeps_the_end() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("log");
        std::fs::write(&path, format!("{}\nlast line\n", "x".repeat(10_000))).expect("write log");
        let tail = log_tail(&path);
        assert!(tail.ends_with("last line"), "{tail}");
        assert!(tail.len() <= 4096);
    }
}
