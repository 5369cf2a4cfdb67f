//! Why an issue database could not be created, dropped, have its boundary events read, or have
//! its state captured.

/// A failure managing per-issue databases on a seeded pod.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create issue database `{name}`")]
    Create {
        name: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot drop issue database `{name}`")]
    Drop {
        name: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot {action} of issue database `{name}`")]
    Events {
        name: String,
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "cannot read boundary violations of issue database `{name}`: the server keeps no JSON log (start it with logging_collector=on and log_destination=jsonlog)"
    )]
    NoViolationLog { name: String },
    #[error(
        "the agent's sessions on issue database `{name}` did not end when terminated; its events cannot be read completely"
    )]
    SessionsOutlived { name: String },
    #[error(
        "the server's log grew by {bytes} bytes during issue database `{name}`, past what agentpod reads; its violations cannot be read completely"
    )]
    LogTooLarge { name: String, bytes: u64 },
    #[error(
        "the server's log did not catch up for issue database `{name}`; its violations cannot be read completely"
    )]
    LogIncomplete { name: String },
    #[error("cannot {action} for a state snapshot")]
    Snapshot {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot snapshot table `{table}`: the database has no such table")]
    UnknownSnapshotTable { table: String },
    #[error("cannot ignore column `{column}` in a state snapshot: {reason}")]
    UnknownIgnoredColumn { column: String, reason: String },
}
