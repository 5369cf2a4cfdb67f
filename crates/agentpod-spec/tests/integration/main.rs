//! Integration tests for pod spec loading, in one binary: every spec under `tests/invalid` fails
//! with a snapshot of its rendered error, and every spec under `tests/valid` decodes to the
//! expected `PodSpec`. Cargo runs them from the crate directory, so paths stay relative.

mod invalid_specs;
mod valid_specs;
