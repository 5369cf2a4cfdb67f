//! The Docker runtime: each pod is an internal network with a Postgres container on it.

mod docker_client;
mod docker_garbage;
mod docker_pod;
mod docker_runtime;
mod host_firewall;
mod image;
mod pod_data;
mod seed_image;

pub(crate) use docker_client::connect as connect_docker;
pub(crate) use docker_garbage::collect_docker_resources;
pub use docker_runtime::DockerRuntime;
pub(crate) use seed_image::remove_seed_images;
