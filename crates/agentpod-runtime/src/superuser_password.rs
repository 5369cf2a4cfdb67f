//! Replacing a seeded cluster's superuser password: each pod restored from a seed gets its own,
//! and (local runtime) a seed is stored with none.

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

use crate::error::RuntimeError;
use agentpod_postgres_server::PostgresEndpoint;

/// Logs in as `endpoint`'s superuser and sets its password to `password`; `None` removes it, so
/// that no password logs in as the superuser any more.
pub(crate) async fn replace_superuser_password(
    endpoint: &PostgresEndpoint,
    password: Option<&str>,
) -> Result<(), RuntimeError> {
    let failed = |source| RuntimeError::SuperuserPassword { source };
    let mut connection = PgConnectOptions::new()
        .host(&endpoint.host)
        .port(endpoint.port)
        .username(&endpoint.user)
        .password(&endpoint.password)
        .database("postgres")
        .ssl_mode(PgSslMode::Disable)
        .disable_statement_logging()
        .connect()
        .await
        .map_err(failed)?;
    let statement = format!(
        "ALTER ROLE \"{}\" PASSWORD {}",
        endpoint.user.replace('"', "\"\""),
        password_literal(password)
    );
    sqlx::raw_sql(AssertSqlSafe(statement))
        .execute(&mut connection)
        .await
        .map_err(failed)?;
    connection.close().await.map_err(failed)
}

/// `'secret'` (quotes doubled) or `NULL`.
pub(crate) fn password_literal(password: Option<&str>) -> String {
    match password {
        Some(password) => format!("'{}'", password.replace('\'', "''")),
        None => "NULL".to_string(),
    }
}
