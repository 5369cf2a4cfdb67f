//! Why a sample could not be drawn.

/// A sampling request that cannot be satisfied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    #[error("sample size must be at least 1")]
    ZeroSize,
    #[error("cannot stratify by `{field}`: no issue has that field")]
    UnknownStratifyField { field: String },
}
