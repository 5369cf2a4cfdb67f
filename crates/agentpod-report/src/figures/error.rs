//! Errors of the report layer: inputs it cannot work with, and renderings it cannot produce.

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot compare fewer than two runs (got {0})")]
    TooFewRuns(usize),
    #[error("cannot render {what} as {format}")]
    UnsupportedFormat {
        what: &'static str,
        format: &'static str,
    },
    #[error("unknown report format `{0}` (expected terminal, json, markdown, junit or html)")]
    UnknownFormat(String),
    #[error("cannot serialize the {what} as JSON")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write the JUnit XML")]
    Junit {
        #[source]
        source: quick_junit::SerializeError,
    },
}
