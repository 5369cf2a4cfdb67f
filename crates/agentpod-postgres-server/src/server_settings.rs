//! The settings every pod's Postgres server starts with, on every runtime.

/// `-c name=value` settings for `postgres`.
///
/// Durability is off: pod data is thrown away, and fsyncs cost most of initdb's and seeding's
/// time. The JSON log records every statement that ends in an error with its user, database and
/// SQLSTATE; the database crate reads it (as the superuser, via `pg_current_logfile`) to record
/// the agent's refused attempts as boundary violations. It needs the logging collector, which
/// only starts with the server, hence here rather than at runtime.
pub const POSTGRES_SETTINGS: &[(&str, &str)] = &[
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    ("logging_collector", "on"),
    ("log_destination", "jsonlog"),
    ("log_directory", "log"),
    ("log_filename", "agentpod.log"),
    ("log_rotation_age", "0"),
    ("log_rotation_size", "0"),
    ("log_min_error_statement", "warning"),
];

/// The settings as `postgres` arguments: `-c name=value …`.
pub fn postgres_arguments() -> Vec<String> {
    POSTGRES_SETTINGS
        .iter()
        .flat_map(|(name, value)| ["-c".to_string(), format!("{name}={value}")])
        .collect()
}
