//! Runtimes: the `Pod` and `Runtime` traits, with Docker (bollard) and local (initdb/postgres)
//! implementations, and the garbage collector that sweeps what crashed runs left behind.

mod detect;
mod docker;
mod error;
mod garbage_collector;
pub mod labels;
mod local;
mod naming;
mod output_area;
mod owner;
mod pod;
mod pod_request;
mod readiness;
mod runtime;
mod runtime_kind;
mod seed_cache;
mod superuser_password;

pub use agentpod_postgres_server::{POSTGRES_SETTINGS, PostgresEndpoint};
pub use detect::detect_runtime;
pub use docker::DockerRuntime;
pub use error::RuntimeError;
pub use garbage_collector::{GcOptions, GcReport, collect_garbage};
pub use local::LocalRuntime;
pub use output_area::OutputArea;
pub use pod::{LaunchedAgent, Pod};
pub use pod_request::PodRequest;
pub use readiness::NotReadyYet;
pub use runtime::Runtime;
pub use runtime_kind::RuntimeKind;
pub use seed_cache::{SEED_REPOSITORY, SeedCache, SeedImage, SeedingServer, seed_image_name};
