//! The escape suite: an agent with the issue's raw `DATABASE_URL` tries, one way per case, to
//! cross the support desk's boundary. Every case asserts three things: each attempt is refused,
//! `collect_boundary_events` reports it as a violation (statement and SQLSTATE), and the
//! protected tables — and the roles, grants and triggers guarding them — are byte-identical
//! afterwards.

use agentpod_db::{BoundaryEvents, IssueDatabase, PodDatabase};
use agentpod_spec::ProposalResponse;
use sqlx::PgConnection;

use crate::support::{
    LocalPostgres, TestResult, connect, support_desk_boundary, support_desk_pod, table_digests,
};

/// One step of an attack.
enum Step {
    /// Preparation the agent is allowed to do (a temporary view, its own function).
    Allowed(&'static str),
    /// Must fail with this SQLSTATE and be recorded as a violation with the statement.
    Refused(&'static str, &'static str),
    /// A GRANT of something the agent does not hold on an object it can see: Postgres only
    /// warns (01007) and grants nothing; recorded as a violation all the same, without the
    /// statement.
    Ignored(&'static str),
    /// `COPY ... FROM STDIN` with this data; must be refused.
    CopyIn(&'static str, &'static [u8]),
    /// Connect to another database with the agent's credentials; must be refused.
    Connect(Target, &'static str),
    /// On a second connection with the same URL, opened while the first stays open.
    SecondConnection(&'static str, &'static str),
}

#[derive(Clone, Copy)]
enum Target {
    Template,
    OtherIssue,
    Maintenance,
}

struct Attack {
    name: &'static str,
    steps: &'static [Step],
}

const INSUFFICIENT_PRIVILEGE: &str = "42501";

const ATTACKS: &[Attack] = &[
    Attack {
        name: "write a read-only table",
        steps: &[
            Step::Refused("UPDATE orders SET amount = 0", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "INSERT INTO customers (id, name, email) VALUES (9, 'Mallory', 'm@example.com')",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("DELETE FROM billing.invoices", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "UPDATE tickets SET subject = 'hijacked' WHERE id = 1",
                INSUFFICIENT_PRIVILEGE,
            ),
        ],
    },
    Attack {
        name: "read a hidden table",
        steps: &[
            Step::Refused("SELECT * FROM staff_permissions", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "SELECT count(*) FROM staff_permissions",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "BEGIN; LOCK TABLE staff_permissions IN ACCESS SHARE MODE; COMMIT",
                INSUFFICIENT_PRIVILEGE,
            ),
        ],
    },
    Attack {
        name: "write a hidden table",
        steps: &[
            Step::Refused(
                "INSERT INTO staff_permissions VALUES ('mallory', 'admin')",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "UPDATE staff_permissions SET permission = 'admin'",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("DELETE FROM staff_permissions", INSUFFICIENT_PRIVILEGE),
        ],
    },
    Attack {
        name: "read a hidden column",
        steps: &[
            Step::Refused("SELECT email FROM customers", INSUFFICIENT_PRIVILEGE),
            Step::Refused("SELECT * FROM customers", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "SELECT to_jsonb(c) FROM customers c",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "SELECT id FROM customers WHERE email LIKE 'a%'",
                INSUFFICIENT_PRIVILEGE,
            ),
        ],
    },
    Attack {
        name: "write through a temporary view",
        steps: &[
            Step::Allowed("CREATE TEMP VIEW all_orders AS SELECT * FROM orders"),
            Step::Refused("UPDATE all_orders SET amount = 0", INSUFFICIENT_PRIVILEGE),
            Step::Allowed("CREATE TEMP VIEW staff AS SELECT * FROM staff_permissions"),
            Step::Refused("SELECT * FROM staff", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "CREATE VIEW public.all_refunds AS SELECT * FROM refunds",
                INSUFFICIENT_PRIVILEGE,
            ),
        ],
    },
    Attack {
        name: "write through a function",
        steps: &[
            Step::Allowed(
                "CREATE FUNCTION pg_temp.wipe() RETURNS void LANGUAGE sql AS 'DELETE FROM orders'",
            ),
            Step::Refused("SELECT pg_temp.wipe()", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "CREATE FUNCTION public.wipe() RETURNS void LANGUAGE sql AS 'DELETE FROM orders'",
                INSUFFICIENT_PRIVILEGE,
            ),
        ],
    },
    Attack {
        name: "write through its own SECURITY DEFINER function",
        steps: &[
            Step::Allowed(
                "CREATE FUNCTION pg_temp.escalate() RETURNS void LANGUAGE sql SECURITY DEFINER \
                 AS $$ UPDATE customers SET name = 'pwned'; \
                 INSERT INTO staff_permissions VALUES ('mallory', 'admin') $$",
            ),
            Step::Refused("SELECT pg_temp.escalate()", INSUFFICIENT_PRIVILEGE),
        ],
    },
    Attack {
        name: "a trigger or an exception handler of the agent's own",
        steps: &[
            // No procedural language to write one in (an exception handler in it would also
            // hide refusals from the log)...
            Step::Refused(
                "CREATE FUNCTION pg_temp.evil() RETURNS trigger LANGUAGE plpgsql \
                 AS $$ BEGIN DELETE FROM orders; RETURN NEW; END $$",
                INSUFFICIENT_PRIVILEGE,
            ),
            // ...and no right to put even a built-in trigger function on a table.
            Step::Refused(
                "CREATE TRIGGER evil BEFORE UPDATE ON orders FOR EACH ROW \
                 EXECUTE FUNCTION suppress_redundant_updates_trigger()",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "CREATE TRIGGER evil BEFORE UPDATE ON ticket_notes FOR EACH ROW \
                 EXECUTE FUNCTION suppress_redundant_updates_trigger()",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "DO $$ BEGIN DELETE FROM orders; EXCEPTION WHEN others THEN NULL; END $$",
                INSUFFICIENT_PRIVILEGE,
            ),
        ],
    },
    Attack {
        name: "COPY into protected tables",
        steps: &[
            Step::CopyIn("COPY orders (customer_id, amount) FROM STDIN", b"1\t0\n"),
            Step::CopyIn("COPY staff_permissions FROM STDIN", b"mallory\tadmin\n"),
        ],
    },
    Attack {
        name: "COPY to and from server files and programs",
        steps: &[
            Step::Refused(
                "COPY orders TO '/tmp/agentpod-escape'",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "COPY ticket_notes (body) FROM '/etc/passwd'",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "COPY ticket_notes (body) FROM PROGRAM 'id'",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("COPY (SELECT 1) TO PROGRAM 'id'", INSUFFICIENT_PRIVILEGE),
        ],
    },
    Attack {
        name: "large objects",
        steps: &[
            Step::Refused("SELECT lo_import('/etc/passwd')", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "SELECT lo_export(lo_from_bytea(0, 'x'), '/tmp/agentpod-escape')",
                INSUFFICIENT_PRIVILEGE,
            ),
        ],
    },
    Attack {
        name: "SET ROLE and SET SESSION AUTHORIZATION",
        steps: &[
            Step::Refused("SET ROLE postgres", INSUFFICIENT_PRIVILEGE),
            Step::Refused("SET ROLE pg_write_server_files", INSUFFICIENT_PRIVILEGE),
            Step::Refused("SET SESSION AUTHORIZATION postgres", INSUFFICIENT_PRIVILEGE),
        ],
    },
    Attack {
        name: "ALTER ROLE and CREATE ROLE",
        steps: &[
            Step::Refused("ALTER ROLE agent SUPERUSER", INSUFFICIENT_PRIVILEGE),
            Step::Refused("ALTER ROLE agent CREATEROLE", INSUFFICIENT_PRIVILEGE),
            Step::Refused("ALTER ROLE agent BYPASSRLS", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "ALTER ROLE postgres PASSWORD 'owned'",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "CREATE ROLE intruder LOGIN SUPERUSER",
                INSUFFICIENT_PRIVILEGE,
            ),
        ],
    },
    Attack {
        name: "GRANT to itself, and its role to others",
        steps: &[
            Step::Refused(
                "GRANT SELECT ON staff_permissions TO agent",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Ignored("GRANT INSERT, UPDATE ON orders TO agent"),
            Step::Refused(
                "GRANT pg_read_server_files TO agent",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "GRANT pg_execute_server_program TO agent",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("GRANT postgres TO agent", INSUFFICIENT_PRIVILEGE),
            Step::Ignored("GRANT CREATE ON SCHEMA public TO agent"),
        ],
    },
    Attack {
        name: "a second connection",
        steps: &[
            Step::Refused("SET ROLE postgres", INSUFFICIENT_PRIVILEGE),
            Step::SecondConnection("SET SESSION AUTHORIZATION postgres", INSUFFICIENT_PRIVILEGE),
            Step::SecondConnection("UPDATE orders SET amount = 0", INSUFFICIENT_PRIVILEGE),
            Step::Refused("DELETE FROM staff_permissions", INSUFFICIENT_PRIVILEGE),
        ],
    },
    Attack {
        name: "DDL on protected tables",
        steps: &[
            Step::Refused(
                "ALTER TABLE orders ADD COLUMN x int",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("DROP TABLE staff_permissions", INSUFFICIENT_PRIVILEGE),
            Step::Refused("TRUNCATE orders", INSUFFICIENT_PRIVILEGE),
            Step::Refused("TRUNCATE ticket_notes", INSUFFICIENT_PRIVILEGE),
            Step::Refused("CREATE INDEX ON orders (amount)", INSUFFICIENT_PRIVILEGE),
            Step::Refused("ALTER TABLE orders OWNER TO agent", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "ALTER TABLE refunds DISABLE TRIGGER ALL",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "ALTER TABLE refunds DISABLE TRIGGER zz_agentpod_approval",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "DROP TRIGGER agentpod_change ON ticket_notes",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "CREATE RULE hide AS ON INSERT TO ticket_notes DO INSTEAD NOTHING",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "ALTER TABLE customers ENABLE ROW LEVEL SECURITY",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("COMMENT ON TABLE orders IS 'mine'", INSUFFICIENT_PRIVILEGE),
        ],
    },
    Attack {
        name: "read server files and list directories",
        steps: &[
            Step::Refused("SELECT pg_read_file('/etc/passwd')", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "SELECT pg_read_binary_file('/etc/passwd')",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("SELECT pg_ls_dir('.')", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "SELECT pg_stat_file('postgresql.conf')",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("SELECT pg_current_logfile()", INSUFFICIENT_PRIVILEGE),
        ],
    },
    Attack {
        name: "run a program",
        steps: &[Step::Refused(
            "CREATE TEMP TABLE output (line text); COPY output FROM PROGRAM 'id'",
            INSUFFICIENT_PRIVILEGE,
        )],
    },
    Attack {
        name: "CREATE EXTENSION",
        steps: &[
            Step::Refused("CREATE EXTENSION dblink", INSUFFICIENT_PRIVILEGE),
            Step::Refused("CREATE EXTENSION file_fdw", INSUFFICIENT_PRIVILEGE),
            // Trusted, so only CREATE on the database stands in the way.
            Step::Refused("CREATE EXTENSION pgcrypto", INSUFFICIENT_PRIVILEGE),
        ],
    },
    Attack {
        name: "session_replication_role to skip triggers",
        steps: &[
            Step::Refused(
                "SET session_replication_role = replica",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused(
                "SET session_replication_role = replica; INSERT INTO refunds (order_id, amount) VALUES (1, 99)",
                INSUFFICIENT_PRIVILEGE,
            ),
        ],
    },
    Attack {
        name: "hide its tracks",
        steps: &[
            Step::Refused(
                "SET log_min_error_statement = panic",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("SET log_min_messages = panic", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "SELECT * FROM agentpod_audit.proposals",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("DELETE FROM agentpod_audit.changes", INSUFFICIENT_PRIVILEGE),
            Step::Refused(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'postgres'",
                INSUFFICIENT_PRIVILEGE,
            ),
        ],
    },
    Attack {
        name: "connect to the template, another issue or the maintenance database",
        steps: &[
            Step::Connect(Target::Template, "55000"),
            Step::Connect(Target::OtherIssue, INSUFFICIENT_PRIVILEGE),
            Step::Connect(Target::Maintenance, INSUFFICIENT_PRIVILEGE),
        ],
    },
    Attack {
        name: "CREATE FUNCTION in LANGUAGE c",
        steps: &[Step::Refused(
            "CREATE FUNCTION pg_temp.system(cstring) RETURNS integer LANGUAGE c \
             AS '/lib/x86_64-linux-gnu/libc.so.6', 'system'",
            INSUFFICIENT_PRIVILEGE,
        )],
    },
    Attack {
        name: "ALTER SYSTEM",
        steps: &[
            Step::Refused(
                "ALTER SYSTEM SET log_destination = 'stderr'",
                INSUFFICIENT_PRIVILEGE,
            ),
            Step::Refused("SELECT pg_reload_conf()", INSUFFICIENT_PRIVILEGE),
        ],
    },
];

#[tokio::test]
async fn every_escape_is_refused_recorded_and_leaves_protected_data_unchanged() -> TestResult {
    let server = LocalPostgres::start().await?;
    let boundary = support_desk_boundary(ProposalResponse::Pending);
    let (pod, _) = support_desk_pod(&server, Some(&boundary)).await?;
    let mut failures = Vec::new();
    for attack in ATTACKS {
        // A database created before the attacked one, for "another issue database".
        let other = pod.create_issue_database("other").await?;
        let issue = pod.create_issue_database("escape").await?;
        let outcome = run_attack(&pod, attack, &issue, &other).await;
        pod.drop_issue_database(issue).await?;
        pod.drop_issue_database(other).await?;
        match outcome {
            Ok(problems) => failures.extend(
                problems
                    .into_iter()
                    .map(|problem| format!("{}: {problem}", attack.name)),
            ),
            Err(error) => failures.push(format!("{}: {error}", attack.name)),
        }
    }
    pod.close().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// Runs one attack and returns what went wrong; `Err` only when the test itself could not run.
async fn run_attack(
    pod: &PodDatabase,
    attack: &Attack,
    issue: &IssueDatabase,
    other: &IssueDatabase,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut admin = connect(&issue.admin_url).await?;
    let before = guarded_state(&mut admin).await?;
    let mut agent = connect(&issue.agent_url).await?;
    let mut second: Option<PgConnection> = None;
    let mut problems = Vec::new();
    // (statement, SQLSTATE) of every refusal the events must show.
    let mut expected: Vec<(Option<String>, String)> = Vec::new();

    for step in attack.steps {
        match step {
            Step::Allowed(sql) => {
                if let Err(error) = sqlx::raw_sql(*sql).execute(&mut agent).await {
                    problems.push(format!("preparation `{sql}` failed: {error}"));
                }
            }
            Step::Refused(sql, state) => {
                let result = sqlx::raw_sql(*sql).execute(&mut agent).await;
                check_refused(sql, state, result.err(), &mut problems, &mut expected);
            }
            Step::SecondConnection(sql, state) => {
                if second.is_none() {
                    second = Some(connect(&issue.agent_url).await?);
                }
                if let Some(connection) = second.as_mut() {
                    let result = sqlx::raw_sql(*sql).execute(connection).await;
                    check_refused(sql, state, result.err(), &mut problems, &mut expected);
                }
            }
            Step::Ignored(sql) => {
                if let Err(error) = sqlx::raw_sql(*sql).execute(&mut agent).await {
                    problems.push(format!("`{sql}` failed instead of being ignored: {error}"));
                }
                // Warnings are logged without their statement (`log_min_error_statement=error`).
                expected.push((None, "01007".to_owned()));
            }
            Step::CopyIn(sql, data) => {
                let refused = match agent.copy_in_raw(sql).await {
                    Ok(mut copy) => match copy.send(*data).await {
                        Ok(_) => copy.finish().await.err(),
                        Err(error) => Some(error),
                    },
                    Err(error) => Some(error),
                };
                check_refused(
                    sql,
                    INSUFFICIENT_PRIVILEGE,
                    refused,
                    &mut problems,
                    &mut expected,
                );
            }
            Step::Connect(target, state) => {
                let database = match target {
                    Target::Template => "agentpod_template",
                    Target::OtherIssue => other.name.as_str(),
                    Target::Maintenance => "postgres",
                };
                let url = issue
                    .agent_url
                    .replace(&format!("/{}", issue.name), &format!("/{database}"));
                match connect(&url).await {
                    Ok(connection) => {
                        problems.push(format!("the agent connected to `{database}`"));
                        sqlx::Connection::close(connection).await?;
                    }
                    Err(error) => {
                        let actual = sqlstate(&error);
                        if actual.as_deref() != Some(*state) {
                            problems.push(format!(
                                "connecting to `{database}` failed with {actual:?}, not {state}: {error}"
                            ));
                        }
                        expected.push((None, (*state).to_owned()));
                    }
                }
            }
        }
    }

    sqlx::Connection::close(agent).await?;
    if let Some(connection) = second {
        sqlx::Connection::close(connection).await?;
    }
    let after = guarded_state(&mut admin).await?;
    sqlx::Connection::close(admin).await?;
    for ((name, before), (_, after)) in before.iter().zip(&after) {
        if before != after {
            problems.push(format!("{name} changed: {before:?} → {after:?}"));
        }
    }

    let events = pod.collect_boundary_events(issue).await?;
    check_recorded(&events, &expected, &mut problems);
    Ok(problems)
}

fn check_refused(
    sql: &str,
    state: &str,
    error: Option<sqlx::Error>,
    problems: &mut Vec<String>,
    expected: &mut Vec<(Option<String>, String)>,
) {
    let Some(error) = error else {
        problems.push(format!("`{sql}` was not refused"));
        return;
    };
    let actual = sqlstate(&error);
    if actual.as_deref() != Some(state) {
        problems.push(format!(
            "`{sql}` failed with {actual:?}, not {state}: {error}"
        ));
    }
    expected.push((Some(sql.to_owned()), state.to_owned()));
}

/// Every expected refusal has its own violation: same statement (none for a refused
/// connection) and SQLSTATE. And nothing was changed or proposed.
fn check_recorded(
    events: &BoundaryEvents,
    expected: &[(Option<String>, String)],
    problems: &mut Vec<String>,
) {
    let mut unmatched: Vec<_> = events.violations.iter().collect();
    for (statement, state) in expected {
        let position = unmatched.iter().position(|violation| {
            &violation.sqlstate == state
                && (statement.is_none() || violation.statement.as_ref() == statement.as_ref())
        });
        match position {
            Some(index) => {
                unmatched.remove(index);
            }
            None => problems.push(format!(
                "no violation recorded for {statement:?} ({state}); recorded: {:?}",
                events.violations
            )),
        }
    }
    if !events.changes.is_empty() {
        problems.push(format!("changes were recorded: {:?}", events.changes));
    }
    if !events.proposals.is_empty() {
        problems.push(format!("proposals were recorded: {:?}", events.proposals));
    }
}

fn sqlstate(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|database_error| database_error.code())
        .map(|code| code.into_owned())
}

/// What the boundary protects, as `(what, digest)`: the protected tables' rows, and the
/// roles, memberships, grants, triggers, extensions and large objects that guard them.
async fn guarded_state(
    admin: &mut PgConnection,
) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    let mut state = table_digests(admin).await?;
    for (name, query) in [
        (
            "the agent role",
            "SELECT format('%s %s %s %s %s %s', rolsuper, rolcreaterole, rolcreatedb, \
             rolreplication, rolbypassrls, rolconfig) FROM pg_roles WHERE rolname = 'agent'",
        ),
        (
            "role memberships",
            "SELECT string_agg(format('%s>%s', roleid::regrole, member::regrole), ',' \
             ORDER BY roleid, member) FROM pg_auth_members",
        ),
        (
            "roles",
            "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles",
        ),
        (
            "table grants and owners",
            "SELECT md5(string_agg(format('%s %s %s', c.oid::regclass, c.relowner::regrole, c.relacl), \
             ',' ORDER BY c.oid::regclass::text)) FROM pg_class c \
             WHERE c.relnamespace::regnamespace::text IN ('public', 'billing', 'agentpod_audit')",
        ),
        (
            "column grants",
            "SELECT md5(string_agg(format('%s %s %s', attrelid::regclass, attname, attacl), ',' \
             ORDER BY attrelid, attnum)) FROM pg_attribute WHERE attacl IS NOT NULL",
        ),
        (
            "triggers",
            "SELECT string_agg(format('%s %s %s', tgrelid::regclass, tgname, tgenabled), ',' \
             ORDER BY tgrelid, tgname) FROM pg_trigger WHERE NOT tgisinternal",
        ),
        (
            "rules and policies",
            "SELECT format('%s %s', (SELECT count(*) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class \
             WHERE c.relnamespace::regnamespace::text IN ('public', 'billing')), \
             (SELECT count(*) FROM pg_policy))",
        ),
        (
            "schemas",
            // Temporary schemas come and go with the agent's sessions.
            "SELECT string_agg(format('%s %s', nspname, nspacl), ',' ORDER BY nspname) \
             FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%temp\\_%'",
        ),
        (
            "database grants",
            "SELECT string_agg(format('%s %s %s', datname, datallowconn, datacl), ',' \
             ORDER BY datname) FROM pg_database",
        ),
        (
            "extensions",
            "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension",
        ),
        (
            "large objects",
            "SELECT count(*)::text FROM pg_largeobject_metadata",
        ),
        (
            "functions outside pg_temp",
            "SELECT md5(string_agg(format('%s %s', oid::regprocedure, proacl), ',' ORDER BY oid)) \
             FROM pg_proc WHERE pronamespace::regnamespace::text NOT LIKE 'pg\\_temp%'",
        ),
        (
            "server settings",
            "SELECT md5(string_agg(format('%s=%s', name, setting), ',' ORDER BY name)) \
             FROM pg_settings WHERE context IN ('postmaster', 'sighup', 'superuser')",
        ),
        (
            "the audit",
            "SELECT format('%s %s', (SELECT count(*) FROM agentpod_audit.changes), \
             (SELECT count(*) FROM agentpod_audit.proposals))",
        ),
    ] {
        let digest: Option<String> = sqlx::query_scalar(query).fetch_one(&mut *admin).await?;
        state.push((name.to_owned(), digest));
    }
    Ok(state)
}
