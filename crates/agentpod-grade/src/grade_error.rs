//! Why a grader could not grade at all, as opposed to an issue failing a check.

#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error("cannot connect to the issue database to run the sql assertions")]
    Connect {
        #[source]
        source: sqlx::Error,
    },
}
