//! Integration tests for `run_agent` (real processes started from small shell scripts) and
//! `run_agent_container` (real containers in real Docker pods).

mod container_isolation;
mod container_limits;
mod container_support;
mod environment;
mod exits;
mod limits;
mod outputs;
mod prestarted;
mod support;
mod termination;
