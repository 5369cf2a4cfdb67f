//! Integration tests for agentpod-issues: one binary, one module per concern.

mod bad_issues;
mod loading;
mod sampling;
