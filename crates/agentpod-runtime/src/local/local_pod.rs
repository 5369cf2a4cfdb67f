//! `LocalPod`: a postmaster on 127.0.0.1 with its data directory under the pods root.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::Duration;

use async_trait::async_trait;

use super::postmaster;
use crate::error::RuntimeError;
use crate::pod::Pod;
use agentpod_postgres_server::PostgresEndpoint;

const SETUP_POLL_INTERVAL: Duration = Duration::from_millis(20);

pub(crate) struct LocalPod {
    pub(crate) id: String,
    pub(crate) endpoint: PostgresEndpoint,
    pub(crate) resources: LocalPodResources,
}

#[async_trait]
impl Pod for LocalPod {
    fn id(&self) -> &str {
        &self.id
    }

    fn postgres(&self) -> &PostgresEndpoint {
        &self.endpoint
    }

    async fn shutdown(self: Box<Self>) -> Result<(), RuntimeError> {
        let LocalPod { mut resources, .. } = *self;
        // Stopping waits on the process with a deadline; keep that off the async workers.
        tokio::task::spawn_blocking(move || resources.release())
            .await
            .map_err(|error| RuntimeError::Task(error.to_string()))?
    }
}

/// What a local pod owns on the machine. Releasing is idempotent, and dropping releases, so a
/// pod that fails half-way through starting, or is dropped without `shutdown`, leaves nothing.
/// A local pod's storage (cluster, log): as the Docker runtime's data tmpfs.
const POD_STORAGE_BYTES: u64 = 2 << 30;

pub(crate) struct LocalPodResources {
    directory: PathBuf,
    /// The pod directory as a sized tmpfs, where agentpod can mount one.
    storage: Option<crate::output_area::OutputArea>,
    data_dir: PathBuf,
    /// What prepares the cluster before the server: `initdb`, or the single-user server that
    /// gives a restored seed this pod's password.
    setup: Option<Child>,
    postmaster: Option<Child>,
    released: bool,
}

impl LocalPodResources {
    pub(crate) fn new(directory: PathBuf) -> Self {
        let data_dir = directory.join("data");
        Self {
            storage: Some(crate::output_area::OutputArea::mount_for_pod(
                &directory,
                POD_STORAGE_BYTES,
            )),
            directory,
            data_dir,
            setup: None,
            postmaster: None,
            released: false,
        }
    }

    pub(crate) fn directory(&self) -> &Path {
        &self.directory
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub(crate) fn set_setup(&mut self, child: Child) {
        self.setup = Some(child);
    }

    /// Waits for the setup process without blocking a runtime thread; the child stays owned
    /// here until it has exited, so a cancelled wait still leaves it to `release`.
    pub(crate) async fn wait_for_setup(&mut self) -> std::io::Result<ExitStatus> {
        loop {
            let Some(child) = self.setup.as_mut() else {
                return Err(std::io::Error::other("no setup process was started"));
            };
            if let Some(status) = child.try_wait()? {
                self.setup = None;
                return Ok(status);
            }
            tokio::time::sleep(SETUP_POLL_INTERVAL).await;
        }
    }

    pub(crate) fn set_postmaster(&mut self, child: Child) {
        self.postmaster = Some(child);
    }

    pub(crate) fn postmaster_mut(&mut self) -> Option<&mut Child> {
        self.postmaster.as_mut()
    }

    /// Stops the postmaster, if any, without removing the directory: used when a start
    /// attempt failed and is retried on another port.
    pub(crate) fn stop_postmaster(&mut self) -> Result<(), RuntimeError> {
        if let Some(mut child) = self.postmaster.take() {
            postmaster::stop_child(&mut child, &self.data_dir)?;
        }
        Ok(())
    }

    /// Stops the postmaster with a fast shutdown, leaving a consistent cluster to keep.
    pub(crate) fn stop_postmaster_cleanly(&mut self) -> Result<(), String> {
        let Some(mut child) = self.postmaster.take() else {
            return Err("the server is not running".to_string());
        };
        postmaster::stop_child_cleanly(&mut child, &self.data_dir)
    }

    pub(crate) fn release(&mut self) -> Result<(), RuntimeError> {
        if self.released {
            return Ok(());
        }
        if let Some(mut setup) = self.setup.take() {
            postmaster::kill_process_group(&mut setup);
        }
        self.stop_postmaster()?;
        // The cluster goes with its tmpfs; the directory underneath is then empty.
        if let Some(storage) = self.storage.take() {
            storage.release();
        }
        match std::fs::remove_dir_all(&self.directory) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(RuntimeError::io(
                    "remove pod directory",
                    &self.directory,
                    source,
                ));
            }
        }
        // The owner's marker beside the directory goes last, once nothing is left to name.
        let _ = std::fs::remove_file(super::pod_marker::beside(&self.directory));
        self.released = true;
        Ok(())
    }
}

impl Drop for LocalPodResources {
    fn drop(&mut self) {
        if let Err(error) = self.release() {
            tracing::warn!(directory = %self.directory.display(), %error, "cannot remove local pod; `agentpod gc` will retry");
        }
    }
}
