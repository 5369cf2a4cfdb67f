//! Why an issue database could not be created, dropped, or have its boundary events read.

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
}
