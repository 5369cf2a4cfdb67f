//! Why an issue database could not be created, dropped, have its boundary events read, or have
//! its state captured.

/// A failure managing per-issue databases on a seeded pod.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create issue database `{name}`: {source}")]
    Create {
        name: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot drop issue database `{name}`: {source}")]
    Drop {
        name: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot {action} of issue database `{name}`: {source}")]
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
    #[error("cannot {action} for a state snapshot: {source}")]
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
