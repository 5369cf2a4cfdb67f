//! Runtimes: the Pod and Runtime traits, with Docker (bollard) and local (initdb/pg_ctl) implementations.
