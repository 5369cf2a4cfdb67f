//! Integration tests for `run_agent`: real processes started from small shell scripts.

mod environment;
mod exits;
mod limits;
mod outputs;
mod support;
mod termination;
