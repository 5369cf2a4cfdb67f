//! `RuntimeError`: everything that can go wrong starting, stopping or sweeping pods, phrased so
//! the message says what to do next.

use std::path::PathBuf;

/// Errors of the runtimes. Messages are lowercase fragments that read after "failed to".
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "connect to a docker engine (no answer within {seconds} s: {reason}); start Docker, set DOCKER_HOST, or use --runtime local"
    )]
    DockerUnavailable { seconds: u64, reason: String },

    #[error("{action}")]
    Docker {
        action: String,
        #[source]
        source: bollard::errors::Error,
    },

    #[error(
        "find image {image}: not found locally and cannot be pulled ({reason}); run scripts/build-postgres-image"
    )]
    ImageUnavailable { image: String, reason: String },

    #[error("find the address of container {container} on network {network}")]
    ContainerAddress { container: String, network: String },

    #[error("find the gateway address of network {network}")]
    NetworkGateway { network: String },

    #[error(
        "keep container {container} running: it stopped during startup; its last log lines:\n{log_tail}"
    )]
    ContainerExited { container: String, log_tail: String },

    #[error(
        "find PostgreSQL server binaries (initdb and postgres) on PATH or in /usr/lib/postgresql/*/bin; install them (e.g. apt-get install postgresql) or use --runtime docker"
    )]
    PostgresBinariesNotFound,

    #[error(
        "find a runtime: {docker}; and no local PostgreSQL binaries (initdb, postgres) on PATH or in /usr/lib/postgresql/*/bin. Start a Docker engine or install PostgreSQL server binaries"
    )]
    NoRuntime { docker: String },

    #[error("parse runtime `{0}`; expected `docker` or `local`")]
    UnknownRuntimeKind(String),

    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("initialise a database cluster in {data_dir} (initdb exited with {status}):\n{output}")]
    InitDb {
        data_dir: PathBuf,
        status: String,
        output: String,
    },

    #[error(
        "keep postgres running in {data_dir}: it exited during startup; its last log lines:\n{log_tail}"
    )]
    PostgresExited { data_dir: PathBuf, log_tail: String },

    #[error("reach postgres at {host}:{port} within {seconds} s")]
    NotReady {
        host: String,
        port: u16,
        seconds: u64,
        /// The last attempt's failure.
        #[source]
        last_error: crate::readiness::NotReadyYet,
    },

    #[error("read pod marker {path}")]
    Marker {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("stop process {pid} (postmaster of {path})")]
    Signal {
        pid: u32,
        path: PathBuf,
        #[source]
        source: nix::errno::Errno,
    },

    #[error("open host ports {ports} to pod bridge {bridge}: {reason}")]
    Firewall {
        bridge: String,
        ports: String,
        reason: String,
    },

    #[error("run a blocking cleanup task: {0}")]
    Task(String),

    /// `server`: the seeding container (Docker) or pod directory (local).
    #[error("keep the seeded cluster of {server}: {reason}")]
    SeedNotKept { server: String, reason: String },

    #[error("use the seed cache entry {entry}: {reason}")]
    SeedEntry { entry: PathBuf, reason: String },

    #[error("give the restored cluster in {data_dir} the pod's own superuser password: {output}")]
    LocalSuperuserPassword { data_dir: PathBuf, output: String },

    #[error("replace the seeded cluster's superuser password")]
    SuperuserPassword {
        #[source]
        source: sqlx::Error,
    },
}

impl RuntimeError {
    pub(crate) fn docker(action: impl Into<String>, source: bollard::errors::Error) -> Self {
        Self::Docker {
            action: action.into(),
            source,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_image_names_the_build_script() {
        let message = RuntimeError::ImageUnavailable {
            image: "postgres:15".to_string(),
            reason: "no registry".to_string(),
        }
        .to_string();
        assert!(message.contains("postgres:15"), "{message}");
        assert!(
            message.contains("scripts/build-postgres-image"),
            "{message}"
        );
    }

    #[test]
    fn no_runtime_says_what_to_install() {
        let message = RuntimeError::NoRuntime {
            docker: "no docker engine answers".to_string(),
        }
        .to_string();
        assert!(message.contains("Docker"), "{message}");
        assert!(message.contains("PostgreSQL server binaries"), "{message}");
    }
}
