//! The agent role's privileges under a boundary: exactly the grants its classes call for, and
//! nothing else — every line below closes or opens one specific door.

use agentpod_spec::AccessClass;
use sqlx::{AssertSqlSafe, PgConnection};

use crate::agent_role::AGENT_ROLE;
use crate::audit_schema::AUDIT_SCHEMA;
use crate::catalog::CatalogTable;
use crate::database_name::{quote_identifier, quote_literal};
use crate::effective_boundary::EffectiveTable;

/// Server-side functions that reach the server's files, programs or configuration. Postgres
/// already keeps most from PUBLIC; revoking again costs nothing and survives a fixture (or an
/// older server) that granted them.
const SERVER_FILE_FUNCTIONS: &[&str] = &[
    "lo_import",
    "lo_export",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_stat_file",
    "pg_ls_dir",
    "pg_ls_logdir",
    "pg_ls_waldir",
    "pg_ls_tmpdir",
    "pg_ls_archive_statusdir",
    "pg_ls_logicalsnapdir",
    "pg_ls_logicalmapdir",
    "pg_ls_replslotdir",
    "pg_current_logfile",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_promote",
];

/// Role attributes and memberships live in the cluster, not in a database: run on any
/// superuser connection.
pub(crate) async fn restrict_role(admin: &mut PgConnection) -> Result<(), sqlx::Error> {
    let agent = quote_identifier(AGENT_ROLE);
    let statement = format!(
        // The attributes that bypass grants altogether, each explicitly off.
        "ALTER ROLE {agent} WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
         -- Per-role settings could preset parameters for every session of the agent.
         ALTER ROLE {agent} RESET ALL;
         DO $memberships$
         DECLARE
             granted name;
             parameter text;
         BEGIN
             -- No role to SET ROLE into or inherit from: pg_read_server_files,
             -- pg_write_server_files, pg_execute_server_program, pg_signal_backend, or any role
             -- a fixture or an earlier run granted.
             FOR granted IN
                 SELECT g.rolname FROM pg_auth_members m
                 JOIN pg_roles g ON g.oid = m.roleid
                 JOIN pg_roles u ON u.oid = m.member
                 WHERE u.rolname = {agent_literal}
             LOOP
                 EXECUTE format('REVOKE %I FROM %I CASCADE', granted, {agent_literal});
             END LOOP;
             -- Postgres 15 can grant SET and ALTER SYSTEM on single parameters to a role.
             FOR parameter IN SELECT parname FROM pg_parameter_acl LOOP
                 EXECUTE format('REVOKE ALL ON PARAMETER %s FROM %I', parameter, {agent_literal});
             END LOOP;
         END
         $memberships$",
        agent_literal = quote_literal(AGENT_ROLE),
    );
    sqlx::raw_sql(AssertSqlSafe(statement))
        .execute(&mut *admin)
        .await?;
    Ok(())
}

/// Removes every privilege the agent (or PUBLIC, which the agent is part of) holds on user
/// objects of the template, then grants what each table's class calls for. Runs in the
/// template, so every issue database cloned from it inherits the result.
pub(crate) async fn grant(
    template: &mut PgConnection,
    tables: &[(&CatalogTable, &EffectiveTable)],
) -> Result<(), sqlx::Error> {
    let mut statements = vec![reset_statement()];
    for (table, effective) in tables {
        statements.extend(table_grants(table, effective));
    }
    sqlx::raw_sql(AssertSqlSafe(statements.join(";\n")))
        .execute(&mut *template)
        .await?;
    Ok(())
}

fn reset_statement() -> String {
    let functions = SERVER_FILE_FUNCTIONS
        .iter()
        .map(|name| quote_literal(name))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "DO $reset$
         DECLARE
             schema_name name;
             language_name name;
             function regprocedure;
         BEGIN
             FOR schema_name IN
                 SELECT nspname FROM pg_namespace
                 WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
                   AND nspname <> {audit_literal}
             LOOP
                 -- Seeding granted everything; PUBLIC may hold grants a fixture gave. Revoking a
                 -- table privilege also revokes it on every column.
                 EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC, {agent}', schema_name);
                 EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM PUBLIC, {agent}', schema_name);
                 -- No new tables, functions, views or triggers' functions in a shared schema.
                 EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC, {agent}', schema_name);
                 -- Lookup only: table privileges still decide; the fixtures' functions stay callable.
                 EXECUTE format('GRANT USAGE ON SCHEMA %I TO {agent}', schema_name);
             END LOOP;
             -- No procedural language: an exception handler (a DO block or a function of
             -- the agent's own) catches a refused statement before the server logs it, so the
             -- agent could probe the boundary unrecorded. SQL functions cannot catch errors.
             FOR language_name IN
                 SELECT lanname FROM pg_language WHERE lanpltrusted AND lanname <> 'sql'
             LOOP
                 EXECUTE format('REVOKE USAGE ON LANGUAGE %I FROM PUBLIC, {agent}', language_name);
             END LOOP;
             FOR function IN
                 SELECT p.oid::regprocedure FROM pg_proc p
                 WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname IN ({functions})
             LOOP
                 EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, {agent}', function);
             END LOOP;
         END
         $reset$",
        agent = quote_identifier(AGENT_ROLE),
        audit_literal = quote_literal(AUDIT_SCHEMA),
    )
}

/// The grants for one table. Without column rules that change anything, table privileges;
/// otherwise column privileges, which is how Postgres hides or opens single columns.
fn table_grants(table: &CatalogTable, effective: &EffectiveTable) -> Vec<String> {
    let agent = quote_identifier(AGENT_ROLE);
    let quoted = table.quoted();
    let table_writes = writes(effective.access);
    let mut statements = Vec::new();
    let uniform = effective
        .columns
        .iter()
        .all(|(_, access)| *access == effective.access);
    if uniform {
        match effective.access {
            AccessClass::Writable | AccessClass::Approval => statements.push(format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {quoted} TO {agent}"
            )),
            AccessClass::ReadOnly => {
                statements.push(format!("GRANT SELECT ON TABLE {quoted} TO {agent}"));
            }
            // Not even SELECT: without any privilege the rows cannot be read, written,
            // referenced by a view the agent owns, or locked.
            AccessClass::Hidden => {}
        }
    } else {
        let columns_where = |keep: fn(AccessClass) -> bool| -> Vec<String> {
            table
                .columns
                .iter()
                .filter(|column| keep(effective.column_access(column)))
                .map(|column| quote_identifier(column))
                .collect()
        };
        let readable = columns_where(|access| access != AccessClass::Hidden);
        let updatable = columns_where(writes);
        if !readable.is_empty() {
            statements.push(format!(
                "GRANT SELECT ({}) ON TABLE {quoted} TO {agent}",
                readable.join(", ")
            ));
        }
        if !updatable.is_empty() {
            statements.push(format!(
                "GRANT UPDATE ({}) ON TABLE {quoted} TO {agent}",
                updatable.join(", ")
            ));
        }
        // New rows and deletions are the table's business: a read-only table with one writable
        // column only lets the agent change that column of existing rows. A writable table's
        // approval columns are not insertable: a new row (or a deleted one inserted again)
        // would set them without a proposal, since the approval trigger diverts only updates
        // there. New rows get their defaults. (An approval table diverts inserts whole.)
        if table_writes {
            let insertable = if effective.access == AccessClass::Approval {
                updatable.clone()
            } else {
                columns_where(|access| access == AccessClass::Writable)
            };
            if !insertable.is_empty() {
                statements.push(format!(
                    "GRANT INSERT ({}) ON TABLE {quoted} TO {agent}",
                    insertable.join(", ")
                ));
            }
            statements.push(format!("GRANT DELETE ON TABLE {quoted} TO {agent}"));
        }
    }
    // INSERT fills serial and identity columns through their sequence, even on approval tables
    // where the trigger then diverts the row.
    if table_writes {
        for sequence in &table.sequences {
            statements.push(format!("GRANT USAGE ON SEQUENCE {sequence} TO {agent}"));
        }
    }
    statements
}

pub(crate) fn writes(access: AccessClass) -> bool {
    matches!(access, AccessClass::Writable | AccessClass::Approval)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_table() -> CatalogTable {
        CatalogTable {
            schema: "public".to_owned(),
            name: "tickets".to_owned(),
            columns: vec!["id".to_owned(), "status".to_owned(), "secret".to_owned()],
            sequences: vec!["public.tickets_id_seq".to_owned()],
        }
    }

    fn effective(access: AccessClass, columns: &[(&str, AccessClass)]) -> EffectiveTable {
        EffectiveTable {
            schema: "public".to_owned(),
            name: "tickets".to_owned(),
            access,
            declared: true,
            columns: columns
                .iter()
                .map(|(name, access)| ((*name).to_owned(), *access))
                .collect(),
        }
    }

    #[test]
    fn classes_without_column_rules_grant_table_privileges() {
        let table = catalog_table();
        assert_eq!(
            table_grants(&table, &effective(AccessClass::Writable, &[])),
            [
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE \"public\".\"tickets\" TO \"agent\"",
                "GRANT USAGE ON SEQUENCE public.tickets_id_seq TO \"agent\"",
            ]
        );
        assert_eq!(
            table_grants(&table, &effective(AccessClass::ReadOnly, &[])),
            ["GRANT SELECT ON TABLE \"public\".\"tickets\" TO \"agent\""]
        );
        assert!(table_grants(&table, &effective(AccessClass::Hidden, &[])).is_empty());
    }

    #[test]
    fn column_rules_become_column_privileges() {
        let table = catalog_table();
        let read_only_with_writable_status = effective(
            AccessClass::ReadOnly,
            &[
                ("status", AccessClass::Writable),
                ("secret", AccessClass::Hidden),
            ],
        );
        assert_eq!(
            table_grants(&table, &read_only_with_writable_status),
            [
                "GRANT SELECT (\"id\", \"status\") ON TABLE \"public\".\"tickets\" TO \"agent\"",
                "GRANT UPDATE (\"status\") ON TABLE \"public\".\"tickets\" TO \"agent\"",
            ],
            "no INSERT, DELETE or sequence on a read-only table"
        );
        let writable_with_hidden_secret =
            effective(AccessClass::Writable, &[("secret", AccessClass::Hidden)]);
        assert_eq!(
            table_grants(&table, &writable_with_hidden_secret),
            [
                "GRANT SELECT (\"id\", \"status\") ON TABLE \"public\".\"tickets\" TO \"agent\"",
                "GRANT UPDATE (\"id\", \"status\") ON TABLE \"public\".\"tickets\" TO \"agent\"",
                "GRANT INSERT (\"id\", \"status\") ON TABLE \"public\".\"tickets\" TO \"agent\"",
                "GRANT DELETE ON TABLE \"public\".\"tickets\" TO \"agent\"",
                "GRANT USAGE ON SEQUENCE public.tickets_id_seq TO \"agent\"",
            ]
        );
    }
}
