//! Test support: the shared throwaway Postgres (`agentpod-test-postgres`), and fixtures,
//! boundaries and digests for these tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use agentpod_db::{EffectiveBoundary, PodDatabase};
use agentpod_spec::{
    AccessClass, BoundarySpec, ColumnRule, Fixture, FixtureKind, ProposalResponse, TableRule,
};
use sqlx::PgConnection;

pub use agentpod_test_postgres::{LocalPostgres, TestResult, connect};

pub fn fixtures_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn bad_fixtures_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-fixtures")
}

pub fn sql(path: PathBuf) -> Fixture {
    Fixture {
        path,
        kind: FixtureKind::Sql,
        line: 1,
    }
}

pub fn csv(path: PathBuf, table: &str) -> Fixture {
    Fixture {
        path,
        kind: FixtureKind::Csv {
            table: table.to_owned(),
        },
        line: 1,
    }
}

pub fn json_lines(path: PathBuf, table: &str) -> Fixture {
    Fixture {
        path,
        kind: FixtureKind::JsonLines {
            table: table.to_owned(),
        },
        line: 1,
    }
}

/// A support desk: tickets, notes, refunds, customers, orders, staff permissions, and a
/// `billing` schema; the tables the escape suite protects.
pub fn support_desk_fixtures() -> Vec<Fixture> {
    vec![sql(fixtures_directory().join("support-desk.sql"))]
}

/// The schema and data of `tests/fixtures/`: customers (CSV), orders (JSON lines).
pub fn shop_fixtures() -> Vec<Fixture> {
    let directory = fixtures_directory();
    vec![
        sql(directory.join("schema.sql")),
        csv(directory.join("customers.csv"), "customers"),
        json_lines(directory.join("orders.jsonl"), "orders"),
    ]
}

/// The support desk's boundary: notes and ticket status writable, refunds by approval,
/// customers and orders read-only with customers' email hidden, staff permissions hidden, and
/// `billing.invoices` read-only through the default.
pub fn support_desk_boundary(on_proposal: ProposalResponse) -> BoundarySpec {
    let table = |table: &str, access: AccessClass, line: usize| TableRule {
        table: table.to_owned(),
        access,
        line,
        column: 5,
    };
    let column = |table: &str, column: &str, access: AccessClass, line: usize| ColumnRule {
        table: table.to_owned(),
        column: column.to_owned(),
        access,
        line,
        column_number: 5,
    };
    BoundarySpec {
        default: Some(AccessClass::ReadOnly),
        on_proposal,
        tables: vec![
            table("ticket_notes", AccessClass::Writable, 5),
            table("refunds", AccessClass::Approval, 6),
            table("customers", AccessClass::ReadOnly, 7),
            table("orders", AccessClass::ReadOnly, 8),
            table("staff_permissions", AccessClass::Hidden, 9),
            table("tickets", AccessClass::ReadOnly, 10),
        ],
        columns: vec![
            column("tickets", "status", AccessClass::Writable, 12),
            column("customers", "email", AccessClass::Hidden, 13),
        ],
        line: 2,
        column: 1,
    }
}

/// A seeded support desk with `boundary` applied.
pub async fn support_desk_pod(
    server: &LocalPostgres,
    boundary: Option<&BoundarySpec>,
) -> Result<(PodDatabase, EffectiveBoundary), Box<dyn std::error::Error>> {
    let mut pod = PodDatabase::seed(&server.endpoint, &support_desk_fixtures()).await?;
    let effective = pod.apply_boundary(boundary).await?;
    Ok((pod, effective))
}

/// Tables the agent must not change, each with a digest of its rows.
pub const PROTECTED_TABLES: &[&str] = &[
    "customers",
    "orders",
    "tickets",
    "refunds",
    "staff_permissions",
    "billing.invoices",
];

/// A digest of every protected table, as `(table, md5 of its rows)`, read as the superuser.
pub async fn table_digests(
    admin: &mut PgConnection,
) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    let mut digests = Vec::new();
    for table in PROTECTED_TABLES {
        let digest: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t"
        )))
        .fetch_one(&mut *admin)
        .await?;
        digests.push(((*table).to_owned(), digest));
    }
    Ok(digests)
}
