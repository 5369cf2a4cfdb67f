//! Errors of a page: what was asked for is not there, the request was wrong, or the store
//! could not be read.

use agentpod_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("cannot read the run store")]
    Store(#[source] StoreError),
    #[error("cannot build the page's figures")]
    Report(#[from] agentpod_report::ReportError),
}

impl From<StoreError> for ViewError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::RunNotFound(_) => ViewError::NotFound(error.to_string()),
            StoreError::AmbiguousRun { .. } => ViewError::BadRequest(error.to_string()),
            error => ViewError::Store(error),
        }
    }
}
