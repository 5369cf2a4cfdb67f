//! The `agent` role: what the agent connects as. It can log in and work with the fixture
//! tables, and nothing more — no superuser, no creating roles or databases. The finer
//! AI-writable boundary replaces these table grants with exactly its own (`boundary_grants`).

use rand::RngExt;
use sqlx::{AssertSqlSafe, PgConnection};

use crate::database_name::{quote_identifier, quote_literal};

pub(crate) const AGENT_ROLE: &str = "agent";

const PASSWORD_LENGTH: usize = 32;

pub(crate) fn new_password() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(PASSWORD_LENGTH)
        .map(char::from)
        .collect()
}

/// Creates the role, or resets an existing one (from an earlier seed on the same server) to the
/// same attributes and the new password, since an old password cannot be read back.
pub(crate) async fn ensure(
    connection: &mut PgConnection,
    password: &str,
) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
            .bind(AGENT_ROLE)
            .fetch_one(&mut *connection)
            .await?;
    let verb = if exists { "ALTER" } else { "CREATE" };
    let statement = format!(
        "{verb} ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}",
        quote_identifier(AGENT_ROLE),
        quote_literal(password)
    );
    sqlx::raw_sql(AssertSqlSafe(statement))
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Table-level grants in every user schema of the connected database. They live in that
/// database's catalog, so clones of the template inherit them.
pub(crate) async fn grant_table_access(connection: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(
        "DO $grants$
        DECLARE
            schema_name name;
        BEGIN
            FOR schema_name IN
                SELECT nspname FROM pg_namespace
                WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
            LOOP
                EXECUTE format('GRANT USAGE ON SCHEMA %I TO agent', schema_name);
                EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO agent', schema_name);
                EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO agent', schema_name);
            END LOOP;
        END
        $grants$",
    )
    .execute(&mut *connection)
    .await?;
    Ok(())
}
