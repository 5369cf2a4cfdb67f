//! Why an issue database could not be created or dropped.

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
}
