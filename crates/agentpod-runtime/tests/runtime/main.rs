//! Integration tests of the runtimes against a real Docker engine and real Postgres binaries.
//! One binary, with a module per runtime; `support` holds the shared helpers, including the
//! child-process helper that starts a pod and dies without cleaning up.

mod docker;
mod garbage;
mod local;
mod local_seeds;
mod support;
