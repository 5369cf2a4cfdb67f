//! The agent's roles. `agent` is a group role that holds the table grants (the AI-writable
//! boundary replaces them with exactly its own, see `boundary_grants`) and cannot log in. Each
//! issue (and trial) logs in as a role of its own, created with its database, a member of
//! `agent` with a password nobody else has, and dropped with the database: what one issue does
//! to its role (a password, a setting) ends with it, and everything the server logs is
//! attributed to the issue by role name, never by time.

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

/// How many sessions one issue's agent may hold open at once.
const ISSUE_CONNECTION_LIMIT: u32 = 16;

/// The most disk an issue's sorts, hashes and temporary tables may spill at once. A server
/// setting only a superuser may change, so the agent cannot lift it.
const ISSUE_TEMP_FILE_LIMIT: &str = "256MB";

/// A session left idle inside a transaction holds locks the next grader needs.
const ISSUE_IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";

/// A new, unique name for an issue's role.
pub(crate) fn issue_role_name() -> String {
    let suffix: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(16)
        .map(|byte| char::from(byte).to_ascii_lowercase())
        .collect();
    format!("{AGENT_ROLE}_{suffix}")
}

/// The statements that create an issue's role: it can log in (to `database` only, which the
/// caller grants) when `login`, or once it is handed out; it inherits the boundary from
/// `agent`, and has server-enforced bounds.
pub(crate) fn create_issue_role(role: &str, password: &str, login: bool) -> String {
    let quoted = quote_identifier(role);
    let login = if login { "LOGIN" } else { "NOLOGIN" };
    format!(
        "CREATE ROLE {quoted} WITH {login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
         NOBYPASSRLS INHERIT CONNECTION LIMIT {ISSUE_CONNECTION_LIMIT} PASSWORD {password} \
         IN ROLE {agent}; \
         ALTER ROLE {quoted} SET temp_file_limit = {temp_file_limit}; \
         ALTER ROLE {quoted} SET idle_in_transaction_session_timeout = {idle}",
        password = quote_literal(password),
        agent = quote_identifier(AGENT_ROLE),
        temp_file_limit = quote_literal(ISSUE_TEMP_FILE_LIMIT),
        idle = quote_literal(ISSUE_IDLE_IN_TRANSACTION_TIMEOUT),
    )
}

/// Creates the group role, or resets an existing one (from an earlier seed on the same server)
/// to the same attributes.
pub(crate) async fn ensure(connection: &mut PgConnection) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)")
            .bind(AGENT_ROLE)
            .fetch_one(&mut *connection)
            .await?;
    let verb = if exists { "ALTER" } else { "CREATE" };
    let statement = format!(
        "{verb} ROLE {} WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
        quote_identifier(AGENT_ROLE),
    );
    sqlx::raw_sql(AssertSqlSafe(statement))
        .execute(&mut *connection)
        .await?;
    // Issue roles an earlier seed on this server left behind log in no more.
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DO $issue_roles$
         DECLARE
             issue_role name;
         BEGIN
             FOR issue_role IN
                 SELECT u.rolname FROM pg_auth_members m
                 JOIN pg_roles g ON g.oid = m.roleid
                 JOIN pg_roles u ON u.oid = m.member
                 WHERE g.rolname = {agent} AND u.rolcanlogin
             LOOP
                 EXECUTE format('ALTER ROLE %I WITH NOLOGIN', issue_role);
             END LOOP;
         END
         $issue_roles$",
        agent = quote_literal(AGENT_ROLE)
    )))
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
