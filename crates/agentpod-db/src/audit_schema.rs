//! The audit schema in the template: where the agent's changes and proposals are recorded, by
//! triggers the agent can neither see, disable, drop nor bypass.
//!
//! Everything here is owned by the superuser. The trigger functions are `SECURITY DEFINER`
//! (they write into a schema the agent has no access to) with a fixed `search_path`, so
//! objects the agent creates in `pg_temp` cannot stand in for the ones they use. Only sessions
//! of the agent role are recorded: fixture loading and graders are not the agent.

use agentpod_spec::{AccessClass, ProposalResponse};
use sqlx::{AssertSqlSafe, PgConnection};

use crate::agent_role::AGENT_ROLE;
use crate::catalog::{CatalogTable, display_table_name};
use crate::database_name::quote_literal;
use crate::effective_boundary::EffectiveTable;
use crate::{Proposal, RowChange};

pub(crate) const AUDIT_SCHEMA: &str = "agentpod_audit";

/// Fires after the other row triggers of the table, so the change recorded is the row stored.
const CHANGE_TRIGGER: &str = "agentpod_change";
/// Sorts after most names: BEFORE triggers fire in name order, and the proposal should show the
/// row as the table's own triggers would have left it.
const APPROVAL_TRIGGER: &str = "zz_agentpod_approval";

/// Creates the schema, its tables and the trigger functions, replacing an earlier boundary.
pub(crate) async fn create(template: &mut PgConnection) -> Result<(), sqlx::Error> {
    let agent = quote_literal(AGENT_ROLE);
    let statement = format!(
        "DROP SCHEMA IF EXISTS {AUDIT_SCHEMA} CASCADE;
         CREATE SCHEMA {AUDIT_SCHEMA} AUTHORIZATION CURRENT_USER;
         -- Nobody but the superuser may look inside, whatever a fixture granted to PUBLIC.
         REVOKE ALL ON SCHEMA {AUDIT_SCHEMA} FROM PUBLIC;

         CREATE TABLE {AUDIT_SCHEMA}.changes (
             sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             table_schema text NOT NULL,
             table_name text NOT NULL,
             operation text NOT NULL,
             before jsonb,
             after jsonb,
             statement text,
             session_user_name text NOT NULL,
             recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
         );
         CREATE TABLE {AUDIT_SCHEMA}.proposals (
             sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             table_schema text NOT NULL,
             table_name text NOT NULL,
             operation text NOT NULL,
             before jsonb,
             after jsonb,
             statement text,
             proposed_by text NOT NULL,
             status text NOT NULL,
             recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
         );

         -- An issue's own role (a member of the agent group), never a superuser (for whom
         -- pg_has_role is always true): fixture loading and graders are not the agent.
         CREATE FUNCTION {AUDIT_SCHEMA}.is_agent() RETURNS boolean
         LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
             SELECT NOT rolsuper AND pg_has_role(session_user, {agent}, 'MEMBER')
             FROM pg_roles WHERE rolname = session_user
         $body$;

         CREATE FUNCTION {AUDIT_SCHEMA}.record_change() RETURNS trigger
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
         BEGIN
             IF {AUDIT_SCHEMA}.is_agent() THEN
                 INSERT INTO {AUDIT_SCHEMA}.changes
                     (table_schema, table_name, operation, before, after, statement, session_user_name)
                 VALUES (
                     TG_TABLE_SCHEMA, TG_TABLE_NAME, lower(TG_OP),
                     CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END,
                     CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END,
                     current_query(), session_user
                 );
             END IF;
             RETURN NULL;
         END
         $body$;

         -- Arguments: the response (`pending` or `approve`), then the approval columns; none
         -- means the whole table is under approval.
         CREATE FUNCTION {AUDIT_SCHEMA}.divert_to_proposal() RETURNS trigger
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
         DECLARE
             applied record;
             touches_approval boolean := TG_NARGS = 1;
             column_index integer;
         BEGIN
             IF TG_OP = 'DELETE' THEN applied := OLD; ELSE applied := NEW; END IF;
             IF NOT {AUDIT_SCHEMA}.is_agent() THEN
                 RETURN applied;
             END IF;
             FOR column_index IN 1 .. TG_NARGS - 1 LOOP
                 IF (to_jsonb(NEW) -> TG_ARGV[column_index])
                     IS DISTINCT FROM (to_jsonb(OLD) -> TG_ARGV[column_index]) THEN
                     touches_approval := true;
                 END IF;
             END LOOP;
             IF NOT touches_approval THEN
                 RETURN applied;
             END IF;
             INSERT INTO {AUDIT_SCHEMA}.proposals
                 (table_schema, table_name, operation, before, after, statement, proposed_by, status)
             VALUES (
                 TG_TABLE_SCHEMA, TG_TABLE_NAME, lower(TG_OP),
                 CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END,
                 CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END,
                 current_query(), session_user,
                 CASE WHEN TG_ARGV[0] = 'approve' THEN 'approved' ELSE 'pending' END
             );
             IF TG_ARGV[0] = 'approve' THEN
                 RETURN applied;
             END IF;
             -- Not applied: the statement goes on, reporting fewer rows.
             RETURN NULL;
         END
         $body$;

         -- Trigger functions run without an EXECUTE check when they fire; nobody needs to call
         -- them any other way.
         REVOKE ALL ON FUNCTION {AUDIT_SCHEMA}.is_agent() FROM PUBLIC;
         REVOKE ALL ON FUNCTION {AUDIT_SCHEMA}.record_change() FROM PUBLIC;
         REVOKE ALL ON FUNCTION {AUDIT_SCHEMA}.divert_to_proposal() FROM PUBLIC"
    );
    sqlx::raw_sql(AssertSqlSafe(statement))
        .execute(&mut *template)
        .await?;
    Ok(())
}

/// The triggers one table needs: change capture on every table, and diversion into proposals
/// where its class or a column's is `approval`. Capture is not limited to the tables the agent
/// may write: a foreign key's cascade or a tool function (SECURITY DEFINER) changes other
/// tables in the agent's session, and every change the agent caused must be on record.
pub(crate) fn triggers(
    table: &CatalogTable,
    effective: &EffectiveTable,
    response: ProposalResponse,
) -> Vec<String> {
    let quoted = table.quoted();
    let mut statements = Vec::new();
    let approval_columns: Vec<&str> = effective
        .columns
        .iter()
        .filter(|(_, access)| *access == AccessClass::Approval)
        .map(|(column, _)| column.as_str())
        .collect();
    statements.push(format!(
        "CREATE TRIGGER {CHANGE_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON {quoted} \
         FOR EACH ROW EXECUTE FUNCTION {AUDIT_SCHEMA}.record_change()"
    ));
    let response = quote_literal(match response {
        ProposalResponse::Pending => "pending",
        ProposalResponse::Approve => "approve",
    });
    if effective.access == AccessClass::Approval {
        statements.push(format!(
            "CREATE TRIGGER {APPROVAL_TRIGGER} BEFORE INSERT OR UPDATE OR DELETE ON {quoted} \
             FOR EACH ROW EXECUTE FUNCTION {AUDIT_SCHEMA}.divert_to_proposal({response})"
        ));
    } else if !approval_columns.is_empty() {
        // Approval columns of a table that is otherwise writable or read-only: an UPDATE that
        // changes one of them is diverted as a whole; other updates apply.
        let arguments: Vec<String> = approval_columns
            .iter()
            .map(|column| quote_literal(column))
            .collect();
        statements.push(format!(
            "CREATE TRIGGER {APPROVAL_TRIGGER} BEFORE UPDATE ON {quoted} \
             FOR EACH ROW EXECUTE FUNCTION {AUDIT_SCHEMA}.divert_to_proposal({response}, {})",
            arguments.join(", ")
        ));
    }
    statements
}

/// Installs `triggers` for every table in one round trip.
pub(crate) async fn install_triggers(
    template: &mut PgConnection,
    statements: Vec<String>,
) -> Result<(), sqlx::Error> {
    if statements.is_empty() {
        return Ok(());
    }
    sqlx::raw_sql(AssertSqlSafe(statements.join(";\n")))
        .execute(&mut *template)
        .await?;
    Ok(())
}

/// A row of either audit table: a proposal has `proposed_by` and `status`, a change neither.
#[derive(sqlx::FromRow)]
struct AuditRow {
    is_proposal: bool,
    table_schema: String,
    table_name: String,
    operation: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    statement: Option<String>,
    proposed_by: Option<String>,
    status: Option<String>,
}

/// Both audit tables in one statement: one round trip after the agent, where it waits.
const READ_EVENTS: &str =
    "SELECT false AS is_proposal, sequence, table_schema, table_name, operation,
            before, after, statement, NULL::text AS proposed_by, NULL::text AS status
     FROM agentpod_audit.changes
     UNION ALL
     SELECT true, sequence, table_schema, table_name, operation, before, after, statement,
            proposed_by, status
     FROM agentpod_audit.proposals
     ORDER BY is_proposal, sequence";

/// The audit tables of one issue database, each in the order its rows were recorded. The
/// statement is prepared on the connection at its first use: [`warm_up`] makes that happen
/// before the agent ends.
pub(crate) async fn read_events(
    connection: &mut PgConnection,
) -> Result<(Vec<RowChange>, Vec<Proposal>), sqlx::Error> {
    let rows: Vec<AuditRow> = sqlx::query_as(READ_EVENTS)
        .fetch_all(&mut *connection)
        .await?;
    let mut changes = Vec::new();
    let mut proposals = Vec::new();
    for row in rows {
        let table = display_table_name(&row.table_schema, &row.table_name);
        let statement = row.statement.unwrap_or_default();
        match (row.is_proposal, row.proposed_by, row.status) {
            (true, Some(proposed_by), Some(status)) => proposals.push(Proposal {
                table,
                operation: row.operation,
                before: row.before,
                after: row.after,
                statement,
                proposed_by,
                status,
            }),
            _ => changes.push(RowChange {
                table,
                operation: row.operation,
                before: row.before,
                after: row.after,
                statement,
            }),
        }
    }
    Ok((changes, proposals))
}

/// Prepares [`READ_EVENTS`] on `connection` and loads what the server needs to run it (the
/// audit tables' catalog entries), while the agent works: the read after the agent is then one
/// round trip on a warm backend. Reads no rows.
pub(crate) async fn warm_up(connection: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::Executor::prepare(
        &mut *connection,
        sqlx::SqlSafeStr::into_sql_str(READ_EVENTS),
    )
    .await
    .map(drop)
}
