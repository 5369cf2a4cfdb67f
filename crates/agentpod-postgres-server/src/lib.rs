//! What a pod's Postgres server is, on every runtime: where it answers (`PostgresEndpoint`) and
//! the settings it starts with (`POSTGRES_SETTINGS`). The runtimes start servers like this; the
//! database crate and the test server use them without depending on any runtime.

mod postgres_endpoint;
mod server_settings;

pub use postgres_endpoint::PostgresEndpoint;
pub use server_settings::{POSTGRES_SETTINGS, postgres_arguments};
