//! The local runtime: pods made of host Postgres binaries in temporary data directories.

mod local_garbage;
mod local_pod;
mod local_runtime;
mod pod_marker;
mod postgres_binaries;
mod postmaster;
mod process_spawner;
mod seed_directory;
mod server_user;

pub(crate) use local_garbage::{collect_local_pods, collect_local_seeds};
pub use local_runtime::LocalRuntime;
