//! Errors of the run store.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the run store directory {path}")]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot take the lock {path} that guards opening the run store")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the run store {path} is on a read-only file system")]
    ReadOnly { path: PathBuf },
    #[error("cannot open the run store {store}")]
    Open {
        store: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the run store {store}")]
    Migrate {
        store: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("run store query failed")]
    Query(#[from] sqlx::Error),
    #[error("no run matches `{0}` (see `agentpod runs`)")]
    RunNotFound(String),
    #[error("`{prefix}` matches several runs: {candidates}; give more characters")]
    AmbiguousRun { prefix: String, candidates: String },
    #[error("no run store in {0} (start a run with `agentpod run` first, or check --store)")]
    NoStore(String),
    #[error(
        "run {0} is being run by another agentpod process (on this or another machine); wait for it to end, or stop it first"
    )]
    RunBusy(String),
    #[error("run {0} is already in the run store")]
    RunExists(String),
    #[error("not a run bundle this agentpod reads (format `{0}`)")]
    BundleFormat(String),
    #[error("run store holds a value it cannot read: {0}")]
    Corrupt(String),
}
